// Package engine runs SIP connections over TCP on gnet event loops.
//
// A manager owns a set of gnet event loops (one per CPU by default) and every
// connection on them. [ClientManager] only dials; [TCPServer] also listens on
// addresses added and removed while it runs; a TLS server (package tlsbridge)
// is the same core with TLS listeners. All share [Manager]: dialing,
// enumeration ([Manager.Conns]), counters ([Manager.Stats]), timeouts and
// shutdown.
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
// Transport TLS, [Conn.SetPeerIdentity] and ConnInfo.PeerIdentity are the
// place of the TLS bridge: a TLS connection puts a tlsbridge layer between
// the socket and the framer (ciphertext fed on the loop, plaintext framed
// as above; writes encrypted to the gnet connection), with the handshake on
// a goroutine of its own.
//
// # Goroutines
//
// Every method says which goroutine may call it: "any goroutine", or "loop
// only", meaning inside a Handler call or a function run by [Conn.Execute]
// on the connection's loop. A manager starts its goroutines in Start,
// Listen and DialAsync and stops them all in Close and Shutdown.
package engine
