package bench

// Helpers of the hostile-client tests (hostile_*_test.go): an in-process
// server configured as sipcm serve configures its engine, and a plain
// net.Conn SIP client. The long forms of these tests are bench/soak.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/internal/wheel"
	"github.com/sipcm/sipcm/sipparse"
)

// hostileWait bounds every wait and blocking socket operation of the
// hostile tests, so that a broken server fails a test instead of hanging
// it. It is a safety net, not a timing assertion.
const hostileWait = 10 * time.Second

// hostileServer is an in-process sipcm serve: an engine.TCPServer with the
// engine configuration and the message handling of cmd/sipcm's serve, on
// 127.0.0.1:0.
type hostileServer struct {
	*engine.TCPServer
	addr  string
	clock *wheel.FakeClock // the timeouts' clock; nil when real
}

// serveLikeHandler handles messages as sipcm serve does (cmd/sipcm
// handler.go): out-of-dialog OPTIONS get 200, everything else goes through
// the manager's dispatcher.
type serveLikeHandler struct{ d *dispatch.Dispatcher }

// HandleMessage implements engine.Handler. Loop only.
func (h *serveLikeHandler) HandleMessage(c *engine.Conn, m *sipparse.Message) {
	if m.Request && m.Method == sipparse.MethodOptions && m.To.Tag.Empty() {
		_ = c.Respond(m, 200, "")
		return
	}
	h.d.HandleMessage(c, m)
}

// startHostile starts a server with the fields of cfg that sipcm serve's
// flags set (FirstMessageTimeout, IdleTimeoutIn/Out, MaxConns,
// MaxConnsPerIP, Loops) and, with fake, a fake clock for the timeouts.
// The other fields are serve's: its defaults.
func startHostile(t testing.TB, cfg engine.Config, fake bool) *hostileServer {
	t.Helper()
	h := &serveLikeHandler{}
	ecfg := engine.Config{
		Logger:              benchLogger(),
		Handler:             h,
		Loops:               cfg.Loops,
		FirstMessageTimeout: cfg.FirstMessageTimeout,
		IdleTimeoutIn:       cfg.IdleTimeoutIn,
		IdleTimeoutOut:      cfg.IdleTimeoutOut,
		MaxConns:            cfg.MaxConns,
		MaxConnsPerIP:       cfg.MaxConnsPerIP,
	}
	s := &hostileServer{}
	if fake {
		s.clock = new(wheel.FakeClock)
		ecfg.Clock = s.clock
	}
	srv, err := engine.NewTCPServer(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	h.d = srv.Dispatcher()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	ln, err := srv.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.TCPServer, s.addr = srv, ln.Addr().String()
	return s
}

// waitFor polls cond until it holds, failing the test after hostileWait.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if err := poll(cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

var errPollTimeout = errors.New("bench: condition not met in time")

// poll checks cond every millisecond until it holds or hostileWait passes.
func poll(cond func() bool) error {
	deadline := time.Now().Add(hostileWait)
	tk := time.NewTicker(time.Millisecond)
	defer tk.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return errPollTimeout
		}
		<-tk.C
	}
	return nil
}

// connInfo returns the server's snapshot of the connection whose remote
// address is the local address of nc.
func (s *hostileServer) connInfo(nc net.Conn) (engine.ConnInfo, bool) {
	local := nc.LocalAddr().(*net.TCPAddr).AddrPort()
	for _, ci := range s.Conns(nil) {
		if ci.Remote == local {
			return ci, true
		}
	}
	return engine.ConnInfo{}, false
}

// seen advances the fake clock by step, runs write (which writes on nc)
// and waits until the server has handled traffic of nc at the new time:
// then the bytes written are read, and the connection was open when they
// were. Only with a fake clock.
func (s *hostileServer) seen(t testing.TB, nc net.Conn, step time.Duration, write func() error) {
	t.Helper()
	s.clock.Add(step)
	if err := write(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the server to read", func() bool {
		ci, ok := s.connInfo(nc)
		return ok && ci.Idle == 0
	})
}

// hostileOptions is an out-of-dialog OPTIONS request, unique by tag and
// seq.
func hostileOptions(tag string, seq int) string {
	return optionsWith(tag, seq, "Content-Length: 0\r\n", "")
}

