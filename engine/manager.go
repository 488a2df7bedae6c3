package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/pool"
	"github.com/sipcm/sipcm/tlsbridge"
)

type state uint8

const (
	stateNew state = iota
	stateRunning
	stateDraining // Shutdown in progress: no new connections
	stateClosed
)

// Manager is the core shared by every manager kind: the event loops, the
// connections on them, their timeouts, outbound dialing, the dispatcher of
// its endpoints and the pools they send through, enumeration and counters.
// It is used through [ClientManager], [TCPServer] or [TLSServer], which
// embed it. All its methods may be called from any goroutine, but the
// blocking ones (Dial, DialTLS, ConnFor, Close, Shutdown) must not be
// called from an event loop.
type Manager struct {
	cfg    Config // with defaults applied
	log    *slog.Logger
	clock  Clock
	h      Handler
	ch     ConnHandler // h, when it implements ConnHandler
	toTag  []byte      // To tag of the responses the engine sends itself
	client bool        // a client manager

	disp  *dispatch.Dispatcher
	pools *pool.Manager
	epoch time.Time // wall time at clock 0, for the pools' time.Time
	ctx   context.Context
	stop  context.CancelFunc // cancels ctx: Close

	hmu  sync.RWMutex
	hm   map[handleKey]*pool.Handle
	byEP map[*dispatch.Endpoint][]handleKey

	sweepMu        sync.Mutex
	lastPoolSweep  time.Duration
	poolSweepEvery time.Duration

	mu        sync.Mutex
	state     state
	cli       *gnet.Client
	listeners map[*Listener]struct{}
	wg        sync.WaitGroup // acceptors and dials in flight
	stopped   chan struct{}  // closed when Close has finished

	loopsMu sync.RWMutex
	loops   []*loop

	ids    atomic.Uint64
	shared sharedStats

	limitMu sync.Mutex
	connsIn int
	perIP   map[netip.Addr]int

	tls tlsSide // TLS: see tls.go
}

// init prepares a zero Manager for cfg; client is true for a client
// manager.
func (m *Manager) init(cfg Config, client bool) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	m.cfg = cfg
	m.log = cfg.Logger
	m.clock = cfg.Clock
	m.client = client
	if err := m.initLayers(); err != nil {
		return err
	}
	if err := m.initTLS(); err != nil {
		m.closeLayers()
		return err
	}
	m.h = cfg.Handler
	if m.h == nil {
		m.h = dispatchHandler{m.disp}
	}
	m.ch, _ = m.h.(ConnHandler)
	m.listeners = make(map[*Listener]struct{})
	m.stopped = make(chan struct{})
	m.perIP = make(map[netip.Addr]int)
	var tag [8]byte
	_, _ = rand.Read(tag[:])
	m.toTag = hex.AppendEncode([]byte("sipcm"), tag[:])
	return nil
}

// Start starts the event loops and the ticker of the timeouts. Any
// goroutine.
func (m *Manager) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch m.state {
	case stateRunning, stateDraining:
		return ErrStarted
	case stateClosed:
		return ErrClosed
	}
	opts := []gnet.Option{
		gnet.WithLogger(gnetLogger{m.log}),
		gnet.WithTicker(true),
		gnet.WithLockOSThread(m.cfg.LockOSThread),
		gnet.WithReadBufferCap(m.cfg.ReadBufferCap),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
	}
	if m.cfg.Loops > 0 {
		opts = append(opts, gnet.WithNumEventLoop(m.cfg.Loops))
	} else {
		opts = append(opts, gnet.WithMulticore(true))
	}
	cli, err := gnet.NewClient(&events{m: m}, opts...)
	if err != nil {
		return err
	}
	if err := cli.Start(); err != nil {
		return err
	}
	m.cli = cli
	m.state = stateRunning
	return nil
}

// enter registers a dial or an acceptor with m.wg; it fails unless m is
// running.
func (m *Manager) enter() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch m.state {
	case stateNew:
		return ErrNotStarted
	case stateRunning:
		m.wg.Add(1)
		return nil
	}
	return ErrClosed
}

// Close closes the listeners and every connection at once and stops the
// event loops; bytes in outbound buffers are flushed as far as the sockets
// take them without blocking. It waits for every goroutine the manager
// started. Any goroutine but an event loop.
func (m *Manager) Close() error {
	m.mu.Lock()
	switch m.state {
	case stateNew:
		m.state = stateClosed
		m.stop()
		m.closeLayers()
		close(m.stopped)
		m.mu.Unlock()
		return nil
	case stateClosed:
		m.mu.Unlock()
		<-m.stopped
		return nil
	}
	m.state = stateClosed
	lns := m.takeListeners()
	m.mu.Unlock()

	m.stop() // cancels the dials and TLS handshakes in flight
	m.closeTLS()
	for _, ln := range lns {
		ln.stop()
	}
	m.wg.Wait()
	m.waitTLS() // before the loops stop: handshakes report to them
	err := m.cli.Stop()
	m.closeLayers()
	close(m.stopped)
	return err
}

