package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipcm/sipcm/internal/relay/relaytest"
	"github.com/sipcm/sipcm/internal/testcert"
	"github.com/sipcm/sipcm/sipparse"
)

// relayProc is sipcm relay run in this process by run().
type relayProc struct {
	*serveProc
}

// startRelayCmd runs "sipcm relay --upstream tcp://upstream" on free
// loopback ports (TCP and admin, no TLS) with the extra args, and waits
// for its listening lines.
func startRelayCmd(t *testing.T, upstream string, args ...string) *relayProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &serveProc{addrs: map[string]string{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	out := newLineWriter()
	full := append([]string{"relay", "--upstream", "tcp://" + upstream, "--tcp", "127.0.0.1:0",
		"--tls", "none", "--admin", "127.0.0.1:0", "--log-level", "warn"}, args...)
	go func() { p.done <- run(ctx, full, out, p.stderr, noEnv) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.done:
		case <-time.After(testTimeout):
			t.Error("relay did not stop")
		}
	})
	timeout := time.After(testTimeout)
	for len(p.addrs) < 2 {
		select {
		case line := <-out.lines:
			f := strings.Fields(line)
			if len(f) == 3 && f[0] == "listening" {
				p.addrs[f[1]] = strings.TrimPrefix(f[2], "http://")
			}
		case code := <-p.done:
			t.Fatalf("relay exited with %d:\n%s", code, p.stderr)
		case <-timeout:
			t.Fatalf("relay printed no listening lines:\n%s", p.stderr)
		}
	}
	return &relayProc{p}
}

// poolJSON is an entry of /pools.
type poolJSON struct {
	Name  string `json:"name"`
	Size  int    `json:"size"`
	Conns []struct {
		ID    uint64 `json:"id"`
		State string `json:"state"`
	} `json:"conns"`
}

// activePoolConns returns the active connections of the pools of /pools
// and the pools' names.
func (p *relayProc) activePoolConns(t *testing.T) (int, []string) {
	t.Helper()
	var pools []poolJSON
	if err := json.Unmarshal([]byte(httpGet(t, "http://"+p.addrs["admin"]+"/pools")), &pools); err != nil {
		t.Fatal(err)
	}
	n := 0
	var names []string
	for _, pl := range pools {
		names = append(names, pl.Name)
		for _, c := range pl.Conns {
			if c.State == "active" && c.ID != 0 {
				n++
			}
		}
	}
	return n, names
}

// waitPoolConns polls /pools until it shows want active connections (a slot
// whose dial started during the load may finish just after the load does)
// and returns that reading; the test fails at its timeout.
func (p *relayProc) waitPoolConns(t *testing.T, want int) (n int, names []string) {
	t.Helper()
	pollUntil(t, "the pool to fill", func() bool {
		n, names = p.activePoolConns(t)
		return n == want
	})
	return n, names
}

func dialRelay(t *testing.T, addr string) *relaytest.Client {
	return relaytest.MustDial(t, addr, testTimeout)
}

// exchange sends req on c and returns a copy of the final response and its
// status, skipping provisional responses.
func exchange(t *testing.T, c *relaytest.Client, req []byte) ([]byte, int) {
	t.Helper()
	return relaytest.RoundTrip(t, c, req)
}

// pollUntil polls cond until it holds, failing the test at the deadline.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	relaytest.WaitFor(t, testTimeout, what, cond)
}

// clientLoad sends n requests, one at a time, on each of clients
// connections and returns the final statuses. sent and got count the
// requests written and the final responses read; the test fails unless
// they are equal.
func clientLoad(t *testing.T, addr string, clients, n int, method string, each func(status int)) map[int]int {
	t.Helper()
	var mu sync.Mutex
	statuses := map[int]int{}
	var sent, got int
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := relaytest.Dial(addr, time.Now().Add(testTimeout))
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for j := range n {
				req := relaytest.Request(method, fmt.Sprintf("%s%dx%d", method, i, j), j+1, 70, "")
				if _, err := c.Write(req); err != nil {
					t.Errorf("client %d: %v", i, err)
					return
				}
				mu.Lock()
				sent++
				mu.Unlock()
				for {
					_, status, err := c.Response()
					if err != nil {
						t.Errorf("client %d request %d: %v", i, j, err)
						return
					}
					if status < 200 {
						continue
					}
					mu.Lock()
					got++
					statuses[status]++
					mu.Unlock()
					if each != nil {
						each(status)
					}
					break
				}
			}
		}()
	}
	wg.Wait()
	if sent != got || sent != clients*n {
		t.Fatalf("sent %d requests, got %d responses (want %d)", sent, got, clients*n)
	}
	return statuses
}

