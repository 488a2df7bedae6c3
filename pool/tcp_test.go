package pool

import (
	"context"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const msgSize = 16

// countServer is a loopback TCP server counting the bytes each accepted
// connection delivers.
type countServer struct {
	ln     net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	cond   *sync.Cond
	conns  []net.Conn
	counts []int
	total  int
}

func newCountServer(t *testing.T) *countServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &countServer{ln: ln}
	s.cond = sync.NewCond(&s.mu)
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.close)
	return s
}

func (s *countServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		i := len(s.conns)
		s.conns = append(s.conns, c)
		s.counts = append(s.counts, 0)
		s.mu.Unlock()
		s.wg.Add(1)
		go s.read(i, c)
	}
}

func (s *countServer) read(i int, c net.Conn) {
	defer s.wg.Done()
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		s.mu.Lock()
		s.counts[i] += n
		s.total += n
		s.cond.Broadcast()
		s.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// wait blocks until the server received total bytes (the test's own
// deadline bounds it) and returns the byte counts per connection.
func (s *countServer) wait(total int) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.total < total {
		s.cond.Wait()
	}
	return append([]int(nil), s.counts...)
}

// kill closes every connection the server accepted so far.
func (s *countServer) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

func (s *countServer) close() {
	s.ln.Close()
	s.kill()
	s.wg.Wait()
}

// tcpConn is a Conn over a net.Conn; a reader goroutine marks it broken
// when the peer closes.
type tcpConn struct {
	id       uint64
	nc       net.Conn
	broken   atomic.Bool
	msgs     atomic.Uint64
	bytes    atomic.Uint64
	inflight atomic.Int64
	done     chan struct{}
}

func (c *tcpConn) ID() uint64   { return c.id }
func (c *tcpConn) Broken() bool { return c.broken.Load() }
func (c *tcpConn) Close() error {
	c.broken.Store(true)
	return c.nc.Close()
}

func (c *tcpConn) Stats() Stats {
	return Stats{InFlight: c.inflight.Load(), MessagesOut: c.msgs.Load(), BytesOut: c.bytes.Load()}
}

func (c *tcpConn) send(b []byte) error {
	c.inflight.Add(1)
	defer c.inflight.Add(-1)
	if _, err := c.nc.Write(b); err != nil {
		c.broken.Store(true)
		return err
	}
	c.msgs.Add(1)
	c.bytes.Add(uint64(len(b)))
	return nil
}

// tcpDialer dials with a net.Dialer and tracks its reader goroutines.
type tcpDialer struct {
	wg    sync.WaitGroup
	next  atomic.Uint64
	mu    sync.Mutex
	conns []*tcpConn
}

func (d *tcpDialer) Dial(ctx context.Context, k Key) (Conn, error) {
	var nd net.Dialer
	nc, err := nd.DialContext(ctx, "tcp", net.JoinHostPort(k.Host, strconv.Itoa(int(k.Port))))
	if err != nil {
		return nil, err
	}
	c := &tcpConn{id: d.next.Add(1), nc: nc, done: make(chan struct{})}
	d.mu.Lock()
	d.conns = append(d.conns, c)
	d.mu.Unlock()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer close(c.done)
		io.Copy(io.Discard, nc)
		c.broken.Store(true)
	}()
	return c, nil
}

func (d *tcpDialer) all() []*tcpConn {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*tcpConn(nil), d.conns...)
}

// blast sends perSender messages from each of senders goroutines.
func blast(t *testing.T, h *Handle, senders, perSender int) {
	t.Helper()
	var wg sync.WaitGroup
	msg := make([]byte, msgSize)
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perSender; i++ {
				c, err := h.Get(context.Background(), uint32(g))
				if err != nil {
					t.Error(err)
					return
				}
				if err := c.(*tcpConn).send(msg); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// warm sends one message on each of n new connections, serially.
func warm(t *testing.T, h *Handle, n int) {
	t.Helper()
	msg := make([]byte, msgSize)
	for i := 0; i < n; i++ {
		c, err := h.Get(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.(*tcpConn).send(msg); err != nil {
			t.Fatal(err)
		}
	}
}

// checkSpread fails unless every count is within ±10 % of their mean.
func checkSpread(t *testing.T, counts []int) {
	t.Helper()
	sum := 0
	for _, n := range counts {
		sum += n
	}
	mean := float64(sum) / float64(len(counts))
	for i, n := range counts {
		if d := float64(n) - mean; d > mean/10 || d < -mean/10 {
			t.Errorf("conn %d got %d bytes, mean %.0f: spread over 10%% (%v)", i, n, mean, counts)
		}
	}
}

func TestTCPLoopback(t *testing.T) {
	srv := newCountServer(t)
	d := &tcpDialer{}
	m, err := NewManager(Config{DefaultSize: 3, OpenTimeout: 5 * time.Second}, d)
	if err != nil {
		t.Fatal(err)
	}
	defer d.wg.Wait()
	defer m.Close()
	port := srv.ln.Addr().(*net.TCPAddr).Port
	h, err := m.Acquire(Key{Host: "127.0.0.1", Port: uint16(port), Transport: TCP})
	if err != nil {
		t.Fatal(err)
	}
	const senders, per = 50, 1000
	const round = senders * per * msgSize

	// Warm up: the pool grows to its size with one message per new
	// connection. (Measured from a cold start, the spread also depends on
	// how long the dials take: while a slot dials, its turns go to the
	// connections already up.)
	warm(t, h, 3)
	blast(t, h, senders, per)
	counts := srv.wait(round + 3*msgSize)
	if len(counts) != 3 {
		t.Fatalf("server saw %d connections with pool size 3, want 3", len(counts))
	}
	checkSpread(t, counts)

	if err := h.Pool().SetSize(5); err != nil {
		t.Fatal(err)
	}
	warm(t, h, 2)
	blast(t, h, senders, per)
	after := srv.wait(2*round + 5*msgSize)
	if len(after) != 5 {
		t.Fatalf("server saw %d connections after resize to 5, want 5", len(after))
	}
	if st := states(h.Pool()); st[StateActive] != 5 {
		t.Fatalf("pool states after resize: %v", st)
	}
	delta := make([]int, 5)
	for i := range after {
		delta[i] = after[i]
		if i < len(counts) {
			delta[i] -= counts[i]
		}
	}
	checkSpread(t, delta)
	t.Logf("bytes per connection: size 3 %v, after resize to 5 %v", counts, delta)

	// The server drops every connection: the pool notices they broke and
	// redials on demand; the next messages arrive on 5 fresh connections.
	srv.kill()
	for _, c := range d.all() {
		<-c.done
	}
	blast(t, h, senders, 20)
	final := srv.wait(2*round + 5*msgSize + senders*20*msgSize)
	if len(final) != 10 {
		t.Fatalf("server saw %d connections after the kill, want 10", len(final))
	}
	for i := 5; i < 10; i++ {
		if final[i] == 0 {
			t.Errorf("fresh connection %d carried nothing: %v", i, final)
		}
	}
}
