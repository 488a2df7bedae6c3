package engine

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/sipcm/sipcm/internal/wheel"
	"github.com/sipcm/sipcm/sipparse"
)

// Direction says who opened a connection.
type Direction uint8

// Directions.
const (
	Incoming Direction = iota + 1 // accepted from a listener
	Outgoing                      // dialed by the manager
)

// String returns "in" or "out".
func (d Direction) String() string {
	switch d {
	case Incoming:
		return "in"
	case Outgoing:
		return "out"
	}
	return "unknown"
}

// Transport is the SIP transport of a connection.
type Transport uint8

// Transports.
const (
	TCP Transport = iota + 1
	TLS
)

// String returns "TCP" or "TLS", as written in a Via header field.
func (t Transport) String() string {
	switch t {
	case TCP:
		return "TCP"
	case TLS:
		return "TLS"
	}
	return "unknown"
}

// Conn is one SIP connection on an event loop. Methods say which goroutine
// may call them: "any goroutine", or "loop only", which means inside a
// [Handler] call for this connection or another connection of the same loop
// (see [Conn.SameLoop]), or inside a function run by [Conn.Execute].
type Conn struct {
	// Set before the connection is published, then read-only.
	id         uint64
	m          *Manager
	dir        Direction
	transport  Transport
	local      netip.AddrPort
	remote     netip.AddrPort
	remoteHost []byte // remote IP as text, for received (RFC 3261 §18.2.1)
	created    time.Duration
	gc         gnet.Conn
	l          *loop
	pc         *poolConn // set for the connections of a pool
	tls        *tlsState // set for TLS connections

	// Written by the loop, read by any goroutine.
	opened                             atomic.Bool
	closed                             atomic.Bool
	lastActive                         atomic.Int64 // Clock time of the last traffic
	msgsIn, msgsOut, bytesIn, bytesOut counter
	idleNanos                          atomic.Int64 // idle timeout, 0 = none
	peer                               atomic.Pointer[string]

	// Loop only.
	framer        sipparse.Framer
	timer         wheel.Entry[*Conn]
	awaitingFirst bool // incoming, no whole message yet
	regIdx        int  // index in l.conns
}

func (m *Manager) newConn(dir Direction, local, remote net.Addr) *Conn {
	c := &Conn{
		id:        m.ids.Add(1),
		m:         m,
		dir:       dir,
		transport: TCP,
		local:     addrPort(local),
		remote:    addrPort(remote),
		created:   m.clock.Now(),
	}
	c.remoteHost = c.remote.Addr().WithZone("").AppendTo(nil)
	c.framer.Limits = m.cfg.Limits
	c.timer.Value = c
	idle := m.cfg.IdleTimeoutIn
	if dir == Outgoing {
		idle = m.cfg.IdleTimeoutOut
	}
	c.idleNanos.Store(int64(idle))
	c.lastActive.Store(int64(c.created))
	return c
}

func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// ID returns the connection's identifier, unique within its manager and
// never reused. Any goroutine.
func (c *Conn) ID() uint64 { return c.id }

// Direction reports whether the connection was accepted or dialed. Any
// goroutine.
func (c *Conn) Direction() Direction { return c.dir }

// Transport returns the connection's transport. Any goroutine.
func (c *Conn) Transport() Transport { return c.transport }

// LocalAddr returns the local address. Any goroutine.
func (c *Conn) LocalAddr() netip.AddrPort { return c.local }

// RemoteAddr returns the remote address. Any goroutine.
func (c *Conn) RemoteAddr() netip.AddrPort { return c.remote }

// Manager returns the manager that owns the connection. Any goroutine.
func (c *Conn) Manager() *Manager { return c.m }

// Closed reports whether the connection has closed. Any goroutine.
func (c *Conn) Closed() bool { return c.closed.Load() }

// SameLoop reports whether c and d run on the same event loop, so that a
// handler running for one may call the loop-only methods of the other.
// Any goroutine.
func (c *Conn) SameLoop(d *Conn) bool { return d != nil && c.l == d.l }

// Write sends b, which should hold whole SIP messages, and counts one
// message out. Loop only. Inside a Handler call for c, the bytes are
// gathered and sent in one system call when the handler returns; b may be
// reused as soon as Write returns. Write fails with ErrBackpressure, sending
// nothing, while the bytes waiting in the connection's outbound buffer have
// reached Config.WriteHighWater, with ErrConnClosed once the connection
// has closed, and with ErrHandshake on a TLS connection whose handshake is
// not done. On a TLS connection the bytes are encrypted; the gathered
// writes of a handler call go out in as few TLS records as they fit in.
func (c *Conn) Write(b []byte) error { return c.write(b, true) }

