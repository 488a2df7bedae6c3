package engine

import "sync/atomic"

// Stats is a snapshot of a manager's counters: totals since the manager was
// made, except ConnsIn and ConnsOut, which count the connections open now.
type Stats struct {
	ConnsIn  int64 // incoming connections open
	ConnsOut int64 // outgoing connections open

	Accepted     uint64 // incoming connections opened on a loop
	Refused      uint64 // incoming connections refused by MaxConns
	RefusedPerIP uint64 // incoming connections refused by MaxConnsPerIP
	AcceptErrors uint64 // failed accepts and enrolments
	Dialed       uint64 // outgoing connections opened
	DialErrors   uint64 // failed dials and enrolments

	FirstMessageTimeouts uint64 // connections closed before a first message
	IdleTimeouts         uint64 // connections closed for inactivity

	MessagesIn  uint64 // whole messages read
	MessagesOut uint64 // successful sends
	BytesIn     uint64 // bytes read, keep-alives included
	BytesOut    uint64 // bytes sent, keep-alives included
	Pings       uint64 // double-CRLF keep-alives answered

	BadRequests   uint64 // requests refused by the parser and answered (400, 505, ...)
	BadMessages   uint64 // unparsable messages dropped without an answer
	Oversize      uint64 // messages refused as too large (answered 513 when possible)
	FramingErrors uint64 // streams closed because their framing was lost
	Backpressure  uint64 // sends refused with ErrBackpressure
}

// counter is a uint64 written by one goroutine (its loop) and read by any:
// the increment is a load and a store, with no locked instruction.
type counter struct{ v atomic.Uint64 }

func (c *counter) add(n uint64) { c.v.Store(c.v.Load() + n) }
func (c *counter) load() uint64 { return c.v.Load() }
func (c *counter) inc()         { c.add(1) }
func (c *counter) dec()         { c.add(^uint64(0)) }

// loopStats are the counters a loop owns.
type loopStats struct {
	connsIn, connsOut    counter // as int64
	accepted, dialed     counter
	firstMessageTimeouts counter
	idleTimeouts         counter
	messagesIn           counter
	messagesOut          counter
	bytesIn              counter
	bytesOut             counter
	pings                counter
	badRequests          counter
	badMessages          counter
	oversize             counter
	framingErrors        counter
	backpressure         counter
	_                    [64]byte // keep the next loop's counters off this cache line
}

func (s *loopStats) addTo(t *Stats) {
	t.ConnsIn += int64(s.connsIn.load())
	t.ConnsOut += int64(s.connsOut.load())
	t.Accepted += s.accepted.load()
	t.Dialed += s.dialed.load()
	t.FirstMessageTimeouts += s.firstMessageTimeouts.load()
	t.IdleTimeouts += s.idleTimeouts.load()
	t.MessagesIn += s.messagesIn.load()
	t.MessagesOut += s.messagesOut.load()
	t.BytesIn += s.bytesIn.load()
	t.BytesOut += s.bytesOut.load()
	t.Pings += s.pings.load()
	t.BadRequests += s.badRequests.load()
	t.BadMessages += s.badMessages.load()
	t.Oversize += s.oversize.load()
	t.FramingErrors += s.framingErrors.load()
	t.Backpressure += s.backpressure.load()
}

// sharedStats are counted off the loops (acceptors, dialers) with atomic adds.
type sharedStats struct {
	refused, refusedPerIP, acceptErrors atomic.Uint64
	dialErrors                          atomic.Uint64
}

func (s *sharedStats) addTo(t *Stats) {
	t.Refused += s.refused.Load()
	t.RefusedPerIP += s.refusedPerIP.Load()
	t.AcceptErrors += s.acceptErrors.Load()
	t.DialErrors += s.dialErrors.Load()
}
