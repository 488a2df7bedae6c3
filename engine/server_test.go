package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func TestOptions(t *testing.T) {
	s, addr := startServer(t, Config{Handler: DefaultHandler{}})
	c := dial(t, addr)
	c.send(options("b1", 1))
	resp := c.mustRead()
	if statusOf(resp) != 200 {
		t.Fatalf("response %q", resp)
	}
	via := header(resp, "Via")
	if !strings.Contains(via, "received=127.0.0.1") || !strings.Contains(via, "rport=") {
		t.Errorf("Via without received/rport: %q", via)
	}
	if !strings.Contains(header(resp, "To"), ";tag=") {
		t.Errorf("To without tag: %q", header(resp, "To"))
	}
	st := s.Stats()
	if st.MessagesIn != 1 || st.MessagesOut != 1 || st.Accepted != 1 || st.ConnsIn != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestPipelined(t *testing.T) {
	_, addr := startServer(t, Config{Handler: DefaultHandler{}})
	c := dial(t, addr)
	const n = 200
	var b strings.Builder
	for i := range n {
		b.WriteString(options(fmt.Sprint("p", i), i+1))
	}
	c.send(b.String())
	for i := range n {
		resp := c.mustRead()
		if statusOf(resp) != 200 || header(resp, "CSeq") != fmt.Sprint(i+1, " OPTIONS") {
			t.Fatalf("response %d: %q", i, resp)
		}
	}
}

// TestSplitEveryByte sends a request in two writes split at every byte,
// pipelined behind a whole one, so the framer sees partial messages.
func TestSplitEveryByte(t *testing.T) {
	_, addr := startServer(t, Config{Handler: DefaultHandler{}})
	c := dial(t, addr)
	msg := options("split", 7)
	for i := 1; i < len(msg); i++ {
		c.send(options("whole", 1) + msg[:i])
		c.send(msg[i:])
		for _, want := range []string{"1 OPTIONS", "7 OPTIONS"} {
			resp := c.mustRead()
			if statusOf(resp) != 200 || header(resp, "CSeq") != want {
				t.Fatalf("split at %d: %q", i, resp)
			}
		}
	}
}

func TestKeepAlive(t *testing.T) {
	s, addr := startServer(t, Config{Handler: DefaultHandler{}})
	c := dial(t, addr)
	c.send("\r\n\r\n")
	pong := make([]byte, 2)
	if _, err := c.r.Read(pong); err != nil || string(pong) != "\r\n" {
		t.Fatalf("pong %q, %v", pong, err)
	}
	// A lone CRLF (a pong from the peer) is skipped; the stream goes on.
	c.send("\r\n" + options("ka", 1))
	if resp := c.mustRead(); statusOf(resp) != 200 {
		t.Fatalf("response %q", resp)
	}
	if st := s.Stats(); st.Pings != 1 || st.MessagesIn != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestMalformed(t *testing.T) {
	bad := strings.Replace(options("bad", 1), "CSeq: 1 OPTIONS", "CSeq: x OPTIONS", 1)
	badVersion := strings.Replace(options("v", 1), "SIP/2.0\r\nVia", "SIP/3.0\r\nVia", 1)
	noVia := "OPTIONS sip:a@b SIP/2.0\r\nCSeq: x\r\nContent-Length: 0\r\n\r\n"
	badResponse := "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKx\r\nCSeq: x\r\nContent-Length: 0\r\n\r\n"
	tests := []struct {
		name   string
		in     string
		status int // 0: dropped without an answer
	}{
		{"bad CSeq", bad, 400},
		{"bad version", badVersion, 505},
		{"no Via", noVia, 0},
		{"bad response", badResponse, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, addr := startServer(t, Config{Handler: DefaultHandler{}})
			c := dial(t, addr)
			// The follow-up request shows the stream survived.
			c.send(tt.in + options("next", 2))
			if tt.status != 0 {
				if resp := c.mustRead(); statusOf(resp) != tt.status {
					t.Fatalf("response %q, want %d", resp, tt.status)
				}
			}
			if resp := c.mustRead(); statusOf(resp) != 200 || header(resp, "CSeq") != "2 OPTIONS" {
				t.Fatalf("follow-up response %q", resp)
			}
			st := s.Stats()
			if tt.status != 0 && st.BadRequests != 1 || tt.status == 0 && st.BadMessages != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestFramingLost(t *testing.T) {
	tests := []struct{ name, in string }{
		{"not SIP", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"no Content-Length", strings.Replace(options("x", 1), "Content-Length: 0\r\n", "", 1)},
		{"header too large", "OPTIONS sip:a@b SIP/2.0\r\nX: " + strings.Repeat("a", 20<<10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, addr := startServer(t, Config{Handler: DefaultHandler{}})
			c := dial(t, addr)
			c.send(tt.in)
			c.expectClosed()
			if st := s.Stats(); st.FramingErrors != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestOversize(t *testing.T) {
	s, addr := startServer(t, Config{Handler: DefaultHandler{}})
	c := dial(t, addr)
	body := strings.Repeat("x", 100<<10)
	big := strings.Replace(options("big", 1), "Content-Length: 0", fmt.Sprint("Content-Length: ", len(body)), 1) + body
	c.send(big + options("after", 2))
	if resp := c.mustRead(); statusOf(resp) != 513 {
		t.Fatalf("response %q", resp)
	}
	if resp := c.mustRead(); statusOf(resp) != 200 {
		t.Fatalf("follow-up response %q", resp)
	}
	if st := s.Stats(); st.Oversize != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestManyConns(t *testing.T) {
	s, addr := startServer(t, Config{Handler: DefaultHandler{}})
	const conns, reqs = 50, 20
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	// Snapshots run while the loops work (for -race).
	stop := make(chan struct{})
	snapshots := make(chan int)
	go func() {
		n := 0
		defer func() { snapshots <- n }()
		var buf []ConnInfo
		for {
			select {
			case <-stop:
				return
			default:
			}
			buf = s.Conns(buf[:0])
			_ = s.Stats()
			n++
		}
	}()
	for i := range conns {
		wg.Go(func() {
			nc, err := net.DialTimeout("tcp", addr, ioTimeout)
			if err != nil {
				errs <- err
				return
			}
			defer nc.Close()
			c := &client{t: t, nc: nc, r: newReader(nc)}
			for j := range reqs {
				if _, err := nc.Write([]byte(options(fmt.Sprint("m", i, "x", j), j+1))); err != nil {
					errs <- err
					return
				}
				resp, err := c.readMessage()
				if err != nil || statusOf(resp) != 200 {
					errs <- fmt.Errorf("conn %d req %d: %q %v", i, j, resp, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	if <-snapshots == 0 {
		t.Error("no snapshot taken")
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := s.Stats(); st.MessagesIn != conns*reqs || st.Accepted != conns {
		t.Errorf("stats %+v", st)
	}
}

func TestListenersAtRuntime(t *testing.T) {
	s, addr1 := startServer(t, Config{Handler: DefaultHandler{}})
	addrs := []string{addr1}
	ln2, err := s.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addrs = append(addrs, ln2.Addr().String())
	if ln6, err := s.Listen(context.Background(), "tcp6", "[::1]:0"); err == nil {
		if !ln6.Addr().Addr().Is6() || ln6.Addr().Port() == 0 {
			t.Errorf("IPv6 listener address %v", ln6.Addr())
		}
		addrs = append(addrs, ln6.Addr().String())
	} else {
		t.Logf("no IPv6 loopback: %v", err)
	}
	if got := len(s.Listeners()); got != len(addrs) {
		t.Fatalf("%d listeners, want %d", got, len(addrs))
	}
	var kept *client
	for i, a := range addrs {
		c := dial(t, a)
		c.send(options(fmt.Sprint("l", i), 1))
		if resp := c.mustRead(); statusOf(resp) != 200 {
			t.Fatalf("%s: %q", a, resp)
		}
		if i == 1 {
			kept = c
		}
	}
	// Stop the second listener: new connections are refused, the
	// established one keeps working.
	if err := ln2.Close(); err != nil {
		t.Fatal(err)
	}
	if nc, err := net.DialTimeout("tcp", addrs[1], ioTimeout); err == nil {
		nc.Close()
		t.Fatal("dial to a closed listener succeeded")
	}
	kept.send(options("kept", 2))
	if resp := kept.mustRead(); statusOf(resp) != 200 {
		t.Fatalf("kept connection: %q", resp)
	}
	if got := len(s.Listeners()); got != len(addrs)-1 {
		t.Fatalf("%d listeners after Close, want %d", got, len(addrs)-1)
	}
}

func TestListenErrors(t *testing.T) {
	s, err := NewTCPServer(Config{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Listen(context.Background(), "tcp", "127.0.0.1:0"); !errors.Is(err, ErrNotStarted) {
		t.Errorf("Listen before Start: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); !errors.Is(err, ErrStarted) {
		t.Errorf("second Start: %v", err)
	}
	if _, err := s.Listen(context.Background(), "udp", "127.0.0.1:0"); err == nil {
		t.Error("Listen udp succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Listen(context.Background(), "tcp", "127.0.0.1:0"); !errors.Is(err, ErrClosed) {
		t.Errorf("Listen after Close: %v", err)
	}
	if err := s.Start(); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close: %v", err)
	}
}

func TestDefaultHandler(t *testing.T) {
	_, addr := startServer(t, Config{Handler: DefaultHandler{}})
	c := dial(t, addr)
	invite := strings.NewReplacer("OPTIONS", "INVITE").Replace(options("inv", 1))
	ack := strings.NewReplacer("OPTIONS", "ACK").Replace(options("inv", 1))
	response := "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bKr\r\nFrom: <sip:a@b>;tag=1\r\n" +
		"To: <sip:b@c>;tag=2\r\nCall-ID: r\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	// ACK and the response get nothing; the OPTIONS after them gets 200.
	c.send(invite + ack + response + options("after", 2))
	if resp := c.mustRead(); statusOf(resp) != 501 || header(resp, "CSeq") != "1 INVITE" {
		t.Fatalf("INVITE: %q", resp)
	}
	if resp := c.mustRead(); statusOf(resp) != 200 || header(resp, "CSeq") != "2 OPTIONS" {
		t.Fatalf("OPTIONS: %q", resp)
	}
}

func TestConnAfterClose(t *testing.T) {
	rec := newRecorder()
	_, addr := startServer(t, Config{Handler: rec})
	cl := dial(t, addr)
	c := <-rec.opened
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	cl.expectClosed()
	<-rec.closed
	if !c.Closed() {
		t.Fatal("Closed() = false")
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := c.Send([]byte("x"), nil); !errors.Is(err, ErrConnClosed) {
		t.Fatalf("Send after close: %v", err)
	}
	if err := c.Execute(func() {}); !errors.Is(err, ErrConnClosed) {
		t.Fatalf("Execute after close: %v", err)
	}
}
