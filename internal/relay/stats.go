package relay

import "sync/atomic"

// Stats is a snapshot of a relay's counters: totals since it was made,
// except Waiting and Pending. A send or a write is counted once it has
// returned, which may be just after the peer has read what it sent.
//
// Every request but ACK that the relay forwards (or tries to) is Pending
// until its final response is written to its client (counted in Relayed),
// the relay answers it (Unavailable, Timeouts) or its answer is Dropped. Once the clients stop
// sending and Pending is back to 0, nothing is held: a request a client
// still waits for was lost before the relay read it or after it wrote the
// answer.
type Stats struct {
	Requests        uint64 // requests read from clients, ACKs included
	Forwarded       uint64 // requests sent to the upstream, ACKs excluded
	ForwardedACK    uint64 // ACKs sent to the upstream (no correlation)
	TxACKs          uint64 // of ForwardedACK, ACKs of non-2xx responses sent under their INVITE's Via
	Relayed         uint64 // upstream responses written to clients
	Dropped         uint64 // responses not written to their client (gone, or not reading), and ACKs not forwarded
	Backpressure    uint64 // of Dropped, responses refused because the client does not read (engine.ErrBackpressure)
	TooManyHops     uint64 // requests answered 483 (Max-Forwards 0)
	Unavailable     uint64 // requests answered 503 (no upstream connection, broken, send failed)
	Timeouts        uint64 // requests answered 408 (no final response in time)
	Absorbed        uint64 // ACKs of the relay's own answers, not forwarded
	Overflow        uint64 // requests answered 503 because the wait queue was full
	Cancels         uint64 // CANCELs of pending INVITEs, answered 200 by the relay
	ForwardedCancel uint64 // those sent to the upstream under their INVITE's Via
	Waiting         int64  // requests waiting for a dial now
	Pending         int64  // requests taken from clients whose answer is not yet written (or dropped) now
}

type stats struct {
	requests, forwarded, forwardedACK, relayed, dropped    atomic.Uint64
	tooManyHops, unavailable, timeouts, absorbed, overflow atomic.Uint64
	cancels, forwardedCancel, backpressure, txACKs         atomic.Uint64
	pending                                                atomic.Int64
}

// Stats returns a snapshot of the counters. Any goroutine.
func (r *Relay) Stats() Stats {
	s := &r.stats
	return Stats{
		Requests:        s.requests.Load(),
		Forwarded:       s.forwarded.Load(),
		ForwardedACK:    s.forwardedACK.Load(),
		TxACKs:          s.txACKs.Load(),
		Relayed:         s.relayed.Load(),
		Dropped:         s.dropped.Load(),
		Backpressure:    s.backpressure.Load(),
		TooManyHops:     s.tooManyHops.Load(),
		Unavailable:     s.unavailable.Load(),
		Timeouts:        s.timeouts.Load(),
		Absorbed:        s.absorbed.Load(),
		Overflow:        s.overflow.Load(),
		Cancels:         s.cancels.Load(),
		ForwardedCancel: s.forwardedCancel.Load(),
		Waiting:         r.qn.Load(),
		Pending:         s.pending.Load(),
	}
}

// ResponseCounts returns the responses the relay made itself (483, 503,
// 408), by status code; with the dispatcher's own (Dispatcher.ReplyCounts)
// they are what admin.ResponseCounter reports. Any goroutine; it
// allocates.
func (r *Relay) ResponseCounts() map[int]uint64 {
	out := make(map[int]uint64, 3)
	for status, n := range map[int]uint64{
		408: r.stats.timeouts.Load(),
		483: r.stats.tooManyHops.Load(),
		503: r.stats.unavailable.Load(),
	} {
		if n > 0 {
			out[status] = n
		}
	}
	return out
}
