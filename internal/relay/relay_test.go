package relay_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/internal/relay"
	"github.com/sipcm/sipcm/internal/relay/relaytest"
	"github.com/sipcm/sipcm/pool"
	"github.com/sipcm/sipcm/sipparse"
)

// testTimeout bounds every wait of these tests: a safety net, not a timing
// assertion.
const testTimeout = 20 * time.Second

// relayed is a relay in front of an upstream, listening on loopback.
type relayed struct {
	r    *relay.Relay
	srv  *engine.TCPServer
	addr string
}

// startRelay starts a relay to upstream (host:port) with cfg; tune
// changes the engine config.
func startRelay(t *testing.T, upstream string, cfg relay.Config, tune func(*engine.Config)) *relayed {
	t.Helper()
	return startRelayWith(t, upstream, cfg, tune, nil)
}

// startRelayWith is startRelay with setup called on the relay before its
// server starts.
func startRelayWith(t *testing.T, upstream string, cfg relay.Config, tune func(*engine.Config), setup func(*relay.Relay)) *relayed {
	t.Helper()
	up, err := relay.ParseUpstream("tcp://" + upstream)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Upstream = up
	if cfg.Logger == nil {
		cfg.Logger = testLogger()
	}
	r, err := relay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(r)
	}
	ec := engine.Config{Handler: r, Loops: 2, Logger: testLogger()}
	if tune != nil {
		tune(&ec)
	}
	srv, err := engine.NewTCPServer(ec)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Attach(&srv.Manager); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Close()
		_ = r.Close()
	})
	ln, err := srv.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &relayed{r: r, srv: srv, addr: ln.Addr().String()}
}

func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func startUpstream(t *testing.T, mode relaytest.Mode) *relaytest.Upstream {
	t.Helper()
	u, err := relaytest.Start(mode)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Close)
	return u
}

func dial(t *testing.T, addr string) *relaytest.Client {
	return relaytest.MustDial(t, addr, testTimeout)
}

// roundTrip sends req on c and returns the final response and its status,
// skipping provisional ones.
func roundTrip(t *testing.T, c *relaytest.Client, req []byte) ([]byte, int) {
	t.Helper()
	return relaytest.RoundTrip(t, c, req)
}

// waitFor polls cond until it holds, failing the test at the deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	relaytest.WaitFor(t, testTimeout, what, cond)
}

// expected returns what the upstream should read for req sent by a
// client at src: req forwarded (AppendRequest) with ourVia inserted after
// the request line.
func expected(t *testing.T, req []byte, src hostPort, ourVia []byte) []byte {
	t.Helper()
	var m sipparse.Message
	if err := m.Parse(req); err != nil {
		t.Fatal(err)
	}
	fwd := relay.AppendRequest(nil, &m, []byte(src.host), src.port)
	eol := bytes.Index(fwd, []byte("\r\n")) + 2
	return append(append(append([]byte(nil), fwd[:eol]...), ourVia...), fwd[eol:]...)
}

type hostPort struct {
	host string
	port int
}

