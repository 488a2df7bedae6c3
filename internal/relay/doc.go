// Package relay forwards SIP requests from the clients of a manager to one
// upstream through a shared pool of connections, and relays the
// responses back: the core of sipcm relay.
//
// A Relay is the engine.Handler of the managers whose listeners clients
// connect to, and is attached (Relay.Attach) to the manager that dials the
// upstream. Each request read on an incoming connection is forwarded as
// RFC 3261 §16.6 says for a proxy: Max-Forwards decremented (a request
// without one gets 69; one at 0 is answered 483 and not forwarded),
// received and rport added to the client's Via (RFC 3261 §18.2.1,
// RFC 3581), the relay's Via added on top by the manager's dispatcher,
// with a unique branch that correlates the upstream's responses; every
// other byte is unchanged. Each response has the relay's Via removed and
// is written on the connection its request came on; a response whose
// client has gone is dropped and counted.
//
// Nothing is left unanswered: a request that cannot be sent (no
// connection can be had, the dial fails, the send fails) or whose
// connection breaks before its final response gets 503 from the relay,
// and one without a final response within the dispatcher's timeout
// (64*T1, 32 s by default) gets 408. A response that cannot be written to
// its client is counted (Stats.Dropped): the client has gone, or does not
// read what it asked for and its connection's outbound buffer is over the
// high-water mark (Stats.Backpressure, also logged as a warning, at most
// once a second). ACKs are forwarded with no correlation, and an ACK of a
// 483, 503 or 408 the relay made is absorbed.
//
// The relay never blocks a loop. A connection is taken from the pool with
// engine.Manager.TryConnFor; when the pool has none live, the request is
// copied out of the loop's buffer and waits, in a bounded queue, for the
// dial the pool started (beyond the bound it gets 503). On the common path
// a request is built in the loop's scratch buffer and handed to the
// dispatcher, and the relay allocates nothing of its own.
//
// A CANCEL of an INVITE the relay has pending is answered 200 by the
// relay and sent to the upstream under the INVITE's Via (RFC 3261 §16.10),
// once the INVITE has had a response (§9.1), so that the upstream matches
// it to the INVITE by branch (§9.2); any other CANCEL is forwarded like any
// request. The ACK of a non-2xx final response from the upstream is part of
// the INVITE's transaction (RFC 3261 §17.1.1.3): it is sent under the
// INVITE's Via (branch and sent-by), on the INVITE's connection, so that
// the upstream matches it to its INVITE server transaction (§17.2.3),
// while that INVITE awaits it (64*T1); any other ACK, a 2xx's among them,
// gets a branch of its own.
package relay
