package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"

	"github.com/sipcm/sipcm/tlsbridge"
)

// DefaultMaxHandshakes bounds the incoming TLS handshakes that run at once
// when TLSConfig.MaxHandshakes is zero.
const DefaultMaxHandshakes = 512

// ErrHandshake means a TLS connection cannot send yet: its handshake has
// not completed.
var ErrHandshake = errors.New("engine: TLS handshake not done")

// TLSConfig configures the TLS side of a manager: the listeners of a
// [TLSServer] and the outgoing TLS connections (dispatch.Dest Transport
// "TLS", [Manager.DialTLS]) of every manager kind. The zero value verifies
// the servers it connects to against the system roots and, on a server
// manager, has no certificate to present (a [TLSServer] needs one).
type TLSConfig struct {
	// Manager, when not nil, is the TLS manager used as is: certificate,
	// trust anchors, allow list, checks and counters. Config is then
	// ignored. A client manager needs a client tlsbridge.Manager
	// (tlsbridge.Config.Client), a TLSServer a server one.
	Manager *tlsbridge.Manager

	// Config makes the manager's own tlsbridge.Manager when Manager is
	// nil. A client manager sets Client: it verifies the servers and
	// presents no certificate. A nil Logger means the manager's Logger.
	Config tlsbridge.Config

	// MaxHandshakes bounds the incoming handshakes running at once, each
	// on a goroutine of its own; more connections wait in line for a
	// turn (their first-message timeout runs meanwhile). Outgoing
	// handshakes are not bounded: the pools bound them. Zero means
	// DefaultMaxHandshakes.
	MaxHandshakes int

	// ExpectedNames maps a destination host, as written in dispatch.Dest
	// Host (compared ignoring case and brackets), to another name its
	// server certificate may carry instead of the host: the pool
	// certificate of front ends behind a load balancer, which all present
	// one certificate naming the pool. See also Manager.SetExpectedName.
	ExpectedNames map[string]string
}

func (c *TLSConfig) validate() error {
	if c.MaxHandshakes < 0 {
		return configError("TLS.MaxHandshakes is negative")
	}
	if c.Manager == nil {
		if err := c.Config.Validate(); err != nil {
			return fmt.Errorf("%w: TLS: %w", ErrConfig, err)
		}
	}
	return nil
}

// tlsSide is a manager's TLS state: its tlsbridge.Manager, the handshake
// goroutines and the expected names of destinations.
type tlsSide struct {
	bm *tlsbridge.Manager

	mu      sync.Mutex
	max     int     // incoming handshakes at once
	running int     // incoming handshakes running
	queue   []*Conn // incoming connections waiting for a turn
	closed  bool    // the manager is closing: start nothing
	wg      sync.WaitGroup

	names sync.Map // normalized host -> expected name (string)
}

// initTLS makes m's tlsbridge.Manager from m.cfg.TLS. Called by init.
func (m *Manager) initTLS() error {
	tc := m.cfg.TLS
	m.tls.max = tc.MaxHandshakes
	if m.tls.max == 0 {
		m.tls.max = DefaultMaxHandshakes
	}
	for host, name := range tc.ExpectedNames {
		m.SetExpectedName(host, name)
	}
	if tc.Manager != nil {
		if tc.Manager.IsClient() != m.client {
			if m.client {
				return configError("TLS.Manager of a client manager must be a client tlsbridge.Manager")
			}
			return configError("TLS.Manager of a server manager cannot be a client tlsbridge.Manager")
		}
		m.tls.bm = tc.Manager
		return nil
	}
	bc := tc.Config
	if m.client {
		bc.Client = true
	}
	if bc.Logger == nil {
		bc.Logger = m.log
	}
	bm, err := tlsbridge.NewManager(bc)
	if err != nil {
		return fmt.Errorf("%w: TLS: %w", ErrConfig, err)
	}
	m.tls.bm = bm
	return nil
}

