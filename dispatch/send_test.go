package dispatch

import (
	"errors"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipcm/sipcm/internal/wheel"
	"github.com/sipcm/sipcm/sipparse"
)

func addSender(t *testing.T, d *Dispatcher, throttled bool) *Endpoint {
	t.Helper()
	e := mustEndpoint(t, EndpointConfig{AOR: "sip:alice@example.com", Throttled: throttled})
	if err := d.Add(e); err != nil {
		t.Fatal(err)
	}
	return e
}

var peer = Dest{Host: "peer", Port: 5060}

func TestSendAddsVia(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		transport string
		want      string // top Via without the branch
	}{
		{"local address", Config{}, "", "SIP/2.0/TCP 127.0.0.1:5060"},
		{"sent-by", Config{SentBy: "proxy.example.com:5061"}, "tls", "SIP/2.0/TLS proxy.example.com:5061"},
	}
	for _, tt := range tests {
		env := newEnv(t, tt.cfg)
		e := addSender(t, env.d, false)
		dst := peer
		dst.Transport = tt.transport
		req := outRequest("OPTIONS")
		if err := env.d.Send(e, dst, req, new(recorder).fn); err != nil {
			t.Fatal(err)
		}
		sent := env.conn.lastSent(t)
		m := parse(t, sent)
		if err := m.ParseVias(); err != nil {
			t.Fatal(err)
		}
		if len(m.Vias) != 1 {
			t.Fatalf("%s: %d Vias", tt.name, len(m.Vias))
		}
		v := m.Vias[0]
		raw := string(m.Bytes(v.Raw))
		branch := string(m.Bytes(v.Branch))
		if !strings.HasPrefix(raw, tt.want+";branch=") || !strings.HasPrefix(branch, "z9hG4bK") {
			t.Errorf("%s: Via %q", tt.name, raw)
		}
		// Everything else is unchanged.
		want := strings.Replace(string(req), "\r\n", "\r\nVia: "+raw+"\r\n", 1)
		if string(sent) != want {
			t.Errorf("%s: sent\n%q\nwant\n%q", tt.name, sent, want)
		}
	}
}

func TestBranchesUnique(t *testing.T) {
	env := newEnv(t, Config{})
	e := addSender(t, env.d, false)
	seen := map[string]bool{}
	for range 100 {
		if err := env.d.Send(e, peer, outRequest("OPTIONS"), new(recorder).fn); err != nil {
			t.Fatal(err)
		}
		b := topBranch(t, env.conn.lastSent(t))
		if seen[b] {
			t.Fatalf("branch %s twice", b)
		}
		seen[b] = true
	}
	other := newEnv(t, Config{})
	key, ok := other.d.parseBranch([]byte(topBranch(t, env.conn.lastSent(t))))
	if ok {
		t.Errorf("another dispatcher took our branch as its own (key %d)", key)
	}
}

func TestParseBranch(t *testing.T) {
	env := newEnv(t, Config{})
	d := env.d
	for _, key := range []uint64{1, 0xabc, 1<<64 - 1} {
		b := d.appendBranch(nil, key)
		if got, ok := d.parseBranch(b); !ok || got != key {
			t.Errorf("%s: parseBranch = %d %v", b, got, ok)
		}
	}
	good := string(d.appendBranch(nil, 0x1f))
	for _, b := range []string{"", "z9hG4bK", "z9hG4bKabc", good[:len(good)-3], strings.ToUpper(good),
		good + "g", good + "00000000000000000", strings.Replace(good, ".", "-", 1), "Z" + good[1:]} {
		if _, ok := d.parseBranch([]byte(b)); ok {
			t.Errorf("%q parsed as ours", b)
		}
	}
}

