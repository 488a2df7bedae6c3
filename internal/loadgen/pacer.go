package loadgen

import (
	"math"
	"time"
)

// Pacing bounds.
const (
	// minQuantum is the shortest sleep of a paced writer: below a
	// millisecond the Go runtime's timers wake late anyway, and waking per
	// request costs a system call per request.
	minQuantum = time.Millisecond
	// maxQuantum bounds the sleep of a paced writer among very many
	// connections.
	maxQuantum = 10 * time.Millisecond
	// wakeBudget is how many times a second the paced writers of a run
	// wake at most in total (when maxQuantum does not cap their sleep).
	wakeBudget = 50_000
	// maxDebt is how far behind a paced writer may fall before it stops
	// catching up: the requests due longer ago are forgotten.
	maxDebt = time.Second
)

// pacer spreads one connection's share of a paced run over time. The
// requests due at a moment are those the share allows since the run started
// less those already sent, so the rate is kept from elapsed time and not
// from per-request sleeps that would each add their lateness: the writer
// sends everything due in one write (bounded by its free pipeline slots)
// and then sleeps until the next request is due, but at least a quantum.
// A connection thus wakes at most 1/quantum times a second whatever the
// rate, and sends about rate × quantum requests each time.
//
// A pacer holds no clock: callers pass the time since the run started.
// Writer only.
type pacer struct {
	perNs   float64       // requests per nanosecond of this connection
	offset  time.Duration // when its first request is due (the stagger)
	quantum time.Duration // shortest sleep
	debt    uint64        // requests due at most at once; older ones are forgotten
	sent    uint64        // requests counted as sent, or forgotten
	skipped uint64        // requests forgotten
}

// newPacer returns the pacer of connection id of conns sharing rate
// requests per second in total. Connections are staggered over one
// interval of their own so their writes do not all come at once.
func newPacer(rate float64, conns, id int) pacer {
	per := rate / float64(conns) // requests per second of one connection
	q := min(max(time.Duration(float64(time.Second)*float64(conns)/wakeBudget), minQuantum), maxQuantum)
	return pacer{
		perNs:   per / float64(time.Second),
		offset:  time.Duration(float64(time.Second) * float64(id) / rate),
		quantum: q,
		debt:    max(uint64(per*maxDebt.Seconds()), 1),
	}
}

// due returns how many requests are due at now and not yet sent. Past the
// debt bound the excess is forgotten (counted in skipped).
func (p *pacer) due(now time.Duration) uint64 {
	if now < p.offset {
		return 0
	}
	n := uint64(float64(now-p.offset)*p.perNs) + 1 // the first is due at offset
	if n <= p.sent {
		return 0
	}
	d := n - p.sent
	if d > p.debt {
		p.skipped += d - p.debt
		p.sent = n - p.debt
		d = p.debt
	}
	return d
}

// unsent returns how many requests were due by now and never sent: those
// forgotten past the debt bound and, unless the run's budget of requests
// ran out (so none was owed), those still due. A request due within the
// last quantum does not count: a writer asleep until it is due was on
// time when the run ended.
func (p *pacer) unsent(now time.Duration, budgetOut bool) uint64 {
	if budgetOut || now <= p.quantum {
		return p.skipped
	}
	d := p.due(now - p.quantum) // past the debt bound it counts in skipped
	return p.skipped + d
}

// add counts n requests as sent.
func (p *pacer) add(n int) { p.sent += uint64(n) }

// wait returns how long to sleep at now until the next request is due, at
// least the quantum.
func (p *pacer) wait(now time.Duration) time.Duration {
	at := p.offset + time.Duration(math.Ceil(float64(p.sent)/p.perNs))
	return max(at-now, p.quantum)
}
