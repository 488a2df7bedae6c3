package engine

import (
	"context"
	"net"
	"testing"
	"time"
)

// connCount returns the number of open connections in each direction.
func connCount(m *Manager) (in, out int) {
	for _, ci := range m.Conns(nil) {
		if ci.Direction == Incoming {
			in++
		} else {
			out++
		}
	}
	return in, out
}

// openConns dials n connections and waits until the server has them all.
func openConns(t *testing.T, s *TCPServer, addr string, n int) []*client {
	t.Helper()
	cs := make([]*client, n)
	for i := range cs {
		cs[i] = dial(t, addr)
		// A round trip proves the connection is on a loop.
		cs[i].send("\r\n\r\n")
		pong := make([]byte, 2)
		if _, err := cs[i].r.Read(pong); err != nil {
			t.Fatal(err)
		}
	}
	return cs
}

func TestFirstMessageTimeout(t *testing.T) {
	clock := fakeClock()
	s, addr := startServer(t, Config{Clock: clock, Loops: 1, Handler: DefaultHandler{}})
	cs := openConns(t, s, addr, 3) // each sent a keep-alive: not a message
	silent, pinging, talking := cs[0], cs[1], cs[2]
	talking.send(options("t", 1))
	talking.mustRead()

	clock.Set(DefaultFirstMessageTimeout - time.Millisecond)
	pinging.send("\r\n\r\n")
	pinging.r.ReadByte()
	pinging.r.ReadByte()
	s.advance()
	if in, _ := connCount(&s.Manager); in != 3 {
		t.Fatalf("%d connections before the timeout, want 3", in)
	}
	clock.Set(DefaultFirstMessageTimeout)
	s.advance()
	silent.expectClosed()
	pinging.expectClosed()
	if in, _ := connCount(&s.Manager); in != 1 {
		t.Fatalf("%d connections after the timeout, want 1", in)
	}
	talking.send(options("t", 2))
	if resp := talking.mustRead(); statusOf(resp) != 200 {
		t.Fatalf("talking connection: %q", resp)
	}
	if st := s.Stats(); st.FirstMessageTimeouts != 2 || st.IdleTimeouts != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestIdleTimeoutIncoming(t *testing.T) {
	clock := fakeClock()
	const idle = 10 * time.Minute
	s, addr := startServer(t, Config{Clock: clock, IdleTimeoutIn: idle, Loops: 1})
	busy, quiet := dial(t, addr), dial(t, addr)
	for _, c := range []*client{busy, quiet} {
		c.send(options("i", 1))
		c.mustRead()
	}
	// busy talks every 6 minutes; quiet never again.
	for step := 1; step <= 3; step++ {
		clock.Add(6 * time.Minute)
		busy.send(options("i", step+1))
		busy.mustRead()
		s.advance()
	}
	// At 18 min quiet (idle since 0) is gone; busy (idle since 18) is not.
	quiet.expectClosed()
	if in, _ := connCount(&s.Manager); in != 1 {
		t.Fatalf("%d connections, want 1", in)
	}
	clock.Add(idle - time.Millisecond)
	s.advance()
	if in, _ := connCount(&s.Manager); in != 1 {
		t.Fatalf("busy closed before its idle timeout")
	}
	clock.Add(time.Millisecond)
	s.advance()
	busy.expectClosed()
	if st := s.Stats(); st.IdleTimeouts != 2 || st.ConnsIn != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestIdleTimeoutDisabled: a negative timeout disables it.
func TestIdleTimeoutDisabled(t *testing.T) {
	clock := fakeClock()
	s, addr := startServer(t, Config{Clock: clock, IdleTimeoutIn: -1, FirstMessageTimeout: -1, Loops: 1})
	openConns(t, s, addr, 1)
	clock.Add(1000 * time.Hour)
	s.advance()
	if in, _ := connCount(&s.Manager); in != 1 {
		t.Fatal("connection closed with timeouts disabled")
	}
}

// recorder is a ConnHandler that hands out the connections it sees.
type recorder struct {
	DefaultHandler
	opened chan *Conn
	closed chan *Conn
}

func newRecorder() *recorder {
	return &recorder{opened: make(chan *Conn, 100), closed: make(chan *Conn, 100)}
}

func (r *recorder) HandleOpen(c *Conn)           { r.opened <- c }
func (r *recorder) HandleClose(c *Conn, _ error) { r.closed <- c }

func TestIdleTimeoutOverride(t *testing.T) {
	clock := fakeClock()
	rec := newRecorder()
	s, addr := startServer(t, Config{Clock: clock, Handler: rec, Loops: 1})
	a, b := dial(t, addr), dial(t, addr)
	for _, c := range []*client{a, b} {
		c.send(options("o", 1))
		c.mustRead()
	}
	ca, cb := <-rec.opened, <-rec.opened
	if ca.RemoteAddr().String() != a.nc.LocalAddr().String() {
		ca, cb = cb, ca
	}
	done := make(chan struct{})
	if err := ca.Execute(func() { ca.SetIdleTimeout(time.Minute); close(done) }); err != nil {
		t.Fatal(err)
	}
	<-done
	if ca.IdleTimeout() != time.Minute || cb.IdleTimeout() != DefaultIdleTimeoutIn {
		t.Fatalf("idle timeouts %v, %v", ca.IdleTimeout(), cb.IdleTimeout())
	}
	clock.Add(time.Minute)
	s.advance()
	a.expectClosed()
	if got := <-rec.closed; got != ca {
		t.Fatalf("closed %d, want %d", got.ID(), ca.ID())
	}
	b.send(options("o", 2))
	if resp := b.mustRead(); statusOf(resp) != 200 {
		t.Fatalf("b: %q", resp)
	}
}

func TestIdleTimeoutOutgoing(t *testing.T) {
	clock := fakeClock()
	peer := newPeer(t)
	cm, err := NewClientManager(Config{Clock: clock, Logger: testLogger(t), IdleTimeoutOut: 5 * time.Minute, Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := cm.Start(); err != nil {
		t.Fatal(err)
	}
	defer cm.Close()
	c, err := cm.Dial(context.Background(), "tcp", peer.addr())
	if err != nil {
		t.Fatal(err)
	}
	pc := peer.accept()
	if c.Direction() != Outgoing || c.IdleTimeout() != 5*time.Minute {
		t.Fatalf("direction %v idle %v", c.Direction(), c.IdleTimeout())
	}
	clock.Add(5*time.Minute - time.Millisecond)
	cm.advance()
	if _, out := connCount(&cm.Manager); out != 1 {
		t.Fatal("closed early")
	}
	clock.Add(time.Millisecond)
	cm.advance()
	pc.expectClosed()
	if !c.Closed() {
		t.Fatal("Conn not marked closed")
	}
	if st := cm.Stats(); st.IdleTimeouts != 1 || st.Dialed != 1 || st.ConnsOut != 0 {
		t.Errorf("stats %+v", st)
	}
}

// peer is a plain TCP listener standing for a remote SIP server.
type peer struct {
	t  *testing.T
	ln net.Listener
}

func newPeer(t *testing.T) *peer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &peer{t: t, ln: ln}
}

func (p *peer) addr() string { return p.ln.Addr().String() }

func (p *peer) accept() *client {
	p.t.Helper()
	p.ln.(*net.TCPListener).SetDeadline(time.Now().Add(ioTimeout))
	nc, err := p.ln.Accept()
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { nc.Close() })
	return &client{t: p.t, nc: nc, r: newReader(nc)}
}