func (c *Conn) write(b []byte, msg bool) error {
	if c.closed.Load() {
		return ErrConnClosed
	}
	if c.tls != nil && !c.tls.active {
		return ErrHandshake
	}
	l := c.l
	pending := 0
	if l.cur == c {
		pending = len(l.out)
	}
	if c.gc.OutboundBuffered()+pending >= c.m.cfg.WriteHighWater {
		l.stats.backpressure.inc()
		return ErrBackpressure
	}
	if l.cur == c {
		l.out = append(l.out, b...)
		if len(l.out) >= flushSize {
			if !l.flush(c) {
				return ErrConnClosed
			}
		}
	} else if err := c.rawWrite(b); err != nil {
		// The connection has closed (and OnClose has run).
		return ErrConnClosed
	}
	n := uint64(len(b))
	c.bytesOut.add(n)
	l.stats.bytesOut.add(n)
	if msg {
		c.msgsOut.inc()
		l.stats.messagesOut.inc()
	}
	c.lastActive.Store(int64(l.now))
	return nil
}

// rawWrite writes b to the socket, encrypted on a TLS connection. On
// error the connection has been closed. Loop only.
func (c *Conn) rawWrite(b []byte) error {
	if c.tls != nil {
		return c.l.writeTLS(c, b)
	}
	_, err := c.gc.Write(b) // on error gnet has closed c
	return err
}

// Send sends b from any goroutine: it runs [Conn.Write] on the
// connection's loop and then calls done, if not nil, on the loop with its
// result. b must not be modified until done is called. Send itself fails
// only when the connection or the manager is closed. Any goroutine.
func (c *Conn) Send(b []byte, done func(error)) error {
	return c.Execute(func() {
		err := c.Write(b)
		if done != nil {
			done(err)
		}
	})
}

// Execute runs f on the connection's loop, where f may call the loop-only
// methods of c and of the other connections of that loop. f runs even if c
// has closed in the meantime. Any goroutine.
func (c *Conn) Execute(f func()) error {
	if c.closed.Load() {
		return ErrConnClosed
	}
	l := c.l
	err := l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		l.now = l.m.clock.Now()
		f()
		return nil
	}))
	if err != nil {
		return ErrClosed
	}
	return nil
}

// Close closes the connection; bytes already accepted by Write are flushed
// first as far as the socket takes them without blocking. It returns at
// once: the close happens on the loop. Any goroutine.
func (c *Conn) Close() error {
	if c.closed.Load() {
		return nil
	}
	return c.gc.Close()
}

// SetIdleTimeout overrides the idle timeout of this connection (d <= 0
// disables it). It takes effect from the last traffic seen. Loop only.
func (c *Conn) SetIdleTimeout(d time.Duration) {
	d = max(d, 0)
	c.idleNanos.Store(int64(d))
	if c.closed.Load() || c.awaitingFirst {
		return
	}
	c.l.armIdle(c)
}

// IdleTimeout returns the connection's idle timeout, 0 when none. Any
// goroutine.
func (c *Conn) IdleTimeout() time.Duration { return time.Duration(c.idleNanos.Load()) }

// Scratch returns an empty buffer owned by the connection's loop, with room
// for a large message, to build what is then passed to Write. It is reused
// by the next Scratch call on the loop. Loop only.
func (c *Conn) Scratch() []byte { return c.l.scratch[:0] }

// SetPeerIdentity records the identity the peer proved (the TLS layer calls
// it after a handshake) for enumeration. Any goroutine.
func (c *Conn) SetPeerIdentity(id string) { c.peer.Store(&id) }

// ConnInfo describes a connection at the time of a snapshot.
type ConnInfo struct {
	ID           uint64
	Direction    Direction
	Transport    Transport
	Local        netip.AddrPort
	Remote       netip.AddrPort
	Age          time.Duration // since the connection opened
	Idle         time.Duration // since the last traffic in either direction
	IdleTimeout  time.Duration // 0 when none
	MessagesIn   uint64
	MessagesOut  uint64
	BytesIn      uint64
	BytesOut     uint64
	PeerIdentity string // TLS peer identity, empty when none
}

// Info returns a snapshot of the connection. Any goroutine.
func (c *Conn) Info() ConnInfo {
	now := c.m.clock.Now()
	ci := ConnInfo{
		ID:          c.id,
		Direction:   c.dir,
		Transport:   c.transport,
		Local:       c.local,
		Remote:      c.remote,
		Age:         max(now-c.created, 0),
		Idle:        max(now-time.Duration(c.lastActive.Load()), 0),
		IdleTimeout: time.Duration(c.idleNanos.Load()),
		MessagesIn:  c.msgsIn.load(),
		MessagesOut: c.msgsOut.load(),
		BytesIn:     c.bytesIn.load(),
		BytesOut:    c.bytesOut.load(),
	}
	if p := c.peer.Load(); p != nil {
		ci.PeerIdentity = *p
	}
	return ci
}