// TLS returns the manager's tlsbridge.Manager: its certificate (replace it
// with SetCertificate or ReloadCertificate; new handshakes use the new
// one), its allow list (AllowedDomains, SetAllowedDomains) and its
// counters (Stats: handshakes, refusals by reason). Any goroutine.
func (m *Manager) TLS() *tlsbridge.Manager { return m.tls.bm }

// SetExpectedName sets the name that the server certificate of the
// destination host may carry instead of host (the pool certificate; see
// TLSConfig.ExpectedNames); an empty name removes it. Connections made
// afterwards are checked with it. Any goroutine.
func (m *Manager) SetExpectedName(host, name string) {
	k := normHost(host)
	if name == "" {
		m.tls.names.Delete(k)
		return
	}
	m.tls.names.Store(k, name)
}

// ExpectedName returns the name set for host by SetExpectedName or
// TLSConfig.ExpectedNames, or "". Any goroutine.
func (m *Manager) ExpectedName(host string) string {
	if v, ok := m.tls.names.Load(normHost(host)); ok {
		return v.(string)
	}
	return ""
}

func normHost(h string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
}

// outbound returns the tlsbridge.Outbound of a connection to host.
func (m *Manager) outbound(host string) tlsbridge.Outbound {
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return tlsbridge.Outbound{Host: host, ExpectedName: m.ExpectedName(host)}
}

// DialTLS opens an outgoing TLS connection to address ("host:port";
// network is "tcp", "tcp4" or "tcp6"), runs the handshake with dst's
// checks (the server's identity must match dst.Host or dst.ExpectedName;
// a server manager presents its certificate when asked) and puts it on an
// event loop. It returns once the handshake is done, within
// Config.DialTimeout for the connect, the TLS handshake timeout and ctx.
// A failed handshake returns an error wrapping a *tlsbridge.Error. The
// connection belongs to no pool. Any goroutine but an event loop.
func (m *Manager) DialTLS(ctx context.Context, network, address string, dst tlsbridge.Outbound) (*Conn, error) {
	return m.dialConn(ctx, network, address, nil, &dst)
}

// tlsState is the TLS layer of one connection.
type tlsState struct {
	bc     *tlsbridge.Conn
	ctx    context.Context // of the handshake; cancelled when it ends
	cancel context.CancelFunc

	// The outcome of the handshake, for a dial waiting on ready (nil for
	// incoming connections): err is written once, by whoever wins done,
	// before ready is closed. The handshake goroutine or, once it has
	// handed over, the loop (tlsDone) finishes.
	done  atomic.Bool
	err   error
	ready chan struct{}

	// Loop only.
	active       bool // Activate succeeded: plaintext flows
	announced    bool // HandleOpen was called
	busy         int  // enterTLS depth
	closePending bool // closed while busy: leaveTLS releases bc
}

// finish records the outcome of the handshake once. Any goroutine.
func (st *tlsState) finish(err error) {
	if !st.done.CompareAndSwap(false, true) {
		return
	}
	st.err = err
	if st.ready != nil {
		close(st.ready)
	}
}

// setupTLS makes c a TLS connection: incoming, or outgoing to out. It runs
// before c is enrolled.
func (m *Manager) setupTLS(c *Conn, remote net.Addr, out *tlsbridge.Outbound) error {
	st := &tlsState{}
	if out == nil {
		bc, err := m.tls.bm.Accept((*tlsTransport)(c), remote)
		if err != nil {
			return err
		}
		st.bc = bc
	} else {
		st.bc = m.tls.bm.Connect((*tlsTransport)(c), remote, *out)
		st.ready = make(chan struct{})
	}
	st.ctx, st.cancel = context.WithCancel(m.ctx)
	c.transport = TLS
	c.tls = st
	return nil
}

