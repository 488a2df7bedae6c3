package dispatch

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sipcm/sipcm/internal/wheel"
	"github.com/sipcm/sipcm/sipparse"
)

// fakeConn is a Conn that records what is written to it. Send calls done
// at once (or keeps it for later when holdDone is set); Execute runs f at
// once.
type fakeConn struct {
	id     uint64
	local  netip.AddrPort
	closed atomic.Bool

	sendErr  error // returned by Send
	doneErr  error // passed to done
	holdDone bool  // keep done in held instead of calling it
	execErr  error // returned by Execute (f is not run)

	nResp      atomic.Int64
	lastStatus atomic.Int64

	mu    sync.Mutex
	resp  []byte   // last response, reused
	sent  [][]byte // copies of what Send sent
	held  []func(error)
	execs int
}

func newConn(id uint64) *fakeConn {
	return &fakeConn{id: id, local: netip.MustParseAddrPort("127.0.0.1:5060")}
}

func (c *fakeConn) ID() uint64                { return c.id }
func (c *fakeConn) LocalAddr() netip.AddrPort { return c.local }
func (c *fakeConn) Closed() bool              { return c.closed.Load() }

func (c *fakeConn) Respond(m *sipparse.Message, status int, reason string) error {
	c.mu.Lock()
	c.resp = sipparse.AppendResponse(c.resp[:0], m, status, "Reason", []byte("totag"))
	c.mu.Unlock()
	c.lastStatus.Store(int64(status))
	c.nResp.Add(1)
	return nil
}

func (c *fakeConn) Write(b []byte) error { return nil }

func (c *fakeConn) Send(b []byte, done func(error)) error {
	if c.sendErr != nil {
		return c.sendErr
	}
	c.mu.Lock()
	c.sent = append(c.sent, append([]byte(nil), b...))
	if c.holdDone {
		c.held = append(c.held, done)
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	if done != nil {
		done(c.doneErr)
	}
	return nil
}

func (c *fakeConn) Execute(f func()) error {
	if c.execErr != nil {
		return c.execErr
	}
	c.mu.Lock()
	c.execs++
	c.mu.Unlock()
	f()
	return nil
}

// sentCount returns how many messages were sent.
func (c *fakeConn) sentCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sent)
}

// lastSent returns the last message sent.
func (c *fakeConn) lastSent(t *testing.T) []byte {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.sent) == 0 {
		t.Fatal("nothing sent")
	}
	return c.sent[len(c.sent)-1]
}

// status returns the number of responses and the last status.
func (c *fakeConn) status() (int, int) {
	return int(c.nResp.Load()), int(c.lastStatus.Load())
}

// fakeTransport gives one connection per host and records the endpoints
// it was asked for and released.
type fakeTransport struct {
	mu       sync.Mutex
	conns    map[string]*fakeConn
	err      error
	asked    map[*Endpoint]int
	released []*Endpoint
}

func (tr *fakeTransport) Conn(e *Endpoint, dst Dest) (Conn, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.asked == nil {
		tr.asked = make(map[*Endpoint]int)
	}
	tr.asked[e]++
	if tr.err != nil {
		return nil, tr.err
	}
	c := tr.conns[dst.Host]
	if c == nil {
		return nil, errors.New("fake: no route")
	}
	return c, nil
}

func (tr *fakeTransport) Release(e *Endpoint) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.released = append(tr.released, e)
}

// request builds a request; extra header lines end with CRLF.
func request(method, ruri, toTag, extra string) []byte {
	to := "To: <sip:bob@example.com>"
	if toTag != "" {
		to += ";tag=" + toTag
	}
	return []byte(method + " " + ruri + " SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKabc\r\n" +
		"From: <sip:carol@example.org>;tag=ftag\r\n" +
		to + "\r\n" +
		"Call-ID: call-1@192.0.2.1\r\n" +
		"CSeq: 1 " + method + "\r\n" +
		"Max-Forwards: 70\r\n" +
		extra +
		"Content-Length: 0\r\n\r\n")
}

// outRequest is a request for Send (no Via).
func outRequest(method string) []byte {
	return []byte(method + " sip:bob@example.com SIP/2.0\r\n" +
		"From: <sip:alice@example.com>;tag=a1\r\n" +
		"To: <sip:bob@example.com>\r\n" +
		"Call-ID: out-1\r\n" +
		"CSeq: 1 " + method + "\r\n" +
		"Max-Forwards: 70\r\n" +
		"Content-Length: 0\r\n\r\n")
}

func parse(t testing.TB, b []byte) *sipparse.Message {
	t.Helper()
	m := new(sipparse.Message)
	if err := m.Parse(b); err != nil {
		t.Fatalf("parse %q: %v", b, err)
	}
	return m
}

// responseTo builds the response a peer sends to a request we sent.
func responseTo(t testing.TB, sent []byte, status int) *sipparse.Message {
	t.Helper()
	req := parse(t, sent)
	return parse(t, sipparse.AppendResponse(nil, req, status, "X", []byte("peer")))
}

// recorder collects what a ResponseFunc gets.
type recorder struct {
	mu       sync.Mutex
	statuses []int
	errs     []error
}

func (r *recorder) fn(c Conn, m *sipparse.Message, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m != nil {
		r.statuses = append(r.statuses, m.StatusCode)
	} else {
		r.errs = append(r.errs, err)
	}
}

func (r *recorder) get() ([]int, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.statuses...), append([]error(nil), r.errs...)
}

// testEnv is a dispatcher with a fake clock and transport.
type testEnv struct {
	d     *Dispatcher
	clock *wheel.FakeClock
	tr    *fakeTransport
	conn  *fakeConn // the connection to host "peer"
}

func newEnv(t testing.TB, cfg Config) *testEnv {
	t.Helper()
	env := &testEnv{clock: new(wheel.FakeClock), conn: newConn(1)}
	env.tr = &fakeTransport{conns: map[string]*fakeConn{"peer": env.conn}}
	cfg.Clock = env.clock
	cfg.Transport = env.tr
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	env.d = d
	return env
}

// taker is an endpoint handler that counts requests and returns status.
type taker struct {
	n      atomic.Int64
	status int
}

func (h *taker) HandleRequest(c Conn, m *sipparse.Message) int {
	h.n.Add(1)
	return h.status
}

func mustEndpoint(t testing.TB, cfg EndpointConfig) *Endpoint {
	t.Helper()
	if cfg.Handler == nil {
		cfg.Handler = new(taker)
	}
	e, err := NewEndpoint(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func topBranch(t testing.TB, b []byte) string {
	t.Helper()
	m := parse(t, b)
	return string(m.Bytes(m.Vias[0].Branch))
}

func hasPrefix(b []byte, p string) bool { return strings.HasPrefix(string(b), p) }