func startFake(t *testing.T, mode relaytest.Mode) *relaytest.Upstream {
	t.Helper()
	u, err := relaytest.Start(mode)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Close)
	return u
}

// checkRelayedResponse checks that resp, relayed for a client at src, has
// one Via: the client's, with received and rport.
func checkRelayedResponse(t *testing.T, resp []byte, src string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(src)
	var m sipparse.Message
	if err := m.Parse(resp); err != nil {
		t.Fatal(err)
	}
	if err := m.ParseVias(); err != nil {
		t.Fatal(err)
	}
	if len(m.Vias) != 1 {
		t.Fatalf("response has %d via-parms, want only the client's:\n%s", len(m.Vias), resp)
	}
	v := m.Vias[0]
	if string(m.Bytes(v.Host)) != "192.0.2.7" || string(m.Bytes(v.Received)) != host || string(m.Bytes(v.RPort)) != port {
		t.Errorf("client Via %q, want received=%s;rport=%s", m.Bytes(v.Raw), host, port)
	}
}

var sipgoLogOnce sync.Once

// TestRelaySipgo: sipcm relay in front of a sipgo server answering
// OPTIONS and MESSAGE: requests and responses pass, with the relay's Via
// added and removed, Max-Forwards decremented and the client's Via given
// received/rport.
func TestRelaySipgo(t *testing.T) {
	sipgoLogOnce.Do(func() {
		sip.SetDefaultLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	})
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))))
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		method, topVia, clientVia string
		maxForwards               int
		body                      string
	}
	seenc := make(chan seen, 16)
	record := func(req *sip.Request) {
		s := seen{method: string(req.Method), body: string(req.Body())}
		vias := req.GetHeaders("Via")
		if len(vias) > 0 {
			s.topVia = vias[0].Value()
		}
		if len(vias) > 1 {
			s.clientVia = vias[1].Value()
		}
		if mf := req.MaxForwards(); mf != nil {
			s.maxForwards = int(*mf)
		}
		seenc <- s
	}
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		record(req)
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	srv.OnMessage(func(req *sip.Request, tx sip.ServerTransaction) {
		record(req)
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", []byte("got it")))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTCP(ln) }()
	p := startRelayCmd(t, ln.Addr().String(), "--pool-size", "2")
	t.Cleanup(func() {
		p.stop(t) // the relay first: sipgo then sees its connections close
		_ = ln.Close()
		<-done
		_ = srv.Close()
		_ = ua.Close()
	})

	c := dialRelay(t, p.addrs["tcp"])
	src := c.LocalAddr().String()
	for i, tc := range []struct {
		method string
		mf     int
		body   string
		wantMF int
	}{
		{"OPTIONS", 70, "", 69},
		{"MESSAGE", -1, "hi sipgo", 69},
		{"MESSAGE", 7, "again", 6},
	} {
		resp, status := exchange(t, c, relaytest.Request(tc.method, fmt.Sprintf("sg%d", i), i+1, tc.mf, tc.body))
		if status != 200 {
			t.Fatalf("%s: status %d\n%s", tc.method, status, resp)
		}
		checkRelayedResponse(t, resp, src)
		if tc.method == "MESSAGE" && !bytes.HasSuffix(resp, []byte("\r\n\r\ngot it")) {
			t.Errorf("MESSAGE response body lost:\n%s", resp)
		}
		var s seen
		select {
		case s = <-seenc:
		case <-time.After(testTimeout):
			t.Fatal("sipgo saw nothing")
		}
		if s.method != tc.method || s.maxForwards != tc.wantMF || s.body != tc.body {
			t.Errorf("sipgo saw %+v, want %s with Max-Forwards %d and body %q", s, tc.method, tc.wantMF, tc.body)
		}
		if !strings.HasPrefix(s.topVia, "SIP/2.0/TCP 127.0.0.1:") || !strings.Contains(s.topVia, "branch=z9hG4bK") {
			t.Errorf("top Via at sipgo %q is not the relay's", s.topVia)
		}
		host, port, _ := net.SplitHostPort(src)
		if !strings.Contains(s.clientVia, "received="+host) || !strings.Contains(s.clientVia, "rport="+port) {
			t.Errorf("client Via at sipgo %q lacks received/rport", s.clientVia)
		}
	}
}

// kamailioBin returns the kamailio binary, or "" when it is not installed.
func kamailioBin() string {
	if p, err := exec.LookPath("kamailio"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/kamailio"); err == nil {
		return "/usr/sbin/kamailio"
	}
	return ""
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestRelayKamailio: sipcm relay in front of Kamailio as a stateless
// responder (bench/compare/kamailio.cfg: OPTIONS 200, others 501).
func TestRelayKamailio(t *testing.T) {
	bin := kamailioBin()
	if bin == "" {
		t.Skip("kamailio is not installed (Debian package kamailio)")
	}
	cfg, err := filepath.Abs("../../bench/compare/kamailio.cfg")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "run"), 0o755); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	var out syncBuffer
	cmd := exec.Command(bin, "-DD", "-E", "-f", cfg, "-Y", filepath.Join(dir, "run"), "-w", dir,
		"-A", "SIP_PORT="+strconv.Itoa(port), "-A", "TCP_WORKERS=1", "-m", "32", "-M", "8")
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its workers in a group of their own
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(testTimeout):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	pollUntil(t, "kamailio to listen", func() bool {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("kamailio exited: %v\n%s", err, out.String())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	})

	p := startRelayCmd(t, addr, "--pool-size", "1")
	c := dialRelay(t, p.addrs["tcp"])
	src := c.LocalAddr().String()
	for i := range 5 {
		resp, status := exchange(t, c, relaytest.Request("OPTIONS", fmt.Sprintf("kam%d", i), i+1, 70, ""))
		if status != 200 {
			t.Fatalf("OPTIONS %d: status %d\n%s", i, status, resp)
		}
		checkRelayedResponse(t, resp, src)
	}
	resp, status := exchange(t, c, relaytest.Request("MESSAGE", "kamm", 9, -1, "x"))
	if status != 501 {
		t.Fatalf("MESSAGE: status %d\n%s", status, resp)
	}
	checkRelayedResponse(t, resp, src)
	if n, names := p.activePoolConns(t); n != 1 {
		t.Errorf("%d active upstream connections in %v, want 1", n, names)
	}
}

