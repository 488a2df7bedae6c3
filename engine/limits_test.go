package engine

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestConnLimits(t *testing.T) {
	tests := []struct {
		name               string
		max, perIP         int
		refused, refusedIP uint64
	}{
		{"total", 2, 0, 1, 0},
		{"per IP", 0, 2, 0, 1},
		{"both, per IP first", 5, 2, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			s, addr := startServer(t, Config{MaxConns: tt.max, MaxConnsPerIP: tt.perIP, Handler: rec})
			cs := openConns(t, s, addr, 2)
			// The third is accepted by the kernel, then closed by the
			// acceptor without reaching a loop.
			// (With the RST of SO_LINGER 0 the dial itself may fail.)
			if nc, err := net.DialTimeout("tcp", addr, ioTimeout); err == nil {
				defer nc.Close()
				(&client{t: t, nc: nc, r: newReader(nc)}).expectClosed()
			}
			st := s.Stats()
			if st.Refused != tt.refused || st.RefusedPerIP != tt.refusedIP || st.Accepted != 2 || st.ConnsIn != 2 {
				t.Fatalf("stats %+v", st)
			}
			// Closing one frees its place.
			<-rec.opened
			cs[0].nc.Close()
			<-rec.closed
			openConns(t, s, addr, 1)
			if st := s.Stats(); st.Accepted != 3 {
				t.Fatalf("stats after a close %+v", st)
			}
		})
	}
}

func TestBackpressure(t *testing.T) {
	peer := newPeer(t)
	const hwm = 64 << 10
	cm, err := NewClientManager(Config{Logger: testLogger(t), WriteHighWater: hwm, Loops: 1})
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
	peer.accept() // and never read
	chunk := make([]byte, 64<<10)
	var sent int
	result := make(chan error, 1)
	// The kernel buffers a few MB on loopback; 1 GB bounds the loop.
	for sent < 1<<30 {
		if err := c.Send(chunk, func(err error) { result <- err }); err != nil {
			t.Fatal(err)
		}
		if err := <-result; err != nil {
			if !errors.Is(err, ErrBackpressure) {
				t.Fatalf("send error %v, want ErrBackpressure", err)
			}
			break
		}
		sent += len(chunk)
	}
	if sent >= 1<<30 {
		t.Fatal("no backpressure")
	}
	if st := cm.Stats(); st.Backpressure != 1 || st.BytesOut != uint64(sent) {
		t.Errorf("stats %+v, sent %d", st, sent)
	}
	t.Logf("backpressure after %d bytes", sent)
}

func TestEnumeration(t *testing.T) {
	clock := fakeClock()
	s, addr := startServer(t, Config{Clock: clock})
	c := dial(t, addr)
	c.send(options("e", 1) + options("e", 2))
	c.mustRead()
	c.mustRead()
	clock.Add(3 * time.Second)

	peer := newPeer(t)
	out, err := s.Dial(context.Background(), "tcp", peer.addr())
	if err != nil {
		t.Fatal(err)
	}
	peer.accept()

	infos := s.Conns(nil)
	if len(infos) != 2 {
		t.Fatalf("%d connections, want 2", len(infos))
	}
	for _, ci := range infos {
		switch ci.Direction {
		case Incoming:
			want := netip.MustParseAddrPort(c.nc.LocalAddr().String())
			if ci.Remote != want || ci.Local.String() != addr || ci.Transport != TCP {
				t.Errorf("incoming %+v", ci)
			}
			if ci.MessagesIn != 2 || ci.MessagesOut != 2 || ci.BytesIn != uint64(2*len(options("e", 1))) || ci.BytesOut == 0 {
				t.Errorf("incoming counters %+v", ci)
			}
			if ci.Age != 3*time.Second || ci.Idle != 3*time.Second || ci.IdleTimeout != DefaultIdleTimeoutIn {
				t.Errorf("incoming times %+v", ci)
			}
		case Outgoing:
			if ci.ID != out.ID() || ci.Remote.String() != peer.addr() || ci.Age != 0 {
				t.Errorf("outgoing %+v", ci)
			}
		}
	}
}

func TestShutdownGraceful(t *testing.T) {
	rec := newRecorder()
	s, addr := startServer(t, Config{Handler: rec})
	a, b := dial(t, addr), dial(t, addr)
	for _, c := range []*client{a, b} {
		c.send(options("s", 1))
		c.mustRead()
	}
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	a.expectClosed()
	b.expectClosed()
	if nc, err := net.DialTimeout("tcp", addr, ioTimeout); err == nil {
		nc.Close()
		t.Fatal("still listening after Shutdown")
	}
	if _, err := s.Dial(context.Background(), "tcp", addr); !errors.Is(err, ErrClosed) {
		t.Fatalf("Dial after Shutdown: %v", err)
	}
	if len(rec.closed) != 2 {
		t.Fatalf("%d HandleClose calls, want 2", len(rec.closed))
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close after Shutdown: %v", err)
	}
}

// TestShutdownDeadline: a connection whose peer does not read keeps data
// in its outbound buffer; Shutdown gives up at the deadline and closes it.
func TestShutdownDeadline(t *testing.T) {
	peer := newPeer(t)
	cm, err := NewClientManager(Config{Logger: testLogger(t), Loops: 1, WriteHighWater: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if err := cm.Start(); err != nil {
		t.Fatal(err)
	}
	c, err := cm.Dial(context.Background(), "tcp", peer.addr())
	if err != nil {
		t.Fatal(err)
	}
	pc := peer.accept()
	// Fill the socket until gnet buffers.
	chunk := make([]byte, 1<<20)
	for range 256 {
		buffered := make(chan int, 1)
		c.Send(chunk, nil)
		c.Execute(func() { buffered <- c.gc.OutboundBuffered() })
		if <-buffered > 0 {
			break
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := cm.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v, want context.Canceled", err)
	}
	if !c.Closed() {
		t.Fatal("connection open after Shutdown")
	}
	pc.nc.Close()
}

func TestDialErrors(t *testing.T) {
	cm, err := NewClientManager(Config{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cm.Dial(context.Background(), "tcp", "127.0.0.1:1"); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("Dial before Start: %v", err)
	}
	if err := cm.Start(); err != nil {
		t.Fatal(err)
	}
	defer cm.Close()
	// A port nobody listens on.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	if _, err := cm.Dial(context.Background(), "tcp", dead); err == nil {
		t.Fatal("Dial to a closed port succeeded")
	}
	done := make(chan error, 1)
	if err := cm.DialAsync(context.Background(), "tcp", dead, func(c *Conn, err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("DialAsync to a closed port succeeded")
	}
	if st := cm.Stats(); st.DialErrors != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestClientRoundTrip(t *testing.T) {
	// A client manager sends OPTIONS to a server manager; the client's
	// handler gets the 200.
	_, addr := startServer(t, Config{Handler: DefaultHandler{}})
	got := make(chan int, 1)
	cm, err := NewClientManager(Config{Logger: testLogger(t), Handler: handlerFunc(func(c *Conn, m *messageView) {
		if !m.Request {
			got <- m.StatusCode
		}
	})})
	if err != nil {
		t.Fatal(err)
	}
	if err := cm.Start(); err != nil {
		t.Fatal(err)
	}
	defer cm.Close()
	c, err := cm.Dial(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send([]byte(options("rt", 1)), nil); err != nil {
		t.Fatal(err)
	}
	if code := <-got; code != 200 {
		t.Fatalf("status %d", code)
	}
}