// optionsWith is an OPTIONS request with extra header lines (each ending
// in CRLF, Content-Length included when wanted) and a body.
func optionsWith(tag string, seq int, extra, body string) string {
	return "OPTIONS sip:hostile@127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-" + tag + "-" + strconv.Itoa(seq) + ";rport\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:hostile@127.0.0.1>;tag=h\r\n" +
		"To: <sip:hostile@127.0.0.1>\r\n" +
		"Call-ID: " + tag + "-" + strconv.Itoa(seq) + "@bench\r\n" +
		"CSeq: " + strconv.Itoa(seq) + " OPTIONS\r\n" +
		extra + "\r\n" + body
}

// sipClient is a plain SIP client over one TCP connection.
type sipClient struct {
	nc net.Conn
	r  *bufio.Reader
}

// dialSIP connects to addr, from src when it is valid; the connection is
// closed when the test ends.
func dialSIP(t testing.TB, addr string, src netip.Addr) *sipClient {
	t.Helper()
	c, err := dialSIPErr(addr, src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.nc.Close() })
	return c
}

func dialSIPErr(addr string, src netip.Addr) (*sipClient, error) {
	d := net.Dialer{Timeout: hostileWait, KeepAlive: -1}
	if src.IsValid() {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))
	}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(hostileWait))
	return &sipClient{nc: nc, r: bufio.NewReader(nc)}, nil
}

func (c *sipClient) send(s string) error {
	_, err := io.WriteString(c.nc, s)
	return err
}

// read reads one message framed by its Content-Length, skipping CRLF
// keep-alive answers before it, and returns it with its status code (0 for
// a request).
func (c *sipClient) read() (int, string, error) {
	var b strings.Builder
	clen := 0
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return 0, b.String(), err
		}
		if line == "\r\n" {
			if b.Len() == 0 {
				continue
			}
			b.WriteString(line)
			break
		}
		b.WriteString(line)
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "Content-Length") {
			clen, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	body := make([]byte, clen)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return 0, b.String(), err
	}
	b.Write(body)
	msg := b.String()
	status := 0
	if f := strings.Fields(msg); len(f) > 1 && f[0] == "SIP/2.0" {
		status, _ = strconv.Atoi(f[1])
	}
	return status, msg, nil
}

// roundTrip sends an OPTIONS and reads its answer, which must be want.
func (c *sipClient) roundTrip(tag string, seq, want int) error {
	if err := c.send(hostileOptions(tag, seq)); err != nil {
		return err
	}
	status, msg, err := c.read()
	if err != nil {
		return err
	}
	if status != want {
		return fmt.Errorf("answer %d, want %d: %q", status, want, msg)
	}
	return nil
}

// mustAnswer is roundTrip failing the test.
func (c *sipClient) mustAnswer(t testing.TB, tag string, seq, want int) {
	t.Helper()
	if err := c.roundTrip(tag, seq, want); err != nil {
		t.Fatal(err)
	}
}

// closedErr waits for the server to close the connection, discarding what
// it sends, and returns an error if it does not within the deadline.
func (c *sipClient) closedErr() error {
	buf := make([]byte, 4096)
	for {
		_, err := c.r.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return errors.New("connection not closed by the server")
		}
		return nil // EOF or reset
	}
}

// expectClosed is closedErr failing the test.
func (c *sipClient) expectClosed(t testing.TB) {
	t.Helper()
	if err := c.closedErr(); err != nil {
		t.Fatal(err)
	}
}

// heapInuse collects garbage and returns the bytes in in-use heap spans.
func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// pinger sends OPTIONS on one connection, one at a time, until stopped,
// counting the answers: the client that must keep being served while the
// hostile ones do their worst.
type pinger struct {
	c    *sipClient
	stop chan struct{}
	done chan struct{}

	answered atomic.Int64 // read while it runs

	// Read after finish.
	sent       int
	maxLatency time.Duration
	err        error
}

func startPinger(c *sipClient) *pinger {
	p := &pinger{c: c, stop: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	return p
}

func (p *pinger) run() {
	defer close(p.done)
	for seq := 1; ; seq++ {
		select {
		case <-p.stop:
			return
		default:
		}
		_ = p.c.nc.SetDeadline(time.Now().Add(hostileWait))
		start := time.Now()
		p.sent++
		if p.err = p.c.roundTrip("ping", seq, 200); p.err != nil {
			return
		}
		p.maxLatency = max(p.maxLatency, time.Since(start))
		p.answered.Add(1)
	}
}

// finish stops the pinger and fails the test if a request failed.
func (p *pinger) finish(t testing.TB) {
	t.Helper()
	close(p.stop)
	<-p.done
	if n := int(p.answered.Load()); p.err != nil || p.sent != n {
		t.Fatalf("served client: %d sent, %d answered: %v", p.sent, n, p.err)
	}
}