// awaitHandshake waits for the handshake of the outgoing connection c.
func (m *Manager) awaitHandshake(ctx context.Context, c *Conn) error {
	select {
	case <-c.tls.ready:
		if err := c.tls.err; err != nil {
			return &wrapped{msg: "engine: TLS handshake with " + c.remote.String() + ": " + err.Error(), err: err}
		}
		return nil
	case <-ctx.Done():
		_ = c.Close()
		return ctx.Err()
	}
}

// tlsTransport is a Conn as the tlsbridge.Conn under it sees it.
type tlsTransport Conn

// Write hands a record crypto/tls wrote on the loop to gnet, which sends
// it at once or copies what the socket does not take into its outbound
// buffer. When it fails, gnet has closed the connection (OnClose ran, but
// the tlsbridge.Conn in use is released only once the engine is done with
// it: see enterTLS). Loop only.
func (t *tlsTransport) Write(p []byte) (int, error) { return t.gc.Write(p) }

// AsyncWrite sends a handshake flight from the handshake goroutine.
func (t *tlsTransport) AsyncWrite(p []byte) error { return t.gc.AsyncWrite(p, nil) }

// startHandshake starts the handshake of c on a goroutine, or queues it
// while MaxHandshakes incoming ones run. It reports false when the manager
// is closing. Loop only (OnOpen).
func (m *Manager) startHandshake(c *Conn) bool {
	t := &m.tls
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	if c.dir == Incoming {
		if t.running >= t.max {
			t.queue = append(t.queue, c)
			return true
		}
		t.running++
	}
	t.wg.Add(1)
	go m.handshake(c)
	return true
}

// handshake runs the handshake of c, then of the incoming connections
// that waited for a turn. It runs on a goroutine of its own.
func (m *Manager) handshake(c *Conn) {
	defer m.tls.wg.Done()
	for ; c != nil; c = m.tls.next() {
		m.handshakeOne(c)
		if c.dir != Incoming {
			return
		}
	}
}

// handshakeOne runs the handshake of c and hands the outcome to its loop.
func (m *Manager) handshakeOne(c *Conn) {
	st := c.tls
	err := st.bc.Handshake(st.ctx)
	st.cancel()
	if xerr := c.Execute(func() { c.l.tlsDone(c, err) }); xerr != nil {
		st.finish(cmp.Or(err, ErrConnClosed))
	}
}

// next returns the next incoming connection waiting for a handshake, or
// nil, giving back the turn of the caller.
func (t *tlsSide) next() *Conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.queue) > 0 && !t.closed {
		c := t.queue[0]
		t.queue[0] = nil
		t.queue = t.queue[1:]
		if !c.closed.Load() {
			return c
		}
		c.tls.cancel()
	}
	t.running--
	return nil
}

// closeTLS stops starting handshakes; the running ones end as m.ctx is
// cancelled. waitTLS waits for their goroutines.
func (m *Manager) closeTLS() {
	m.tls.mu.Lock()
	m.tls.closed = true
	clear(m.tls.queue)
	m.tls.queue = nil
	m.tls.mu.Unlock()
}

func (m *Manager) waitTLS() { m.tls.wg.Wait() }

// tlsDone runs on c's loop when its handshake has returned err: it
// activates the connection and handles what arrived meanwhile, or closes
// it. Loop only.
func (l *loop) tlsDone(c *Conn, err error) {
	st := c.tls
	if c.closed.Load() {
		st.finish(cmp.Or(err, ErrConnClosed))
		return
	}
	if err == nil {
		l.enterTLS(c)
		err = st.bc.Activate()
		if c.closed.Load() {
			l.leaveTLS(c)
			st.finish(cmp.Or(err, ErrConnClosed))
			return
		}
		l.leaveTLS(c)
	}
	if err != nil {
		// tlsbridge has counted and logged refusals and failures.
		l.m.log.Debug("engine: TLS handshake failed, closing", "conn", c.id, "remote", c.remote, "err", err)
		_ = l.el.Close(c.gc)
		st.finish(err)
		return
	}
	st.active = true
	if id := st.bc.PeerIdentity(); id != "" {
		c.SetPeerIdentity(id)
	}
	l.m.log.Debug("engine: TLS connection ready", "conn", c.id, "direction", c.dir,
		"remote", c.remote, "peer", st.bc.PeerIdentity())
	st.announced = true
	if l.m.ch != nil {
		l.m.ch.HandleOpen(c)
	}
	st.finish(nil)
	if c.closed.Load() {
		return
	}
	l.enterTLS(c)
	action := l.plaintext(c)
	l.leaveTLS(c)
	if action == gnet.Close && !c.closed.Load() {
		_ = l.el.Close(c.gc)
	}
}