// TestRelayPoolSize: under 50 concurrent clients, /pools shows exactly
// --pool-size upstream connections and the upstream sees exactly that
// many.
func TestRelayPoolSize(t *testing.T) {
	for _, size := range []int{3, 5} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			u := startFake(t, relaytest.Answer)
			p := startRelayCmd(t, u.Addr(), "--pool-size", strconv.Itoa(size))
			st := clientLoad(t, p.addrs["tcp"], 50, 10, "OPTIONS", nil)
			if st[200] != 500 {
				t.Errorf("statuses %v", st)
			}
			n, names := p.waitPoolConns(t, size)
			want := "tcp:" + u.Addr() + "#sipcm-relay"
			if n != size || len(names) != 1 || names[0] != want {
				t.Errorf("/pools: %d active connections in %v, want %d in [%s]", n, names, size, want)
			}
			if got := u.Accepted(); got != int64(size) {
				t.Errorf("upstream accepted %d connections, want %d", got, size)
			}
			if got := metric(t, p.addrs["admin"], "sipcm_connections_open{direction=\"out\"}"); got != float64(size) {
				t.Errorf("outgoing connections open: %v, want %d", got, size)
			}
			if got := metric(t, p.addrs["admin"], "sipcm_pool_connections{pool=\""+want+"\",state=\"active\"}"); got != float64(size) {
				t.Errorf("active pool connections metric: %v, want %d", got, size)
			}
		})
	}
}