func TestCorrelation(t *testing.T) {
	env := newEnv(t, Config{})
	d, c := env.d, env.conn
	e := addSender(t, d, false)
	var r1, r2 recorder
	if err := d.Send(e, peer, outRequest("INVITE"), r1.fn); err != nil {
		t.Fatal(err)
	}
	inv := c.lastSent(t)
	if err := d.Send(e, peer, outRequest("OPTIONS"), r2.fn); err != nil {
		t.Fatal(err)
	}
	opt := c.lastSent(t)
	if st := d.Stats(); st.Outstanding != 2 || st.Sent != 2 {
		t.Fatalf("stats %+v", st)
	}
	for _, step := range []struct {
		sent   []byte
		status int
	}{{inv, 100}, {opt, 200}, {inv, 180}, {inv, 183}, {inv, 486}, {inv, 200}, {inv, 180}, {opt, 200}} {
		d.HandleMessage(c, responseTo(t, step.sent, step.status))
	}
	if s, errs := r1.get(); !slices.Equal(s, []int{100, 180, 183, 486}) || len(errs) != 0 {
		t.Errorf("INVITE got %v %v", s, errs)
	}
	if s, errs := r2.get(); !slices.Equal(s, []int{200}) || len(errs) != 0 {
		t.Errorf("OPTIONS got %v %v", s, errs)
	}
	st := d.Stats()
	if st.Outstanding != 0 || st.Responses != 5 || st.Late != 3 || st.Stray != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestStrayResponses(t *testing.T) {
	env := newEnv(t, Config{})
	d, c := env.d, env.conn
	e := addSender(t, d, false)
	var r recorder
	if err := d.Send(e, peer, outRequest("INVITE"), r.fn); err != nil {
		t.Fatal(err)
	}
	sent := string(c.lastSent(t))
	branch := topBranch(t, []byte(sent))
	other := newEnv(t, Config{})
	cancel := strings.Replace(sent, "INVITE sip:", "CANCEL sip:", 1)
	stray := []string{
		strings.Replace(sent, branch, "z9hG4bKsomeoneelse", 1),                 // not ours at all
		strings.Replace(sent, branch, string(other.d.appendBranch(nil, 1)), 1), // another dispatcher's
		strings.Replace(sent, branch, "z9hG4bK", 1),
		strings.Replace(cancel, "CSeq: 1 INVITE", "CSeq: 1 CANCEL", 1), // our branch, other method
	}
	for _, s := range stray {
		d.HandleMessage(c, responseTo(t, []byte(s), 200))
	}
	// A response below our Via: the top one is the peer's.
	d.HandleMessage(c, parse(t, []byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 192.0.2.9;branch=z9hG4bKpeer\r\n"+
		"Via: SIP/2.0/TCP 127.0.0.1:5060;branch="+branch+"\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\n"+
		"Call-ID: out-1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")))
	if s, errs := r.get(); len(s) != 0 || len(errs) != 0 {
		t.Errorf("stray responses delivered: %v %v", s, errs)
	}
	if st := d.Stats(); st.Stray != 5 || st.Outstanding != 1 {
		t.Errorf("stats %+v", st)
	}
	d.HandleMessage(c, responseTo(t, []byte(sent), 200))
	if s, _ := r.get(); !slices.Equal(s, []int{200}) {
		t.Errorf("real response: %v", s)
	}
}

func TestTimeout(t *testing.T) {
	env := newEnv(t, Config{T1: 100 * time.Millisecond, Tick: 10 * time.Millisecond})
	d, c := env.d, env.conn
	e := addSender(t, d, true)
	var r recorder
	if err := d.Send(e, peer, outRequest("INVITE"), r.fn); err != nil {
		t.Fatal(err)
	}
	sent := c.lastSent(t)
	d.HandleMessage(c, responseTo(t, sent, 100))
	env.clock.Add(64*100*time.Millisecond - 10*time.Millisecond)
	d.Sweep()
	if _, errs := r.get(); len(errs) != 0 {
		t.Fatalf("ended early: %v", errs)
	}
	env.clock.Add(10 * time.Millisecond)
	c.mu.Lock()
	execs := c.execs
	c.mu.Unlock()
	d.Sweep()
	d.Sweep()
	s, errs := r.get()
	if !slices.Equal(s, []int{100}) || len(errs) != 1 || !errors.Is(errs[0], ErrTimeout) {
		t.Fatalf("got %v %v, want [100] and one ErrTimeout", s, errs)
	}
	c.mu.Lock()
	if c.execs != execs+1 {
		t.Errorf("timeout not delivered through Execute (%d -> %d)", execs, c.execs)
	}
	c.mu.Unlock()
	d.HandleMessage(c, responseTo(t, sent, 200))
	if s, errs := r.get(); len(s) != 1 || len(errs) != 1 {
		t.Errorf("response after timeout delivered: %v %v", s, errs)
	}
	if st := d.Stats(); st.Timeouts != 1 || st.Late != 1 || st.Outstanding != 0 {
		t.Errorf("stats %+v", st)
	}
	// The slot is free again and the connection record is gone.
	if n := len(d.connShard(c.ID()).m); n != 0 {
		t.Errorf("%d connection records left", n)
	}
}

