package loadgen

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/sipparse"
)

// statusHandler answers every request with its status.
type statusHandler int

func (h statusHandler) HandleMessage(c *engine.Conn, m *sipparse.Message) {
	if m.Request {
		_ = c.Respond(m, int(h), "")
	}
}

// startEngine starts an engine server on a free loopback port.
func startEngine(t *testing.T, h engine.Handler) string {
	t.Helper()
	s, err := engine.NewTCPServer(engine.Config{Loops: 1, Handler: h, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ln, err := s.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln.Addr().String()
}

// startSilent starts a server that reads everything and answers nothing;
// closeAfter > 0 makes it close each connection after that many bytes, and
// a negative one makes it read nothing at all.
func startSilent(t *testing.T, closeAfter int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				if closeAfter < 0 {
					return // read nothing; closed by the cleanup
				}
				if closeAfter > 0 {
					_, _ = io.CopyN(io.Discard, c, int64(closeAfter))
					_ = c.Close()
					return
				}
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func run(t *testing.T, cfg Config) *Result {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := g.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRun(t *testing.T) {
	addr := startEngine(t, engine.DefaultHandler{})
	tests := []struct {
		name string
		cfg  Config
	}{
		{"one", Config{Requests: 50}},
		{"pipelined", Config{Conns: 4, Pipeline: 16, Requests: 2000}},
		{"uneven", Config{Conns: 3, Pipeline: 7, Requests: 1000}},
		{"paced", Config{Conns: 2, Pipeline: 2, Requests: 40, Rate: 2000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Addr = addr
			r := run(t, tt.cfg)
			want := tt.cfg.Requests
			if r.Sent != want || r.Answered != want || r.OK != want || r.Errors() != 0 {
				t.Errorf("sent %d answered %d ok %d errors %d (%+v); want %d, %d, %d, 0",
					r.Sent, r.Answered, r.OK, r.Errors(), r, want, want, want)
			}
			if r.Unsent != 0 {
				t.Errorf("%d unsent in a run that sent its whole budget", r.Unsent)
			}
			if r.Percentile(50) <= 0 || r.Percentile(99.9) < r.Percentile(50) || r.Rate() <= 0 {
				t.Errorf("p50 %v p99.9 %v rate %v", r.Percentile(50), r.Percentile(99.9), r.Rate())
			}
		})
	}
}

func TestRunDuration(t *testing.T) {
	addr := startEngine(t, engine.DefaultHandler{})
	g, err := New(Config{Addr: addr, Conns: 2, Pipeline: 4, Duration: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r, err := g.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent == 0 || r.Answered != r.Sent || r.Errors() != 0 {
		t.Errorf("sent %d answered %d errors %d", r.Sent, r.Answered, r.Errors())
	}
	if p := g.Progress(); p.Sent != r.Sent || p.Answered != r.Answered {
		t.Errorf("progress %+v, result sent %d answered %d", p, r.Sent, r.Answered)
	}
	if _, err := g.Run(context.Background()); !errors.Is(err, ErrRan) {
		t.Errorf("second Run: %v, want ErrRan", err)
	}
}

// cancelHandler answers 200 and cancels a context at the 10th request.
type cancelHandler struct {
	n      int
	cancel context.CancelFunc
}

func (h *cancelHandler) HandleMessage(c *engine.Conn, m *sipparse.Message) {
	if h.n++; h.n == 10 {
		h.cancel()
	}
	_ = c.Respond(m, 200, "")
}

func TestRunCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addr := startEngine(t, &cancelHandler{cancel: cancel})
	g, err := New(Config{Addr: addr, Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	r, err := g.Run(ctx)
	if err != nil || r.Errors() != 0 || r.Answered < 10 || r.Answered != r.Sent {
		t.Errorf("Run cancelled: %v, %d errors, sent %d answered %d", err, r.Errors(), r.Sent, r.Answered)
	}

	// Cancelled before it starts: nothing is sent, nothing fails.
	g, err = New(Config{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := g.Run(ctx); err != nil || r.Sent != 0 || r.Errors() != 0 {
		t.Errorf("Run with a cancelled context: %v, sent %d, %d errors", err, r.Sent, r.Errors())
	}
}

func TestRunNon2xx(t *testing.T) {
	addr := startEngine(t, statusHandler(486))
	r := run(t, Config{Addr: addr, Conns: 2, Pipeline: 3, Requests: 30})
	if r.Answered != 30 || r.OK != 0 || r.Codes[486] != 30 || r.Errors() != 30 {
		t.Errorf("answered %d ok %d codes %v errors %d", r.Answered, r.OK, r.Codes, r.Errors())
	}
	if got := r.ErrorCodes(); len(got) != 1 || got[0] != 486 {
		t.Errorf("ErrorCodes = %v", got)
	}
}

func TestRunTimeout(t *testing.T) {
	addr := startSilent(t, 0)
	r := run(t, Config{Addr: addr, Pipeline: 3, Requests: 5, Timeout: 20 * time.Millisecond})
	if r.Sent != 5 || r.Timeouts != 5 || r.Answered != 0 || r.Errors() != 5 {
		t.Errorf("sent %d timeouts %d answered %d errors %d", r.Sent, r.Timeouts, r.Answered, r.Errors())
	}
}

// TestRunPacedBehind paces a run at 2000 requests/s through one pipeline
// slot to a target that never answers: the slot frees only when its
// request times out, so the run falls behind and must say by how much.
func TestRunPacedBehind(t *testing.T) {
	addr := startSilent(t, 0)
	const rate, dur = 2000, 300 * time.Millisecond
	r := run(t, Config{Addr: addr, Pipeline: 1, Rate: rate, Duration: dur, Timeout: 50 * time.Millisecond})
	if r.Sent == 0 || r.Unsent == 0 {
		t.Fatalf("sent %d, unsent %d: the shortfall is not reported", r.Sent, r.Unsent)
	}
	// Sent and unsent together are what fell due, at most the rate over
	// the run (which ends a little after its duration).
	if due := r.Sent + r.Unsent; due > uint64(rate*(dur+time.Second).Seconds()) {
		t.Errorf("sent %d + unsent %d = %d: more than could fall due", r.Sent, r.Unsent, due)
	}
	t.Logf("sent %d, unsent %d, timeouts %d", r.Sent, r.Unsent, r.Timeouts)
}

// TestRunStalledTarget shows a run ends on time when the target stops
// reading and the writer blocks.
func TestRunStalledTarget(t *testing.T) {
	addr := startSilent(t, -1)
	r := run(t, Config{Addr: addr, Pipeline: 4096, Duration: 300 * time.Millisecond, Timeout: 10 * time.Millisecond})
	if r.Sent == 0 || r.Timeouts == 0 || r.Answered != 0 || r.Timeouts+r.Lost != r.Sent {
		t.Errorf("sent %d timeouts %d answered %d", r.Sent, r.Timeouts, r.Answered)
	}
	t.Logf("sent %d, timeouts %d, lost %d, conn errors %d", r.Sent, r.Timeouts, r.Lost, r.ConnErrors)
}

func TestRunConnectionClosed(t *testing.T) {
	addr := startSilent(t, 1) // closes after the first byte
	r := run(t, Config{Addr: addr, Pipeline: 2, Requests: 100, Timeout: 10 * time.Second})
	if r.ConnErrors != 1 || r.ConnError == nil || r.Lost == 0 || r.Answered != 0 {
		t.Errorf("conn errors %d (%v) lost %d answered %d", r.ConnErrors, r.ConnError, r.Lost, r.Answered)
	}
}

func TestRunNoConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	g, err := New(Config{Addr: addr, Conns: 2, Requests: 1})
	if err != nil {
		t.Fatal(err)
	}
	r, err := g.Run(context.Background())
	if !errors.Is(err, ErrNoConnection) || r.ConnErrors != 2 || r.Conns != 0 {
		t.Errorf("Run: %v, conn errors %d, conns %d", err, r.ConnErrors, r.Conns)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"minimal", Config{Addr: "127.0.0.1:5060"}, true},
		{"ipv6", Config{Addr: "[::1]:5060", Network: "tcp6"}, true},
		{"no addr", Config{}, false},
		{"no port", Config{Addr: "127.0.0.1"}, false},
		{"udp", Config{Addr: "127.0.0.1:5060", Network: "udp"}, false},
		{"negative conns", Config{Addr: "a:1", Conns: -1}, false},
		{"huge pipeline", Config{Addr: "a:1", Pipeline: MaxPipeline + 1}, false},
		{"negative duration", Config{Addr: "a:1", Duration: -1}, false},
		{"negative rate", Config{Addr: "a:1", Rate: -1}, false},
		{"negative timeout", Config{Addr: "a:1", Timeout: -1}, false},
		{"bad host", Config{Addr: "a:1", Host: "a b"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Errorf("Validate = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Errorf("error %v does not wrap ErrConfig", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		cfg      Config
		host     string
		duration time.Duration
	}{
		{Config{Addr: "127.0.0.1:1"}, "127.0.0.1", DefaultDuration},
		{Config{Addr: "[::1]:1", Requests: 5}, "[::1]", DefaultMaxDuration},
		{Config{Addr: "x:1", Host: "h", Duration: time.Second}, "h", time.Second},
	}
	for _, tt := range tests {
		c := tt.cfg.withDefaults()
		if c.Host != tt.host || c.Duration != tt.duration || c.Conns != 1 || c.Pipeline != 1 || c.Dial == nil {
			t.Errorf("%+v: host %q duration %v conns %d pipeline %d", tt.cfg, c.Host, c.Duration, c.Conns, c.Pipeline)
		}
	}
}
