package pool

import (
	"context"
	"strconv"
	"time"
)

// Transport is the transport of a destination.
type Transport uint8

// Transports a pool can hold connections for.
const (
	TCP Transport = 1 + iota
	TLS
)

// String returns "tcp" or "tls".
func (t Transport) String() string {
	switch t {
	case TCP:
		return "tcp"
	case TLS:
		return "tls"
	}
	return "transport(" + strconv.Itoa(int(t)) + ")"
}

// Key names a pool: the destination tuple plus the local identity.
type Key struct {
	// Host is the destination host exactly as given (a name or an
	// address literal); it is compared byte for byte.
	Host string
	// Port is the destination port.
	Port uint16
	// Transport is TCP or TLS.
	Transport Transport
	// Identity is the local identity used to connect: the fingerprint of
	// the client certificate under mutual TLS, or a group name the caller
	// chooses. Empty is the anonymous identity. Connections made under one
	// identity never carry another's traffic; the Dialer must connect
	// using the identity of the key it is given.
	Identity string
}

// String returns "transport:host:port" followed by "#identity" when the
// identity is not empty. It allocates; it is not for hot paths.
func (k Key) String() string {
	s := k.Transport.String() + ":" + k.Host + ":" + strconv.Itoa(int(k.Port))
	if k.Identity != "" {
		s += "#" + k.Identity
	}
	return s
}

func (k Key) valid() bool {
	return k.Host != "" && k.Port != 0 && (k.Transport == TCP || k.Transport == TLS)
}

// Conn is a connection held by a pool. The engine implements it; every
// method must be safe to call from any goroutine, and Broken and Stats must
// not block.
type Conn interface {
	// ID returns an identifier unique among the engine's connections.
	ID() uint64
	// Broken reports whether the connection is closed or failed and must
	// not carry new messages. Once true it stays true. It is on the hot
	// path of Get: an atomic load, no lock.
	Broken() bool
	// Stats returns the connection's counters.
	Stats() Stats
	// Close closes the connection. It may be called more than once, also
	// on a connection that is already broken, and must not block (the
	// pool calls it while holding its lock): start the close and return.
	Close() error
}

// Stats are the counters of one connection, kept by the engine.
type Stats struct {
	// InFlight is the work the connection still carries (messages queued
	// for writing, transactions waiting for a response). A retired
	// connection is closed once it is zero. The engine must raise it
	// before it writes a message picked from the pool.
	InFlight int64
	// MessagesIn and MessagesOut count messages read and written.
	MessagesIn, MessagesOut uint64
	// BytesIn and BytesOut count bytes read and written.
	BytesIn, BytesOut uint64
	// LastActive is when the connection last read or wrote; zero if never.
	LastActive time.Time
}

// Dialer opens connections for pools.
type Dialer interface {
	// Dial opens a connection to k's destination under k's identity. It
	// is called by the goroutine of Handle.Get that claimed an empty slot
	// and must return when ctx, which carries the open timeout, is done.
	Dial(ctx context.Context, k Key) (Conn, error)
}

// DialFunc adapts a function to a Dialer.
type DialFunc func(ctx context.Context, k Key) (Conn, error)

// Dial calls f(ctx, k).
func (f DialFunc) Dial(ctx context.Context, k Key) (Conn, error) { return f(ctx, k) }

// AsyncDialer is a Dialer that can also dial without blocking its caller,
// as Handle.TryGet needs. The engine implements it with dials on
// goroutines it owns.
type AsyncDialer interface {
	Dialer
	// DialAsync starts dialing k's destination under k's identity and
	// returns at once. Unless it returns an error, it calls done exactly
	// once, on another goroutine, with the result; ctx carries the open
	// timeout. When it returns an error, done is never called.
	DialAsync(ctx context.Context, k Key, done func(Conn, error)) error
}