// Shutdown stops the listeners, then closes each connection once its
// outbound buffer has drained, and finally closes the manager as Close
// does. If ctx ends first, the remaining connections are closed at once and
// ctx's error is returned. Any goroutine but an event loop.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	if m.state != stateRunning {
		m.mu.Unlock()
		return m.Close()
	}
	m.state = stateDraining
	lns := m.takeListeners()
	m.mu.Unlock()
	for _, ln := range lns {
		ln.stop()
	}
	m.wg.Wait()

	t := time.NewTicker(m.cfg.ShutdownPoll)
	defer t.Stop()
	for m.drain() > 0 {
		select {
		case <-ctx.Done():
			_ = m.Close()
			return ctx.Err()
		case <-t.C:
		}
	}
	return m.Close()
}

// drain runs loop.drain on every loop and returns the connections left.
func (m *Manager) drain() int {
	total := 0
	for _, l := range m.loopList() {
		n := -1
		done := make(chan struct{})
		err := l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			n = l.drain()
			close(done)
			return nil
		}))
		if err != nil || !m.wait(done) {
			continue
		}
		total += n
	}
	return total
}

// takeListeners empties the listener set. m.mu must be held.
func (m *Manager) takeListeners() []*Listener {
	lns := make([]*Listener, 0, len(m.listeners))
	for ln := range m.listeners {
		lns = append(lns, ln)
	}
	clear(m.listeners)
	return lns
}

// Dial opens an outgoing TCP connection to address ("host:port"; network
// is "tcp", "tcp4" or "tcp6") within Config.DialTimeout and ctx, and puts
// it on an event loop. The connection belongs to no pool: endpoints send
// through pools with [Manager.ConnFor]. Any goroutine but an event loop: it
// blocks.
func (m *Manager) Dial(ctx context.Context, network, address string) (*Conn, error) {
	return m.dial(ctx, network, address, nil)
}

// dial is Dial; pc, when not nil, makes the connection a pooled one, over
// TLS when its key's transport is TLS.
func (m *Manager) dial(ctx context.Context, network, address string, pc *poolConn) (*Conn, error) {
	var out *tlsbridge.Outbound
	if pc != nil && pc.key.Transport == pool.TLS {
		o := m.outbound(pc.key.Host)
		out = &o
	}
	return m.dialConn(ctx, network, address, pc, out)
}

// dialConn is dial; out, when not nil, makes it a TLS connection to out,
// returned once its handshake is done.
func (m *Manager) dialConn(ctx context.Context, network, address string, pc *poolConn, out *tlsbridge.Outbound) (*Conn, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.wg.Done()
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, &net.OpError{Op: "dial", Net: network, Err: net.UnknownNetworkError(network)}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(m.ctx, cancel)()
	d := net.Dialer{Timeout: m.cfg.DialTimeout, KeepAlive: m.cfg.TCPKeepAlive}
	nc, err := d.DialContext(ctx, network, address)
	if err != nil {
		m.shared.dialErrors.Add(1)
		return nil, err
	}
	c := m.newConn(Outgoing, nc.LocalAddr(), nc.RemoteAddr())
	if pc != nil {
		pc.c = c
		c.pc = pc
	}
	if out != nil {
		if err := m.setupTLS(c, nc.RemoteAddr(), out); err != nil {
			_ = nc.Close()
			m.shared.dialErrors.Add(1)
			return nil, err
		}
	}
	if err := m.enroll(nc.(*net.TCPConn), c); err != nil {
		m.shared.dialErrors.Add(1)
		return nil, err
	}
	if c.tls != nil {
		if err := m.awaitHandshake(ctx, c); err != nil {
			m.shared.dialErrors.Add(1)
			return nil, err
		}
	}
	return c, nil
}

// DialAsync is Dial on a goroutine of its own; done (not nil) gets the
// result on that goroutine and must not call Close or Shutdown. It fails at
// once, without calling done, when the manager is not running. Any
// goroutine, event loops included.
func (m *Manager) DialAsync(ctx context.Context, network, address string, done func(*Conn, error)) error {
	if done == nil {
		panic("engine: DialAsync with nil done")
	}
	return m.dialAsync(ctx, network, address, nil, done)
}

