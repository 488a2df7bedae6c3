package tlsbridge

import "sync/atomic"

// Stats is a snapshot of a Manager's counters.
type Stats struct {
	Accepted  uint64 // incoming handshakes completed
	Connected uint64 // outgoing handshakes completed
	// Failed counts failed handshakes by Reason: our refusals (every
	// Reason but ReasonOther and ReasonHandshakeTimeout) and failures of
	// other kinds. Failed[ReasonNone] stays zero.
	Failed [NumReasons]uint64
	// AutoAllowed counts names added to the allow list by outgoing
	// connections.
	AutoAllowed uint64
	// RecordErrors counts established connections ended by a record we
	// refused (bad MAC, overflow, unexpected message or content type):
	// we sent the peer an alert and Feed returned the error.
	RecordErrors uint64
}

// Refused returns the number of handshakes that failed for reason r.
func (s Stats) Refused(r Reason) uint64 {
	if int(r) >= NumReasons {
		return 0
	}
	return s.Failed[r]
}

// TotalFailed returns the number of failed handshakes of every reason.
func (s Stats) TotalFailed() uint64 {
	var n uint64
	for _, v := range s.Failed {
		n += v
	}
	return n
}

type counters struct {
	accepted     atomic.Uint64
	connected    atomic.Uint64
	failed       [NumReasons]atomic.Uint64
	autoAllowed  atomic.Uint64
	recordErrors atomic.Uint64
}

// count counts err under its Reason.
func (m *Manager) count(err error) {
	if r := ReasonOf(err); r != ReasonNone {
		m.stats.failed[r].Add(1)
	}
}

// Stats returns a snapshot of the counters. It may be called from any
// goroutine.
func (m *Manager) Stats() Stats {
	s := Stats{
		Accepted:     m.stats.accepted.Load(),
		Connected:    m.stats.connected.Load(),
		AutoAllowed:  m.stats.autoAllowed.Load(),
		RecordErrors: m.stats.recordErrors.Load(),
	}
	for i := range s.Failed {
		s.Failed[i] = m.stats.failed[i].Load()
	}
	return s
}