func TestTimeoutClosedConn(t *testing.T) {
	env := newEnv(t, Config{Timeout: time.Second})
	d, c := env.d, env.conn
	var r recorder
	if err := d.Send(addSender(t, d, false), peer, outRequest("OPTIONS"), r.fn); err != nil {
		t.Fatal(err)
	}
	c.execErr = errors.New("closed")
	env.clock.Add(2 * time.Second)
	d.Sweep()
	if _, errs := r.get(); len(errs) != 1 || !errors.Is(errs[0], ErrTimeout) {
		t.Errorf("got %v, want ErrTimeout delivered directly", errs)
	}
}

func TestBrokenConnection(t *testing.T) {
	env := newEnv(t, Config{})
	d, c := env.d, env.conn
	c2 := newConn(2)
	env.tr.conns["other"] = c2
	e := addSender(t, d, true)
	var rs [3]recorder
	for i := range rs {
		if err := d.Send(e, peer, outRequest("INVITE"), rs[i].fn); err != nil {
			t.Fatal(err)
		}
	}
	d.HandleMessage(c, responseTo(t, c.lastSent(t), 180))
	var ro recorder
	if err := d.Send(e, Dest{Host: "other"}, outRequest("INVITE"), ro.fn); err != nil {
		t.Fatal(err)
	}
	c.closed.Store(true)
	d.HandleClose(c, io.ErrUnexpectedEOF)
	for i := range rs {
		_, errs := rs[i].get()
		if len(errs) != 1 || !errors.Is(errs[0], ErrConnBroken) || !errors.Is(errs[0], io.ErrUnexpectedEOF) {
			t.Errorf("request %d: %v, want ErrConnBroken wrapping the cause", i, errs)
		}
	}
	if s, errs := rs[2].get(); !slices.Equal(s, []int{180}) || len(errs) != 1 {
		t.Errorf("last request: %v %v", s, errs)
	}
	if s, errs := ro.get(); len(s) != 0 || len(errs) != 0 {
		t.Errorf("other connection's request ended: %v %v", s, errs)
	}
	if st := d.Stats(); st.Broken != 3 || st.Outstanding != 1 {
		t.Errorf("stats %+v", st)
	}
	d.HandleClose(c, nil) // twice, or a connection with nothing outstanding
	d.HandleClose(c2, nil)
	if _, errs := ro.get(); len(errs) != 1 || !errors.Is(errs[0], ErrConnBroken) {
		t.Errorf("clean close: %v", errs)
	}
	// A send on a connection that closed before HandleClose saw it.
	var rl recorder
	if err := d.Send(e, peer, outRequest("INVITE"), rl.fn); !errors.Is(err, ErrConnBroken) {
		t.Errorf("Send on a closed connection = %v", err)
	}
	if st := d.Stats(); st.Outstanding != 0 {
		t.Errorf("outstanding %d", st.Outstanding)
	}
}

