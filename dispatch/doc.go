// Package dispatch routes SIP requests to endpoints and responses to the
// requests they answer, for one connection manager.
//
// # Endpoints
//
// An [Endpoint] has an owner URI (address of record), may have a GRUU (RFC
// 5627) and has a context token, which it places in the URIs it hands out
// as the URI parameter ";sipcm-ctx=TOKEN" ([TokenParam],
// [Endpoint.AppendParam]) in its Contact, Record-Route or Path, so that the
// requests sent to those URIs come back to it. A [Registered] endpoint talks
// through a server; a [PeerToPeer] one takes requests from its peers
// directly and is refused by a dispatcher that serves a client manager
// ([Config.Client], [ErrPeerToPeerOnClient]). Endpoints are added and
// removed while traffic flows: the routing tables are an immutable snapshot
// behind an atomic pointer, replaced on each change, so a lookup takes no
// lock.
//
// # Routing
//
// [Dispatcher.HandleMessage] routes each request read (see
// [Dispatcher.Route]): by dialog claim when the To tag is set
// ([Dispatcher.Claim]), then by context token, GRUU, AOR (user@host, host
// ignoring case) and default endpoint. A request no endpoint takes is
// answered by the dispatcher: 500, or 481 for a CANCEL, and nothing for an
// ACK. An endpoint may decline a request with a status of its own. Lookups
// build their keys in stack buffers and index maps with string(bytes)
// conversions, which Go does not allocate for: routing and the automatic
// answers allocate nothing.
//
// # Sending and correlation
//
// [Dispatcher.Send] sends an endpoint's request on a connection the
// [Transport] gives for that endpoint ([Dispatcher.SendOn] on a connection
// the caller got, without blocking), inserting the dispatcher's Via with a unique branch
// (z9hG4bK, 8 random hex digits per dispatcher, "." and a counter in hex).
// [Dispatcher.AppendVia] rebuilds that Via from the branch of a response,
// for the CANCEL of the request and the ACK of a non-2xx final response to
// an INVITE, which must carry it (RFC 3261 §9.1, §17.1.1.3).
// A response is matched by its top Via's branch (and CSeq method) and
// delivered to the request's [ResponseFunc]: provisional ones, then the
// final one. A response whose top Via is not ours is dropped and counted
// (RFC 3261 §18.1.2). A request ends on its final response, on a timeout
// (64*T1 by default, [ErrTimeout]), when its connection closes
// ([ErrConnBroken]) or when its write fails ([ErrSendFailed]); the
// ResponseFunc is told, never left waiting. A throttled endpoint may have at
// most [Config.ThrottleLimit] (20) requests outstanding on a connection;
// beyond, Send fails at once with [ErrThrottled] and sends nothing.
//
// # Wiring to a manager
//
// Each engine manager makes its dispatcher. It calls, on the connection's
// loop, [Dispatcher.HandleMessage] for every message and
// [Dispatcher.HandleClose] when a connection closes; it implements
// [Transport] from its connection pools (Transport.Conn gets the sending
// endpoint, so that pools are never shared across endpoint groups, nor at
// all on a client manager; Transport.Release is called when an endpoint is
// removed) and reads [Dispatcher.Outstanding] as a connection's in-flight
// work; its ticker calls [Dispatcher.Sweep]. Used alone,
// [Dispatcher.Start] runs a goroutine that sweeps; [Dispatcher.Close]
// stops it. The package does not import the engine: [Conn] is the part of
// a connection it uses, which *engine.Conn implements.
package dispatch
