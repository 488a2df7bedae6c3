package dispatch

import (
	"net/netip"

	"github.com/sipcm/sipcm/sipparse"
)

// Conn is the part of a connection the dispatcher uses. *engine.Conn
// implements it; tests use fakes.
type Conn interface {
	// ID identifies the connection, unique within its manager and never
	// reused. Any goroutine.
	ID() uint64
	// LocalAddr is the local address, used as the Via sent-by when
	// Config.SentBy is empty. Any goroutine.
	LocalAddr() netip.AddrPort
	// Closed reports whether the connection has closed. Any goroutine.
	Closed() bool
	// Respond writes a response to the request m (status with its
	// standard reason phrase when reason is empty). Loop only.
	Respond(m *sipparse.Message, status int, reason string) error
	// Write writes b, whole SIP messages. Loop only.
	Write(b []byte) error
	// Send writes b on the connection's loop and then calls done, if not
	// nil, on the loop; b stays untouched until done. It fails at once
	// only when the connection is closed. Any goroutine.
	Send(b []byte, done func(error)) error
	// Execute runs f on the connection's loop. Any goroutine.
	Execute(f func()) error
}

// Dest is where a request is sent.
type Dest struct {
	Host      string // host name or IP address
	Port      uint16 // 0 lets the transport choose (5060, or 5061 for TLS)
	Transport string // "TCP" or "TLS", as in a Via header field; empty means "TCP"
}

// Transport gives the connections requests are sent on: the engine's
// managers implement it.
type Transport interface {
	// Conn returns an open connection to dst for the endpoint e, an
	// existing one or a new one. The transport decides which connections
	// e may share: a client manager gives each endpoint connections of
	// its own, a server manager shares pooled connections between the
	// endpoints of one group (Endpoint.Group). It may block while
	// dialing, so the dispatcher calls it on the goroutine that calls
	// Dispatcher.Send. Any goroutine.
	Conn(e *Endpoint, dst Dest) (Conn, error)
	// Release tells the transport that e was removed from the
	// dispatcher, so that it lets go of what it holds for e (pool
	// references). Called by Dispatcher.Remove, after e stopped being
	// added. Any goroutine.
	Release(e *Endpoint)
}