func (m *Manager) dialAsync(ctx context.Context, network, address string, pc *poolConn, done func(*Conn, error)) error {
	if err := m.enter(); err != nil {
		return err
	}
	go func() {
		defer m.wg.Done()
		c, err := m.dial(ctx, network, address, pc)
		done(c, err)
	}()
	return nil
}

// enroll hands nc (which it closes) to a loop as c.
func (m *Manager) enroll(nc *net.TCPConn, c *Conn) error {
	// gnet returns the Zone string of a connection's addresses to its
	// byte-slice pool when the connection closes, as if it had made it;
	// a Zone made by package net must not go there. LocalAddr and
	// RemoteAddr return the net.Conn's own address values, which nothing
	// else uses once nc is closed below.
	if a, ok := nc.LocalAddr().(*net.TCPAddr); ok {
		a.Zone = ""
	}
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		a.Zone = ""
	}
	if _, err := m.cli.EnrollContext(nc, c); err != nil {
		return err
	}
	if !c.opened.Load() {
		return ErrClosed
	}
	return nil
}

// loopOf returns the state of the loop el, making it on first use.
// Loop only (el's).
func (m *Manager) loopOf(el gnet.EventLoop) *loop {
	m.loopsMu.RLock()
	for _, l := range m.loops {
		if l.el == el {
			m.loopsMu.RUnlock()
			return l
		}
	}
	m.loopsMu.RUnlock()
	l := newLoop(m, el)
	m.loopsMu.Lock()
	m.loops = append(m.loops, l)
	m.loopsMu.Unlock()
	return l
}

func (m *Manager) loopList() []*loop {
	m.loopsMu.RLock()
	defer m.loopsMu.RUnlock()
	return append([]*loop(nil), m.loops...)
}

// tick asks every loop to advance its wheel, and sweeps the dispatcher and
// the pools. It runs on gnet's ticker goroutine and touches no connection
// state.
func (m *Manager) tick() {
	for _, l := range m.loopList() {
		if !l.tickPending.Swap(true) {
			if err := l.el.Execute(context.Background(), l.tickFn); err != nil {
				l.tickPending.Store(false)
			}
		}
	}
	m.sweep()
}

// advance runs one tick on every loop now and waits for it, then sweeps
// the dispatcher and the pools: tests use it with a fake clock.
func (m *Manager) advance() {
	defer m.sweep()
	for _, l := range m.loopList() {
		done := make(chan struct{})
		err := l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			l.tick()
			close(done)
			return nil
		}))
		if err == nil {
			m.wait(done)
		}
	}
}

// wait waits for done, or for the manager to stop (a loop that exits drops
// the tasks still queued), and reports whether done was closed.
func (m *Manager) wait(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	case <-m.stopped:
		return false
	}
}

// Conns appends a snapshot of the open connections to dst and returns it.
// Any goroutine.
func (m *Manager) Conns(dst []ConnInfo) []ConnInfo {
	var cs []*Conn
	for _, l := range m.loopList() {
		cs = l.appendConns(cs)
	}
	for _, c := range cs {
		dst = append(dst, c.Info())
	}
	return dst
}

// Stats returns a snapshot of the counters. Any goroutine.
func (m *Manager) Stats() Stats {
	var s Stats
	for _, l := range m.loopList() {
		l.stats.addTo(&s)
	}
	m.shared.addTo(&s)
	return s
}

// admit applies MaxConns and MaxConnsPerIP to a new incoming connection
// from ip and counts it in when it is allowed.
func (m *Manager) admit(ip netip.Addr) bool {
	if m.cfg.MaxConns == 0 && m.cfg.MaxConnsPerIP == 0 {
		return true
	}
	m.limitMu.Lock()
	defer m.limitMu.Unlock()
	if m.cfg.MaxConns > 0 && m.connsIn >= m.cfg.MaxConns {
		m.shared.refused.Add(1)
		return false
	}
	if m.cfg.MaxConnsPerIP > 0 && m.perIP[ip] >= m.cfg.MaxConnsPerIP {
		m.shared.refusedPerIP.Add(1)
		return false
	}
	m.connsIn++
	m.perIP[ip]++
	return true
}

// release undoes admit.
func (m *Manager) release(ip netip.Addr) {
	if m.cfg.MaxConns == 0 && m.cfg.MaxConnsPerIP == 0 {
		return
	}
	m.limitMu.Lock()
	m.connsIn--
	if n := m.perIP[ip] - 1; n > 0 {
		m.perIP[ip] = n
	} else {
		delete(m.perIP, ip)
	}
	m.limitMu.Unlock()
}