func localOf(t *testing.T, c net.Conn) hostPort {
	t.Helper()
	host, port, err := net.SplitHostPort(c.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return hostPort{host, p}
}

// topViaLine returns the first Via line of msg, CRLF included.
func topViaLine(t *testing.T, msg []byte) []byte {
	t.Helper()
	i := bytes.Index(msg, []byte("\r\nVia: "))
	if i < 0 {
		t.Fatalf("no Via in %q", msg)
	}
	j := bytes.Index(msg[i+2:], []byte("\r\n"))
	return msg[i+2 : i+2+j+2]
}

// TestForward: requests reach the upstream with the relay's Via on top,
// Max-Forwards decremented (69 when absent) and received/rport in the
// client's Via, every other byte unchanged; responses come back without
// the relay's Via, byte for byte as the upstream sent them otherwise.
func TestForward(t *testing.T) {
	u := startUpstream(t, relaytest.Answer)
	rl := startRelay(t, u.Addr(), relay.Config{PoolSize: 2}, nil)
	c := dial(t, rl.addr)
	src := localOf(t, c)
	reqs := [][]byte{
		relaytest.Request("OPTIONS", "o1", 1, 70, ""),
		relaytest.Request("MESSAGE", "m1", 2, -1, "hello there"),
		relaytest.Request("INVITE", "i1", 3, 5, "v=0\r\n"),
	}
	for i, req := range reqs {
		resp, status := roundTrip(t, c, req)
		if status != 200 {
			t.Fatalf("request %d: status %d", i, status)
		}
		got := u.Requests()
		if len(got) != i+1 {
			t.Fatalf("upstream read %d requests, want %d", len(got), i+1)
		}
		up := got[i]
		ourVia := topViaLine(t, up)
		if !bytes.HasPrefix(ourVia, []byte("Via: SIP/2.0/TCP 127.0.0.1:")) || !bytes.Contains(ourVia, []byte(";branch=z9hG4bK")) {
			t.Errorf("request %d: top Via %q is not the relay's", i, ourVia)
		}
		if want := expected(t, req, src, ourVia); !bytes.Equal(up, want) {
			t.Errorf("request %d: upstream read\n%q\nwant\n%q", i, up, want)
		}
		// The upstream answered AppendOK(up): the client gets it without
		// the relay's Via line.
		var m sipparse.Message
		if err := m.Parse(up); err != nil {
			t.Fatal(err)
		}
		ok := relaytest.AppendOK(nil, &m)
		if want := bytes.Replace(ok, ourVia, nil, 1); !bytes.Equal(resp, want) {
			t.Errorf("request %d: client got\n%q\nwant\n%q", i, resp, want)
		}
	}
	// Unique branches.
	seen := map[string]bool{}
	for _, up := range u.Requests() {
		v := string(topViaLine(t, up))
		if seen[v] {
			t.Errorf("branch reused: %s", v)
		}
		seen[v] = true
	}
	if !bytes.Contains(u.Requests()[1], []byte("\r\nMax-Forwards: 69\r\n\r\nhello there")) {
		t.Errorf("no Max-Forwards 69 added: %q", u.Requests()[1])
	}
	// Relayed is counted once the write to the client returned, which
	// may be just after the client read it.
	waitFor(t, "the responses to be counted", func() bool { return rl.r.Stats().Relayed == 4 })
	if st := rl.r.Stats(); st.Forwarded != 3 || st.Dropped != 0 || st.Unavailable != 0 || st.Pending != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestMaxForwardsZero: a request with Max-Forwards 0, OPTIONS included, is
// answered 483 and not forwarded; the ACK of the 483 is absorbed; an ACK
// of the upstream's response is forwarded statelessly.
func TestMaxForwardsZero(t *testing.T) {
	u := startUpstream(t, relaytest.Answer)
	rl := startRelay(t, u.Addr(), relay.Config{}, nil)
	c := dial(t, rl.addr)
	for i, method := range []string{"OPTIONS", "MESSAGE", "INVITE"} {
		resp, status := roundTrip(t, c, relaytest.Request(method, "z"+method, i+1, 0, ""))
		if status != 483 {
			t.Fatalf("%s: status %d, want 483", method, status)
		}
		if method == "INVITE" {
			var m sipparse.Message
			if err := m.Parse(resp); err != nil {
				t.Fatal(err)
			}
			ack := ackFor(t, &m, "zINVITE")
			if _, err := c.Write(ack); err != nil {
				t.Fatal(err)
			}
		}
	}
	// An INVITE that passes, and the ACK of its 200: forwarded (a new
	// transaction for a 2xx; no correlation entry).
	resp, status := roundTrip(t, c, relaytest.Request("INVITE", "ok1", 9, 70, ""))
	if status != 200 {
		t.Fatalf("INVITE: %d", status)
	}
	var m sipparse.Message
	if err := m.Parse(resp); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(ackFor(t, &m, "ack2")); err != nil {
		t.Fatal(err)
	}
	// A last round trip on the same connection: the ACKs before it were
	// handled by then.
	if _, status := roundTrip(t, c, relaytest.Request("OPTIONS", "last", 10, 70, "")); status != 200 {
		t.Fatalf("OPTIONS: %d", status)
	}
	// Forwarded is counted once the send is queued, which may be just
	// after the response came back.
	waitFor(t, "the requests to be counted", func() bool { return rl.r.Stats().Forwarded == 2 })
	st := rl.r.Stats()
	if st.TooManyHops != 3 || st.Absorbed != 1 || st.ForwardedACK != 1 {
		t.Errorf("stats %+v", st)
	}
	waitFor(t, "the upstream to read the ACK", func() bool { return u.Methods()["ACK"] == 1 })
	if got := u.Methods(); got["OPTIONS"] != 1 || got["MESSAGE"] != 0 || got["INVITE"] != 1 {
		t.Errorf("upstream read %v", got)
	}
	if n := rl.r.Dispatcher().Stats().Outstanding; n != 0 {
		t.Errorf("%d requests outstanding", n)
	}
}

// ackFor returns the ACK of the final response m to an INVITE.
func ackFor(t *testing.T, m *sipparse.Message, branch string) []byte {
	t.Helper()
	to := m.Bytes(m.To.Raw)
	return fmt.Appendf(nil, "ACK sip:alice@example.com SIP/2.0\r\n"+
		"Via: SIP/2.0/TCP 192.0.2.7:5099;branch=z9hG4bK%s\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\n"+
		"CSeq: %d ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		branch, m.Bytes(m.From.Raw), to, m.Bytes(m.CallID), m.CSeq.Num)
}

// load sends n requests on each of clients connections, one at a time,
// and returns the statuses of the final responses. Each connection must
// get one final response per request.
func load(t *testing.T, addr string, clients, n int, method string) map[int]int {
	t.Helper()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := relaytest.Dial(addr, time.Now().Add(testTimeout))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for j := range n {
				req := relaytest.Request(method, fmt.Sprintf("c%dr%d", i, j), j+1, 70, "")
				if _, err := c.Write(req); err != nil {
					errs <- err
					return
				}
				for {
					_, status, err := c.Response()
					if err != nil {
						errs <- fmt.Errorf("client %d request %d: %w", i, j, err)
						return
					}
					if status >= 200 {
						mu.Lock()
						statuses[status]++
						mu.Unlock()
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := 0
	for _, k := range statuses {
		total += k
	}
	if total != clients*n {
		t.Fatalf("%d responses for %d requests", total, clients*n)
	}
	return statuses
}

// TestPoolSize: 50 clients share exactly PoolSize connections to the
// upstream.
func TestPoolSize(t *testing.T) {
	for _, size := range []int{3, 5} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			u := startUpstream(t, relaytest.Answer)
			rl := startRelay(t, u.Addr(), relay.Config{PoolSize: size}, nil)
			st := load(t, rl.addr, 50, 10, "OPTIONS")
			if st[200] != 500 {
				t.Errorf("statuses %v", st)
			}
			if n := u.Accepted(); n != int64(size) {
				t.Errorf("upstream accepted %d connections, want %d", n, size)
			}
			active := 0
			for _, p := range rl.srv.Pools() {
				if p.Key != rl.r.PoolKey() {
					t.Errorf("unexpected pool %v", p.Key)
				}
				for _, c := range p.Conns {
					if c.State == pool.StateActive {
						active++
					}
				}
			}
			if active != size {
				t.Errorf("%d active pool connections, want %d", active, size)
			}
		})
	}
}

// TestUpstreamDown: with nothing listening upstream, every request gets
// 503 from the relay.
func TestUpstreamDown(t *testing.T) {
	u := startUpstream(t, relaytest.Answer)
	u.Kill()
	rl := startRelay(t, u.Addr(), relay.Config{}, nil)
	st := load(t, rl.addr, 5, 10, "MESSAGE")
	if st[503] != 50 {
		t.Errorf("statuses %v", st)
	}
	waitFor(t, "the 503s to be written", func() bool { return rl.r.Stats().Pending == 0 })
	if s := rl.r.Stats(); s.Unavailable != 50 || s.Waiting != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestSilentUpstream: an upstream that never answers: each request gets
// 408 once the dispatcher's timeout has passed.
func TestSilentUpstream(t *testing.T) {
	u := startUpstream(t, relaytest.Silent)
	rl := startRelay(t, u.Addr(), relay.Config{PoolSize: 2}, func(c *engine.Config) {
		c.Dispatch.Timeout = 200 * time.Millisecond
		c.Tick = 20 * time.Millisecond
	})
	st := load(t, rl.addr, 4, 3, "INVITE")
	if st[408] != 12 {
		t.Errorf("statuses %v", st)
	}
	waitFor(t, "the 408s to be written", func() bool { return rl.r.Stats().Pending == 0 })
	if s := rl.r.Stats(); s.Timeouts != 12 {
		t.Errorf("stats %+v", s)
	}
}

// TestCloseAfterEach: an upstream that closes its connection after each
// answer: every request gets the answer or 503.
func TestCloseAfterEach(t *testing.T) {
	u := startUpstream(t, relaytest.CloseAfterEach)
	rl := startRelay(t, u.Addr(), relay.Config{PoolSize: 2}, nil)
	st := load(t, rl.addr, 8, 10, "MESSAGE")
	if st[200]+st[503] != 80 || st[200] == 0 {
		t.Errorf("statuses %v", st)
	}
	t.Logf("statuses %v, upstream accepted %d", st, u.Accepted())
}

// TestKillRestart: the upstream killed under load, kept down, and brought
// back on the same port: every request gets a response (real or 503) and
// the pool refills once the upstream is back.
func TestKillRestart(t *testing.T) {
	u := startUpstream(t, relaytest.Answer)
	const size = 3
	rl := startRelay(t, u.Addr(), relay.Config{PoolSize: size}, nil)
	const clients, n = 10, 60
	var mu sync.Mutex
	statuses := map[int]int{}
	got503 := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := relaytest.Dial(rl.addr, time.Now().Add(testTimeout))
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for j := range n {
				if _, err := c.Write(relaytest.Request("MESSAGE", fmt.Sprintf("k%dr%d", i, j), j+1, 70, "")); err != nil {
					t.Error(err)
					return
				}
				_, status, err := c.Response()
				if err != nil {
					t.Errorf("client %d request %d: %v", i, j, err)
					return
				}
				mu.Lock()
				statuses[status]++
				mu.Unlock()
				if status == 503 {
					select {
					case got503 <- struct{}{}:
					default:
					}
				}
			}
		}()
	}
	// Kill once the load runs, restart once the clients see 503s.
	waitFor(t, "load", func() bool { return u.Read() >= 50 })
	u.Kill()
	select {
	case <-got503:
	case <-time.After(testTimeout):
		t.Fatal("no 503 while the upstream is down")
	}
	if err := u.Restart(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	total := statuses[200] + statuses[503]
	if total != clients*n || statuses[503] == 0 {
		t.Fatalf("statuses %v for %d requests", statuses, clients*n)
	}
	// The pool refills: keep sending until it has size live connections.
	c := dial(t, rl.addr)
	i := 0
	waitFor(t, "the pool to refill", func() bool {
		i++
		if _, status := roundTrip(t, c, relaytest.Request("OPTIONS", fmt.Sprintf("after%d", i), i, 70, "")); status != 200 {
			return false
		}
		return activeConns(rl.srv) == size
	})
	t.Logf("statuses %v", statuses)
}

func activeConns(srv *engine.TCPServer) int {
	n := 0
	for _, p := range srv.Pools() {
		for _, c := range p.Conns {
			if c.State == pool.StateActive && c.ID != 0 {
				n++
			}
		}
	}
	return n
}

// TestClientGone: a response whose client has closed is dropped and
// counted.
func TestClientGone(t *testing.T) {
	u := startUpstream(t, relaytest.Hold)
	rl := startRelay(t, u.Addr(), relay.Config{}, nil)
	c := dial(t, rl.addr)
	if _, err := c.Write(relaytest.Request("MESSAGE", "gone", 1, 70, "")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the upstream to read the request", func() bool { return u.Read() == 1 })
	if s := rl.r.Stats(); s.Pending != 1 {
		t.Errorf("%d requests pending, want 1", s.Pending)
	}
	_ = c.Close()
	waitFor(t, "the relay to see the close", func() bool { return rl.srv.Stats().ConnsIn == 0 })
	if n := u.Release(); n != 1 {
		t.Fatalf("released %d", n)
	}
	waitFor(t, "the response to be dropped", func() bool { return rl.r.Stats().Dropped == 1 })
	if s := rl.r.Stats(); s.Relayed != 0 || s.Pending != 0 || s.Backpressure != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestNotAttached: a relay not attached answers 503.
func TestNotAttached(t *testing.T) {
	r, err := relay.New(relay.Config{Upstream: mustUpstream(t, "tcp://127.0.0.1:9")})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := engine.NewTCPServer(engine.Config{Handler: r, Loops: 1, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ln, err := srv.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, ln.Addr().String())
	if _, status := roundTrip(t, c, relaytest.Request("OPTIONS", "na", 1, 70, "")); status != 503 {
		t.Errorf("status %d", status)
	}
	if err := r.Attach(&srv.Manager); err != nil {
		t.Fatal(err)
	}
	if err := r.Attach(&srv.Manager); err != relay.ErrAttached {
		t.Errorf("second Attach: %v", err)
	}
}

func mustUpstream(t *testing.T, s string) dispatch.Dest {
	t.Helper()
	d, err := relay.ParseUpstream(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
