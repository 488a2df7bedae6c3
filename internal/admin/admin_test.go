package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sipcm/sipcm/engine"
)

type fakeEngine struct {
	stats engine.Stats
	conns []engine.ConnInfo
}

func (f *fakeEngine) Conns(dst []engine.ConnInfo) []engine.ConnInfo { return append(dst, f.conns...) }
func (f *fakeEngine) Stats() engine.Stats                           { return f.stats }

type fakeHooks struct{}

func (fakeHooks) ResponseCounts() map[int]uint64 { return map[int]uint64{500: 3, 200: 7} }
func (fakeHooks) TLSRefusals() map[string]uint64 {
	return map[string]uint64{"untrusted CA": 2, `we"ird\`: 1}
}
func (fakeHooks) Pools() []Pool {
	return []Pool{{Name: "tcp:127.0.0.1:5070", Size: 2, Conns: []PoolConn{
		{ID: 4, State: "active", Age: time.Second},
		{ID: 5, State: "active"},
		{State: "dialing"},
	}}}
}

func newTestServer(t *testing.T, hooks bool) *Server {
	t.Helper()
	e1 := &fakeEngine{
		stats: engine.Stats{ConnsIn: 2, Accepted: 10, Refused: 1, RefusedPerIP: 2, MessagesIn: 100, MessagesOut: 99,
			BytesIn: 5000, BytesOut: 4000, IdleTimeouts: 3, FirstMessageTimeouts: 4, Backpressure: 5},
		conns: []engine.ConnInfo{{
			ID: 1, Direction: engine.Incoming, Transport: engine.TCP,
			Local:  netip.MustParseAddrPort("127.0.0.1:5060"),
			Remote: netip.MustParseAddrPort("127.0.0.1:40000"),
			Age:    2 * time.Second, MessagesIn: 7,
		}},
	}
	e2 := &fakeEngine{stats: engine.Stats{ConnsIn: 1, Accepted: 5, MessagesIn: 1}}
	cfg := Config{Addr: "127.0.0.1:0", Engines: []Engine{e1, e2}}
	if hooks {
		cfg.Responses, cfg.TLS, cfg.Pools = fakeHooks{}, fakeHooks{}, fakeHooks{}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, h http.Handler, path string) (int, string, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code, rec.Header().Get("Content-Type"), rec.Body.String()
}

func TestEndpoints(t *testing.T) {
	s := newTestServer(t, true)
	tests := []struct {
		path, ctype string
		code        int
		contains    []string
	}{
		{"/healthz", "text/plain", 200, []string{"ok"}},
		{"/", "text/plain", 200, []string{"/metrics"}},
		{"/nope", "text/plain", 404, nil},
		{"/connections", "application/json", 200, []string{`"remote": "127.0.0.1:40000"`, `"direction": "in"`, `"transport": "TCP"`, `"age_seconds": 2`}},
		{"/pools", "application/json", 200, []string{`"name": "tcp:127.0.0.1:5070"`, `"state": "dialing"`}},
		{"/metrics", "text/plain; version=0.0.4", 200, []string{
			`sipcm_connections_open{direction="in"} 3`,
			`sipcm_connections_accepted_total 15`,
			`sipcm_connections_refused_total{reason="max_conns"} 1`,
			`sipcm_connections_refused_total{reason="max_conns_per_ip"} 2`,
			`sipcm_messages_total{direction="in"} 101`,
			`sipcm_bytes_total{direction="out"} 4000`,
			`sipcm_auto_responses_total{code="200"} 7`,
			`sipcm_auto_responses_total{code="500"} 3`,
			`sipcm_timeouts_total{kind="idle"} 3`,
			`sipcm_timeouts_total{kind="first_message"} 4`,
			`sipcm_backpressure_total 5`,
			`sipcm_tls_refusals_total{reason="untrusted CA"} 2`,
			`sipcm_tls_refusals_total{reason="we\"ird\\"} 1`,
			`sipcm_pool_size{pool="tcp:127.0.0.1:5070"} 2`,
			`sipcm_pool_connections{pool="tcp:127.0.0.1:5070",state="active"} 2`,
			`sipcm_pool_connections{pool="tcp:127.0.0.1:5070",state="dialing"} 1`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, ctype, body := get(t, s.Handler(), tt.path)
			if code != tt.code || !strings.HasPrefix(ctype, tt.ctype) {
				t.Fatalf("GET %s: %d %q, want %d %q", tt.path, code, ctype, tt.code, tt.ctype)
			}
			for _, want := range tt.contains {
				if !strings.Contains(body, want) {
					t.Errorf("GET %s: no %q in\n%s", tt.path, want, body)
				}
			}
		})
	}
}

// sampleLine is a sample line of the text format: a name, optional labels,
// a value.
var sampleLine = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? (-?[0-9.]+(e[+-]?[0-9]+)?|[+-]Inf|NaN)$`)

// TestMetricsFormat checks every line of /metrics against the text format:
// HELP and TYPE before the samples of each family, every family once.
func TestMetricsFormat(t *testing.T) {
	for _, hooks := range []bool{false, true} {
		s := newTestServer(t, hooks)
		_, _, body := get(t, s.Handler(), "/metrics")
		if !strings.HasSuffix(body, "\n") {
			t.Error("no final newline")
		}
		typed := map[string]bool{}
		for _, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
			switch {
			case strings.HasPrefix(line, "# HELP "):
			case strings.HasPrefix(line, "# TYPE "):
				f := strings.Fields(line)
				if len(f) != 4 || typed[f[2]] {
					t.Errorf("bad or repeated TYPE line %q", line)
				}
				typed[f[2]] = true
			default:
				if !sampleLine.MatchString(line) {
					t.Errorf("bad sample line %q", line)
				}
				name, _, _ := strings.Cut(line, "{")
				name, _, _ = strings.Cut(name, " ")
				if !typed[name] {
					t.Errorf("sample %q before its TYPE", line)
				}
			}
		}
	}
}

func TestPoolsEmpty(t *testing.T) {
	s := newTestServer(t, false)
	_, _, body := get(t, s.Handler(), "/pools")
	var v []any
	if err := json.Unmarshal([]byte(body), &v); err != nil || v == nil || len(v) != 0 {
		t.Errorf("/pools without a source = %q (%v), want []", body, err)
	}
}

func TestStartClose(t *testing.T) {
	s := newTestServer(t, false)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); !errors.Is(err, ErrStarted) {
		t.Errorf("second Start: %v, want ErrStarted", err)
	}
	addr := s.Addr()
	if addr.Port() == 0 {
		t.Fatalf("Addr %v has no port", addr)
	}
	resp, err := http.Get("http://" + addr.String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok\n" {
		t.Errorf("healthz: %d %q", resp.StatusCode, b)
	}
	http.DefaultClient.CloseIdleConnections()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after Shutdown: %v", err)
	}
	if err := s.Start(); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close: %v, want ErrClosed", err)
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0"}, {5867184, "5867184"}, {-3, "-3"}, {1.5, "1.5"}, {1 << 60, "1.152921504606847e+18"},
		{math.Inf(1), "+Inf"}, {math.Inf(-1), "-Inf"}, {math.NaN(), "NaN"},
	}
	for _, tt := range tests {
		if got := formatValue(tt.v); got != tt.want {
			t.Errorf("formatValue(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"addr", Config{Addr: "[::1]:0"}, true},
		{"bad addr", Config{Addr: "nope"}, false},
		{"nil engine", Config{Engines: []Engine{nil}}, false},
		{"negative timeout", Config{ReadHeaderTimeout: -1}, false},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrConfig)) {
			t.Errorf("%s: Validate = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}