func TestSendErrors(t *testing.T) {
	env := newEnv(t, Config{})
	d, c := env.d, env.conn
	e := addSender(t, d, false)
	stranger := mustEndpoint(t, EndpointConfig{AOR: "sip:s@h"})
	boom := errors.New("boom")
	tests := []struct {
		name  string
		setup func()
		e     *Endpoint
		dst   Dest
		req   []byte
		fn    ResponseFunc
		want  error
	}{
		{"not added", nil, stranger, peer, outRequest("OPTIONS"), new(recorder).fn, ErrNotAdded},
		{"no request line", nil, e, peer, []byte("OPTIONS"), new(recorder).fn, ErrBadRequest},
		{"no space", nil, e, peer, []byte("OPTIONS\r\n\r\n"), new(recorder).fn, ErrBadRequest},
		{"bad transport", nil, e, Dest{Host: "peer", Transport: "T C"}, outRequest("OPTIONS"), new(recorder).fn, ErrBadRequest},
		{"nil func", nil, e, peer, outRequest("OPTIONS"), nil, ErrNilFunc},
		{"transport error", func() { env.tr.err = boom }, e, peer, outRequest("OPTIONS"), new(recorder).fn, boom},
		{"no transport", func() { env.tr.err = nil; d.SetTransport(nil) }, e, peer, outRequest("OPTIONS"), new(recorder).fn, ErrNoTransport},
		{"conn send fails", func() { d.SetTransport(env.tr); c.sendErr = boom }, e, peer, outRequest("OPTIONS"), new(recorder).fn, ErrSendFailed},
		{"ACK send fails", nil, e, peer, outRequest("ACK"), nil, ErrSendFailed},
	}
	for _, tt := range tests {
		if tt.setup != nil {
			tt.setup()
		}
		if err := d.Send(tt.e, tt.dst, tt.req, tt.fn); !errors.Is(err, tt.want) {
			t.Errorf("%s: Send = %v, want %v", tt.name, err, tt.want)
		}
	}
	c.sendErr = nil
	if n := c.sentCount(); n != 0 {
		t.Errorf("%d messages sent by failing Sends", n)
	}
	if st := d.Stats(); st.Outstanding != 0 {
		t.Errorf("outstanding %d", st.Outstanding)
	}
	// A write that fails on the loop ends the request through fn.
	c.doneErr = boom
	var r recorder
	if err := d.Send(e, peer, outRequest("OPTIONS"), r.fn); err != nil {
		t.Fatal(err)
	}
	if _, errs := r.get(); len(errs) != 1 || !errors.Is(errs[0], ErrSendFailed) || !errors.Is(errs[0], boom) {
		t.Errorf("fn got %v", errs)
	}
	if st := d.Stats(); st.Outstanding != 0 || st.SendErrors != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestSendACK(t *testing.T) {
	env := newEnv(t, Config{})
	d, c := env.d, env.conn
	e := addSender(t, d, true)
	if err := d.Send(e, peer, outRequest("ACK"), nil); err != nil {
		t.Fatal(err)
	}
	if !hasPrefix(c.lastSent(t), "ACK sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK") {
		t.Errorf("ACK sent as %q", c.lastSent(t))
	}
	if st := d.Stats(); st.SentACK != 1 || st.Outstanding != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestCloseEndsOutstanding(t *testing.T) {
	env := newEnv(t, Config{})
	d := env.d
	e := addSender(t, d, false)
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); !errors.Is(err, ErrStarted) {
		t.Errorf("second Start = %v", err)
	}
	var r recorder
	if err := d.Send(e, peer, outRequest("OPTIONS"), r.fn); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, errs := r.get(); len(errs) != 1 || !errors.Is(errs[0], ErrClosed) {
		t.Errorf("outstanding request got %v, want ErrClosed", errs)
	}
	if err := d.Send(e, peer, outRequest("OPTIONS"), r.fn); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v", err)
	}
}

// TestResponseOnOtherConn: a response on another connection is still ours.
func TestResponseOnOtherConn(t *testing.T) {
	env := newEnv(t, Config{})
	d := env.d
	var r recorder
	var got Conn
	if err := d.Send(addSender(t, d, false), peer, outRequest("OPTIONS"), func(c Conn, m *sipparse.Message, err error) {
		got = c
		r.fn(c, m, err)
	}); err != nil {
		t.Fatal(err)
	}
	other := newConn(9)
	d.HandleMessage(other, responseTo(t, env.conn.lastSent(t), 200))
	if s, _ := r.get(); !slices.Equal(s, []int{200}) || got != Conn(other) {
		t.Errorf("got %v on %v", s, got)
	}
}

