// Package engine runs SIP connections over TCP and TLS on gnet event loops.
//
// A manager owns a set of gnet event loops (one per CPU by default) and every
// connection on them. [ClientManager] only dials; [TCPServer] also listens on
// addresses added and removed while it runs; [TLSServer] is the same core
// with TLS listeners (package tlsbridge). All share [Manager]: dialing, the
// dispatcher of its endpoints and the pools they send through, enumeration
// ([Manager.Conns], [Manager.Pools]), counters ([Manager.Stats]), timeouts
// and shutdown.
//
// # Endpoints and dispatch
//
// Every endpoint belongs to one manager: it is added to the manager's
// dispatcher ([Manager.Dispatcher], a *dispatch.Dispatcher made with the
// manager). With no Config.Handler, every message read goes to the
// dispatcher on its loop: a request to the endpoint it routes to, or, when
// no endpoint takes it, answered by the manager (500, 481 for a CANCEL,
// nothing for an ACK); a response to the endpoint whose request it answers.
// Whatever the Handler, the dispatcher learns of every connection that
// closes, so the requests outstanding on it end with an error. A client
// manager's dispatcher refuses peer-to-peer endpoints.
//
// # Pools
//
// An endpoint sends with the dispatcher's Send; the manager gives it a
// connection from a pool (package pool) keyed by the destination (host as
// given, port, transport) and the endpoint's group (dispatch.EndpointConfig
// Group, the pool identity). On a server manager the endpoints of a group
// share up to Config.PoolSize (5) connections per destination, handed out
// round-robin; a client manager's pools are pool.Unlimited by default, so
// each endpoint has connections of its own. [Manager.ConnFor] picks (and
// may dial) off the loops; [Manager.TryConnFor] never blocks, starting the
// dial on a goroutine of the manager, for use on a loop with the
// dispatcher's SendOn. The pool's dials are the manager's own (DialTimeout,
// then onto a loop); a connection that closes leaves its pool at once. The
// manager's ticker expires the dispatcher's requests and sweeps the pools
// (leases, draining, linger); an endpoint removed from the dispatcher
// releases its pools.
//
// # Reading
//
// Each loop reads a socket into its own buffer and calls the engine, which
// frames the bytes with a sipparse.Framer (Peek and Discard: bytes read
// together are never copied), parses each message into one sipparse.Message
// reused by the loop, and hands it to the [Handler] on the loop. A request
// carries its source address (received/rport, RFC 3261 §18.2.1, RFC 3581).
// A double-CRLF keep-alive is answered with CRLF (RFC 5626 §4.4.1). A request
// the parser refuses, while the framing holds, gets the status the parser
// chose (400, 505, ...); an oversize message gets 513 and its body is
// skipped; a stream whose framing is lost is closed. All are counted.
//
// # Writing
//
// [Conn.Write] runs on the loop. Inside a Handler call for a connection, the
// writes to it are gathered and sent in one system call when the handler
// returns, so pipelined requests cost one write for the whole batch. gnet
// never blocks a write: what the socket does not take waits in gnet's
// outbound buffer, and once that holds Config.WriteHighWater bytes, writes
// fail with [ErrBackpressure] instead of growing it. [Conn.Send] writes from
// any other goroutine. At steady state, reading, answering and writing an
// OPTIONS allocate nothing.
//
// # Timeouts
//
// Each loop has a hashed timing wheel (internal/wheel) advanced on the loop:
// gnet's ticker goroutine only hands each loop a tick (EventLoop.Execute). An
// incoming connection must send a whole message within
// Config.FirstMessageTimeout (a keep-alive does not count); then every
// connection is closed after Config.IdleTimeoutIn or IdleTimeoutOut without
// traffic, or its own [Conn.SetIdleTimeout]. Traffic only stores a time
// stamp: when a connection's entry expires, the engine re-arms it for the
// time left if there was traffic since (lazy timestamps), so a busy
// connection costs the wheel about one operation per timeout period.
// Config.Clock injects the time source for tests.
//
// # Outbound connections and listeners
//
// Loops come from a gnet client engine: a manager runs loops even when it
// never listens. Listeners are net.Listeners with one acceptor goroutine
// each, which applies Config.MaxConns and MaxConnsPerIP and hands accepted
// sockets to the least loaded loop (gnet dups the descriptor). Dial connects
// with net.Dialer (Config.DialTimeout) and enrolls the socket the same way.
//
// # TLS
//
// A TLS connection puts a tlsbridge.Conn between the socket and the
// framer. Its handshake runs on a goroutine of its own (incoming ones at
// most TLSConfig.MaxHandshakes at once), fed on the loop with what the
// socket reads and writing through gnet's AsyncWrite; then the loop
// activates it, and from there on every read is decrypted on the loop
// (crypto/tls itself, no goroutine, no copy of the ciphertext) and framed,
// parsed and handled exactly as TCP bytes are, and Conn.Write encrypts
// what a handler call gathered into as few TLS records as it fits (one up
// to 16 KiB), each handed to gnet's Write as crypto/tls makes it;
// backpressure counts the ciphertext waiting in gnet's buffer. The handler hears of a TLS connection
// (ConnHandler.HandleOpen) only once its handshake is done, and a write
// before that fails with ErrHandshake.
//
// Each manager has a tlsbridge.Manager (Config.TLS, [Manager.TLS]): its
// certificate, replaceable at run time, the trust anchors, the mutual-TLS
// allow list, the identity (RFC 5922) and extended key usage checks, and
// counters of handshakes and refusals by reason; every refusal is logged
// with its reason and closes the connection. [TLSServer] listens with it.
// Every manager kind dials TLS with it: pool destinations whose transport
// is TLS, and [Manager.DialTLS]. The server's identity must match the host
// dialed or the name set for it with TLSConfig.ExpectedNames or
// [Manager.SetExpectedName] (the pool certificate of front ends behind a
// load balancer); a client manager presents no certificate, a server
// manager presents its own when the peer asks; under mutual TLS the name
// an outgoing connection verified joins the allow list (tlsbridge's
// auto-allow). The peer's verified identity shows in ConnInfo.PeerIdentity.
//
// The first-message timeout of an incoming connection starts at accept,
// so it bounds the handshake too; the handshake has its own, shorter,
// timeout (tlsbridge.Config.HandshakeTimeout, 10 s by default), counted
// under tlsbridge.ReasonHandshakeTimeout.
//
// At steady state a TLS message costs no allocation of the engine's or the
// bridge's; crypto/tls allocates one 24-byte reader each time it is handed
// a read (a read batch, however many records and messages it holds).
//
// # Goroutines
//
// Every method says which goroutine may call it: "any goroutine", or "loop
// only", meaning inside a Handler call or a function run by [Conn.Execute]
// on the connection's loop. A manager starts its goroutines in Start,
// Listen, DialAsync and TryConnFor (a dial), and one per running TLS
// handshake, and stops them all in Close and Shutdown.
package engine
