package tlsbridge

import (
	"context"
	"crypto/tls"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeLoop plays a gnet event loop: one goroutine running queued tasks in
// order. post never blocks and fails once the loop stopped.
type fakeLoop struct {
	mu      sync.Mutex
	cond    sync.Cond
	tasks   []func()
	stopped bool
	done    chan struct{}
}

func newLoop(tb testing.TB) *fakeLoop {
	l := &fakeLoop{done: make(chan struct{})}
	l.cond.L = &l.mu
	go l.run()
	tb.Cleanup(l.stop)
	return l
}

func (l *fakeLoop) run() {
	defer close(l.done)
	for {
		l.mu.Lock()
		for len(l.tasks) == 0 && !l.stopped {
			l.cond.Wait()
		}
		if len(l.tasks) == 0 {
			l.mu.Unlock()
			return
		}
		f := l.tasks[0]
		l.tasks = l.tasks[1:]
		l.mu.Unlock()
		f()
	}
}

func (l *fakeLoop) post(f func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return false
	}
	l.tasks = append(l.tasks, f)
	l.cond.Signal()
	return true
}

// do runs f on the loop and waits for it.
func (l *fakeLoop) do(f func()) {
	ch := make(chan struct{})
	if !l.post(func() { f(); close(ch) }) {
		panic("fakeLoop: stopped")
	}
	<-ch
}

func (l *fakeLoop) stop() {
	l.mu.Lock()
	l.stopped = true
	l.cond.Signal()
	l.mu.Unlock()
	<-l.done
}

// loopTransport is a Transport on a fakeLoop. sink receives a private
// copy of every write, on the loop.
type loopTransport struct {
	loop *fakeLoop
	mu   sync.Mutex
	sink func([]byte)
	// raw, when set (only while the loops are idle), takes Write's bytes
	// without a copy: for allocation counts and benchmarks.
	raw func([]byte)
}

func (t *loopTransport) setSink(f func([]byte)) {
	t.mu.Lock()
	t.sink = f
	t.mu.Unlock()
}

func (t *loopTransport) deliver(b []byte) {
	t.mu.Lock()
	f := t.sink
	t.mu.Unlock()
	f(b)
}

func (t *loopTransport) Write(p []byte) (int, error) {
	if t.raw != nil {
		t.raw(p)
		return len(p), nil
	}
	t.deliver(slices.Clone(p))
	return len(p), nil
}

func (t *loopTransport) AsyncWrite(p []byte) error {
	if !t.loop.post(func() { t.deliver(p) }) {
		return net.ErrClosed
	}
	return nil
}

// side is one end: a Conn on its own fake loop. Plaintext that arrives is
// copied to recv; Feed errors go to errs.
type side struct {
	loop *fakeLoop
	tr   *loopTransport
	c    *Conn
	recv chan []byte
	errs chan error
}

func newSide(tb testing.TB) *side {
	l := newLoop(tb)
	return &side{
		loop: l,
		tr:   &loopTransport{loop: l},
		recv: make(chan []byte, 64),
		errs: make(chan error, 16),
	}
}

func (s *side) accept(tb testing.TB, m *Manager) *side {
	tb.Helper()
	c, err := m.Accept(s.tr, nil)
	if err != nil {
		tb.Fatal(err)
	}
	s.c = c
	return s
}

func (s *side) connect(m *Manager, dst Outbound) *side {
	s.c = m.Connect(s.tr, nil, dst)
	return s
}

// feed runs on s.loop.
func (s *side) feed(b []byte) {
	s.drain(s.c.Feed(b))
}

func (s *side) drain(err error) {
	if buf := s.c.Buffered(); len(buf) > 0 {
		s.recv <- slices.Clone(buf)
		s.c.Discard(len(buf))
	}
	if err != nil {
		select {
		case s.errs <- err:
		default:
		}
	}
}

// activate runs Activate on the loop, like the engine after Handshake.
func (s *side) activate() error {
	var err error
	s.loop.do(func() {
		err = s.c.Activate()
		s.drain(nil)
	})
	return err
}

// write sends p on the loop.
func (s *side) write(p []byte) error {
	var err error
	s.loop.do(func() { _, err = s.c.Write(p) })
	return err
}

// link wires a's writes to b's Feed and back.
func link(a, b *side) {
	a.tr.setSink(func(p []byte) { b.loop.post(func() { b.feed(p) }) })
	b.tr.setSink(func(p []byte) { a.loop.post(func() { a.feed(p) }) })
}