// enterTLS marks c's tlsbridge.Conn in use on the loop, until leaveTLS:
// a call into it, or its plaintext being handled. Writes go straight to
// gnet, and a failed one closes the connection at once, from deep inside
// such a call; closedTLS then leaves the tlsbridge.Conn to leaveTLS, so
// that its buffers (the plaintext the handler is reading) stay put. Loop
// only.
func (l *loop) enterTLS(c *Conn) { c.tls.busy++ }

// leaveTLS ends an enterTLS, and releases the tlsbridge.Conn of c when c
// closed meanwhile. Loop only.
func (l *loop) leaveTLS(c *Conn) {
	st := c.tls
	st.busy--
	if st.busy == 0 && st.closePending {
		st.closePending = false
		_ = st.bc.Close()
	}
}

// trafficTLS is OnTraffic for a TLS connection: it feeds the ciphertext
// read to tlsbridge and handles the plaintext. Loop only.
func (l *loop) trafficTLS(c *Conn, gc gnet.Conn) gnet.Action {
	st := c.tls
	l.enterTLS(c)
	defer l.leaveTLS(c)
	buf, _ := gc.Peek(-1)
	// crypto/tls may write from inside a read (a KeyUpdate answer); a
	// failed write closes c.
	err := st.bc.Feed(buf)
	if c.closed.Load() {
		return gnet.None
	}
	_, _ = gc.Discard(len(buf))
	action := gnet.None
	if st.active {
		action = l.plaintext(c)
		if c.closed.Load() {
			return gnet.None
		}
	}
	if err != nil && action == gnet.None {
		l.m.log.Debug("engine: TLS stream ended, closing", "conn", c.id, "remote", c.remote, "err", err)
		action = gnet.Close
	}
	return action
}

// plaintext frames, parses and handles the decrypted bytes of c, as
// OnTraffic does for TCP. Loop only, between enterTLS and leaveTLS.
func (l *loop) plaintext(c *Conn) gnet.Action {
	st := c.tls
	buf := st.bc.Buffered()
	if len(buf) == 0 {
		return gnet.None
	}
	off, action := l.frame(c, buf)
	if c.closed.Load() {
		return gnet.None
	}
	if off > 0 {
		st.bc.Discard(off)
		c.bytesIn.add(uint64(off))
		l.stats.bytesIn.add(uint64(off))
	}
	l.flush(c)
	return action
}

// writeTLS encrypts b to the socket of c. A failure closes c. Loop only.
func (l *loop) writeTLS(c *Conn, b []byte) error {
	l.enterTLS(c)
	defer l.leaveTLS(c)
	if _, err := c.tls.bc.Write(b); err != nil {
		if !c.closed.Load() {
			l.m.log.Debug("engine: TLS write failed, closing", "conn", c.id, "remote", c.remote, "err", err)
			_ = l.el.Close(c.gc)
		}
		return err
	}
	return nil
}

// closedTLS releases the TLS layer of c, which has closed, and wakes its
// handshake, which then reports its outcome (see handshakeOne). Loop only
// (OnClose).
//
// It does not cancel the handshake's context: crypto/tls would then
// return the context's error instead of a refusal it is about to report.
func (l *loop) closedTLS(c *Conn) {
	st := c.tls
	if st.busy > 0 {
		st.closePending = true
		return
	}
	_ = st.bc.Close()
}