// TestRelayMaxForwards: Max-Forwards 0 gets 483 (OPTIONS too) and is not
// forwarded; a request without Max-Forwards reaches the upstream with 69.
func TestRelayMaxForwards(t *testing.T) {
	u := startFake(t, relaytest.Answer)
	p := startRelayCmd(t, u.Addr())
	c := dialRelay(t, p.addrs["tcp"])
	for i, method := range []string{"OPTIONS", "MESSAGE"} {
		if _, status := exchange(t, c, relaytest.Request(method, "zero"+method, i+1, 0, "")); status != 483 {
			t.Errorf("%s with Max-Forwards 0: status %d, want 483", method, status)
		}
	}
	if _, status := exchange(t, c, relaytest.Request("MESSAGE", "none", 5, -1, "b")); status != 200 {
		t.Fatalf("status %d", status)
	}
	reqs := u.Requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream read %d requests, want 1", len(reqs))
	}
	var m sipparse.Message
	if err := m.Parse(reqs[0]); err != nil {
		t.Fatal(err)
	}
	if m.MaxForwards != 69 {
		t.Errorf("Max-Forwards at the upstream %d, want 69", m.MaxForwards)
	}
	if got := metric(t, p.addrs["admin"], "sipcm_auto_responses_total{code=\"483\"}"); got != 2 {
		t.Errorf("483 responses metric %v, want 2", got)
	}
}

// TestRelayUpstreamDown: nothing listening upstream: every request gets
// 503.
func TestRelayUpstreamDown(t *testing.T) {
	u := startFake(t, relaytest.Answer)
	u.Kill()
	p := startRelayCmd(t, u.Addr(), "--pool-size", "3")
	st := clientLoad(t, p.addrs["tcp"], 10, 10, "MESSAGE", nil)
	if st[503] != 100 {
		t.Errorf("statuses %v", st)
	}
}

// TestRelayKillRestart: the upstream killed mid-load (listener and every
// connection closed), kept down, and brought back on the same port: every
// request sent meanwhile gets a response, real or 503, and the pool
// refills once the upstream is back.
func TestRelayKillRestart(t *testing.T) {
	u := startFake(t, relaytest.Answer)
	const size = 4
	p := startRelayCmd(t, u.Addr(), "--pool-size", strconv.Itoa(size))
	// Killed once the load runs; kept down until the clients have seen
	// 100 503s (a window counted in requests, not time); then back.
	var killed, restarted sync.Once
	var unavailable atomic.Int64
	restart := func() {
		if err := u.Restart(); err != nil {
			t.Error(err)
		}
	}
	st := clientLoad(t, p.addrs["tcp"], 20, 50, "MESSAGE", func(status int) {
		if u.Read() >= 100 {
			killed.Do(u.Kill)
		}
		if status == 503 && unavailable.Add(1) == 100 {
			restarted.Do(restart)
		}
	})
	restarted.Do(restart)
	if st[200]+st[503] != 1000 || st[503] < 100 || st[200] <= 100 {
		t.Fatalf("statuses %v", st)
	}
	c := dialRelay(t, p.addrs["tcp"])
	i := 0
	pollUntil(t, "the pool to refill", func() bool {
		i++
		if _, status := exchange(t, c, relaytest.Request("OPTIONS", fmt.Sprintf("back%d", i), i, 70, "")); status != 200 {
			return false
		}
		n, _ := p.activePoolConns(t)
		return n == size
	})
	t.Logf("statuses %v; pool refilled after %d requests", st, i)
}

// TestRelaySilentUpstream: an upstream that accepts and never answers:
// every request gets 408 after --timeout.
func TestRelaySilentUpstream(t *testing.T) {
	u := startFake(t, relaytest.Silent)
	p := startRelayCmd(t, u.Addr(), "--pool-size", "2", "--timeout", "300ms")
	st := clientLoad(t, p.addrs["tcp"], 5, 2, "INVITE", nil)
	if st[408] != 10 {
		t.Errorf("statuses %v", st)
	}
}

// TestRelayCloseAfterEach: an upstream that closes its connection after
// every answer: every request gets the answer or 503.
func TestRelayCloseAfterEach(t *testing.T) {
	u := startFake(t, relaytest.CloseAfterEach)
	p := startRelayCmd(t, u.Addr(), "--pool-size", "3")
	st := clientLoad(t, p.addrs["tcp"], 10, 10, "MESSAGE", nil)
	if st[200]+st[503] != 100 || st[200] == 0 {
		t.Errorf("statuses %v", st)
	}
	t.Logf("statuses %v", st)
}