// handshake runs both handshakes on goroutines of their own (as the
// engine does), then activates the sides that succeeded.
func handshake(ctx context.Context, a, b *side) (errA, errB error) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); errA = a.c.Handshake(ctx) }()
	go func() { defer wg.Done(); errB = b.c.Handshake(ctx) }()
	wg.Wait()
	if errA == nil {
		errA = a.activate()
	}
	if errB == nil {
		errB = b.activate()
	}
	return errA, errB
}

// recvN reads n plaintext bytes from s or fails after a generous bound.
func (s *side) recvN(tb testing.TB, n int) []byte {
	tb.Helper()
	var got []byte
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	for len(got) < n {
		select {
		case b := <-s.recv:
			got = append(got, b...)
		case err := <-s.errs:
			// drain sends data before the error: take what is queued.
			for len(got) < n && len(s.recv) > 0 {
				got = append(got, <-s.recv...)
			}
			if len(got) < n {
				tb.Fatalf("recv: %v", err)
			}
			s.errs <- err // leave it for waitErr
		case <-timer.C:
			tb.Fatalf("recv: got %d of %d bytes", len(got), n)
		}
	}
	return got
}

// waitErr waits for a Feed error on s.
func (s *side) waitErr(tb testing.TB) error {
	tb.Helper()
	select {
	case err := <-s.errs:
		return err
	case <-time.After(10 * time.Second):
		tb.Fatal("no error")
		return nil
	}
}

// memConn is a net.Conn for a plain crypto/tls peer: Read blocks on bytes
// pushed by our transport; Write hands a copy to onWrite.
type memConn struct {
	mu      sync.Mutex
	cond    sync.Cond
	buf     []byte
	closed  bool
	onWrite func([]byte)
}

func newMemConn(onWrite func([]byte)) *memConn {
	m := &memConn{onWrite: onWrite}
	m.cond.L = &m.mu
	return m
}

func (m *memConn) push(b []byte) {
	m.mu.Lock()
	m.buf = append(m.buf, b...)
	m.cond.Broadcast()
	m.mu.Unlock()
}

func (m *memConn) Read(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.buf) == 0 && !m.closed {
		m.cond.Wait()
	}
	if len(m.buf) == 0 {
		return 0, net.ErrClosed
	}
	n := copy(p, m.buf)
	m.buf = m.buf[n:]
	return n, nil
}

func (m *memConn) Write(p []byte) (int, error) {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return 0, net.ErrClosed
	}
	m.onWrite(slices.Clone(p))
	return len(p), nil
}

func (m *memConn) Close() error {
	m.mu.Lock()
	m.closed = true
	m.cond.Broadcast()
	m.mu.Unlock()
	return nil
}

func (m *memConn) LocalAddr() net.Addr              { return noAddr{} }
func (m *memConn) RemoteAddr() net.Addr             { return noAddr{} }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }

// stdPeer is a crypto/tls peer over a memConn linked to side s. Bytes the
// peer writes are fed to s, unless capture is on: then they collect in
// captured for the test to feed by hand.
type stdPeer struct {
	mc       *memConn
	tc       *tls.Conn
	mu       sync.Mutex
	capture  bool
	captured []byte
}

func newStdPeer(s *side, server bool, cfg *tls.Config) *stdPeer {
	p := &stdPeer{}
	p.mc = newMemConn(func(b []byte) {
		p.mu.Lock()
		if p.capture {
			p.captured = append(p.captured, b...)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		s.loop.post(func() { s.feed(b) })
	})
	s.tr.setSink(p.mc.push)
	if server {
		p.tc = tls.Server(p.mc, cfg)
	} else {
		p.tc = tls.Client(p.mc, cfg)
	}
	return p
}

// take returns and clears the captured bytes.
func (p *stdPeer) take() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.captured
	p.captured = nil
	return b
}

func (p *stdPeer) setCapture(on bool) {
	p.mu.Lock()
	p.capture = on
	p.mu.Unlock()
}

// handshakeStd runs our side's and the peer's handshakes.
func handshakeStd(ctx context.Context, s *side, p *stdPeer) (errS, errP error) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if errP = p.tc.HandshakeContext(ctx); errP != nil {
			s.loop.post(func() { s.c.Close() })
		}
	}()
	if errS = s.c.Handshake(ctx); errS != nil {
		p.mc.Close()
	}
	<-done
	if errS == nil {
		errS = s.activate()
	}
	return errS, errP
}