// TestStartSweeps: the goroutine Start runs expires requests.
func TestStartSweeps(t *testing.T) {
	env := newEnv(t, Config{Timeout: time.Second, Tick: time.Millisecond})
	d := env.d
	ended := make(chan error, 1)
	if err := d.Send(addSender(t, d, false), peer, outRequest("OPTIONS"), func(c Conn, m *sipparse.Message, err error) {
		ended <- err
	}); err != nil {
		t.Fatal(err)
	}
	env.clock.Add(2 * time.Second)
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, ErrTimeout) {
			t.Errorf("ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the sweeper did not expire the request")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestTransportSeesEndpoint: Transport.Conn is asked on behalf of the
// sending endpoint, and Remove releases the endpoint from the transport.
func TestTransportSeesEndpoint(t *testing.T) {
	env := newEnv(t, Config{})
	d := env.d
	a := addSender(t, d, false)
	b := mustEndpoint(t, EndpointConfig{AOR: "sip:bob@example.com"})
	if err := d.Add(b); err != nil {
		t.Fatal(err)
	}
	var r recorder
	for _, e := range []*Endpoint{a, a, b} {
		if err := d.Send(e, peer, outRequest("OPTIONS"), r.fn); err != nil {
			t.Fatal(err)
		}
	}
	env.tr.mu.Lock()
	asked := maps.Clone(env.tr.asked)
	env.tr.mu.Unlock()
	if asked[a] != 2 || asked[b] != 1 {
		t.Fatalf("Conn asked for %v", asked)
	}
	d.Remove(b, mustEndpoint(t, EndpointConfig{AOR: "sip:x@y"})) // the second is not added: not released
	env.tr.mu.Lock()
	released := slices.Clone(env.tr.released)
	env.tr.mu.Unlock()
	if len(released) != 1 || released[0] != b {
		t.Fatalf("released %v, want [b]", released)
	}
}

// TestSendOn sends on a given connection, with no transport, and counts
// the requests outstanding on it.
func TestSendOn(t *testing.T) {
	d, err := New(Config{Clock: new(wheel.FakeClock)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	e := addSender(t, d, true)
	c := newConn(3)
	var r recorder
	if err := d.Send(e, peer, outRequest("OPTIONS"), r.fn); !errors.Is(err, ErrNoTransport) {
		t.Fatalf("Send without transport: %v", err)
	}
	for i := range 3 {
		if err := d.SendOn(e, c, "tcp", outRequest("OPTIONS"), r.fn); err != nil {
			t.Fatal(err)
		}
		if n := d.Outstanding(c.ID()); n != i+1 {
			t.Fatalf("Outstanding = %d, want %d", n, i+1)
		}
	}
	if !hasPrefix(c.lastSent(t)[len("OPTIONS sip:bob@example.com SIP/2.0\r\n"):], "Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK") {
		t.Errorf("sent %q", c.lastSent(t))
	}
	if err := d.SendOn(e, c, "t c p", outRequest("OPTIONS"), r.fn); !errors.Is(err, ErrBadRequest) {
		t.Errorf("bad transport: %v", err)
	}
	if err := d.SendOn(e, c, "TCP", []byte("garbage"), r.fn); !errors.Is(err, ErrBadRequest) {
		t.Errorf("bad request: %v", err)
	}
	if err := d.SendOn(e, c, "TCP", outRequest("OPTIONS"), nil); !errors.Is(err, ErrNilFunc) {
		t.Errorf("nil func: %v", err)
	}
	d.HandleMessage(c, responseTo(t, c.lastSent(t), 200))
	if n := d.Outstanding(c.ID()); n != 2 {
		t.Fatalf("Outstanding after a response = %d, want 2", n)
	}
	d.HandleClose(c, nil)
	if n := d.Outstanding(c.ID()); n != 0 {
		t.Fatalf("Outstanding after close = %d, want 0", n)
	}
	if s, errs := r.get(); len(s) != 1 || len(errs) != 2 {
		t.Fatalf("statuses %v errors %v", s, errs)
	}
}

// TestAppendVia: AppendVia rebuilds, from the branch of a response and the
// connection its request went on, the Via the dispatcher sent, byte for
// byte, even when the peer added parameters to it in the response.
func TestAppendVia(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		transport string
		local     string
	}{
		{"local address", Config{}, "tcp", "127.0.0.1:5060"},
		{"other connection", Config{}, "", "127.0.0.1:40123"},
		{"ipv6", Config{}, "TLS", "[2001:db8::1]:5061"},
		{"sent-by", Config{SentBy: "proxy.example.com:5061"}, "tls", "127.0.0.1:40123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, tt.cfg)
			env.conn.local = netip.MustParseAddrPort(tt.local)
			e := addSender(t, env.d, false)
			dst := peer
			dst.Transport = tt.transport
			if err := env.d.Send(e, dst, outRequest("INVITE"), new(recorder).fn); err != nil {
				t.Fatal(err)
			}
			sent := env.conn.lastSent(t)
			m := parse(t, sent)
			wantVia := string(m.Bytes(m.Vias[0].Raw))
			// The peer's response, with received added to our Via.
			resp := responseTo(t, sent, 486)
			withReceived := strings.Replace(string(resp.Buf()), wantVia, wantVia+";received=192.0.2.99", 1)
			r := parse(t, []byte(withReceived))
			got := env.d.AppendVia([]byte("x"), env.conn, tt.transport, r.Bytes(r.Vias[0].Branch))
			if string(got) != "x"+wantVia {
				t.Errorf("AppendVia = %q, want %q", got[1:], wantVia)
			}
		})
	}
}