// TestRelayTLSUpstream: a tls:// upstream is dialed over TLS, verified
// against --upstream-ca and the name --upstream-name gives it; one whose
// certificate does not carry that name gets no request, and the clients
// get 503.
func TestRelayTLSUpstream(t *testing.T) {
	ca := testcert.MustCA(t, "upstream CA")
	leaf := ca.MustIssue(t, testcert.Both("upstream.test"))
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	u, err := relaytest.StartTLS(relaytest.Answer, &tls.Config{Certificates: []tls.Certificate{leaf.TLS}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Close)
	tlsArgs := func(name string) []string {
		return []string{"--upstream", "tls://" + u.Addr(), "--upstream-ca", caFile, "--upstream-name", name, "--pool-size", "2"}
	}

	p := startRelayCmd(t, u.Addr(), tlsArgs("upstream.test")...)
	st := clientLoad(t, p.addrs["tcp"], 4, 5, "MESSAGE", nil)
	if st[200] != 20 {
		t.Errorf("statuses %v", st)
	}
	reqs := u.Requests()
	if len(reqs) == 0 || !bytes.Contains(reqs[0], []byte("\r\nVia: SIP/2.0/TLS 127.0.0.1:")) {
		t.Errorf("no TLS Via from the relay in %q", reqs)
	}
	if n, names := p.waitPoolConns(t, 2); n != 2 || len(names) != 1 || !strings.HasPrefix(names[0], "tls:") {
		t.Errorf("/pools: %d active in %v", n, names)
	}

	wrong := startRelayCmd(t, u.Addr(), tlsArgs("other.test")...)
	read := u.Read()
	st = clientLoad(t, wrong.addrs["tcp"], 2, 3, "MESSAGE", nil)
	if st[503] != 6 || u.Read() != read {
		t.Errorf("wrong name: statuses %v, upstream read %d more", st, u.Read()-read)
	}
}

// TestRelayUsage: bad relay command lines exit with the usage code.
func TestRelayUsage(t *testing.T) {
	for _, args := range [][]string{
		{"relay"},
		{"relay", "--upstream", "udp://127.0.0.1:5060"},
		{"relay", "--upstream", "tcp://:5060"},
		{"relay", "--upstream", "tcp://127.0.0.1:5060", "--pool-size", "0"},
		{"relay", "--upstream", "tcp://127.0.0.1:5060", "--timeout", "0s"},
		{"relay", "--upstream", "tcp://127.0.0.1:5060", "--upstream-ca", "ca.pem"},
	} {
		var stderr syncBuffer
		if code := run(context.Background(), args, &stderr, &stderr, noEnv); code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, exitUsage, stderr.String())
		}
	}
	var stdout syncBuffer
	if code := run(context.Background(), []string{"relay", "--help"}, &stdout, &stdout, noEnv); code != exitOK ||
		!strings.Contains(stdout.String(), "--upstream") && !strings.Contains(stdout.String(), "-upstream") {
		t.Errorf("--help: exit %d\n%s", code, stdout.String())
	}
}

// TestRelayStop: a stop closes the listeners, lets the requests in
// flight end up to --drain-timeout, then answers those still pending 503
// before closing.
func TestRelayStop(t *testing.T) {
	u := startFake(t, relaytest.Hold)
	p := startRelayCmd(t, u.Addr(), "--drain-timeout", "300ms")
	answered := dialRelay(t, p.addrs["tcp"])
	stuck := dialRelay(t, p.addrs["tcp"])
	if _, err := answered.Write(relaytest.Request("MESSAGE", "stop1", 1, 70, "")); err != nil {
		t.Fatal(err)
	}
	if _, err := stuck.Write(relaytest.Request("INVITE", "stop2", 1, 70, "")); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, "the upstream to read both requests", func() bool { return u.Read() == 2 })
	stopped := make(chan int, 1)
	go func() {
		p.cancel() // as a signal would
		code := <-p.done
		p.done <- code // for the cleanup
		stopped <- code
	}()
	pollUntil(t, "the listener to close", func() bool {
		c, err := net.DialTimeout("tcp", p.addrs["tcp"], time.Second)
		if err != nil {
			return true
		}
		_ = c.Close()
		return false
	})
	if n := u.ReleaseMethod("MESSAGE"); n != 1 {
		t.Fatalf("released %d", n)
	}
	if _, status, err := answered.Response(); err != nil || status != 200 {
		t.Errorf("request answered during the drain: status %d, %v; want 200", status, err)
	}
	if _, status, err := stuck.Response(); err != nil || status != 503 {
		t.Errorf("request pending at the drain timeout: status %d, %v; want 503", status, err)
	}
	if code := <-stopped; code != exitError {
		t.Errorf("exit %d, want %d (drain incomplete)", code, exitError)
	}
}
