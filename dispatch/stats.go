package dispatch

import "sync/atomic"

// Stats is a snapshot of a dispatcher's counters: totals since it was made,
// except Outstanding.
type Stats struct {
	Requests      uint64 // requests received
	RoutedDialog  uint64 // routed by a dialog claim
	RoutedToken   uint64 // routed by context token
	RoutedGRUU    uint64 // routed by GRUU
	RoutedAOR     uint64 // routed by AOR
	RoutedDefault uint64 // routed to the default endpoint
	Unrouted      uint64 // no endpoint: answered 500 (481 for CANCEL; ACK dropped)
	Declined      uint64 // declined by their endpoint and answered with its status
	Malformed     uint64 // malformed Request-URI: answered 400
	Replies       uint64 // responses the dispatcher sent itself

	Sent       uint64 // requests sent with a correlation entry
	SentACK    uint64 // ACKs sent (no entry)
	Throttled  uint64 // requests refused by throttling (ErrThrottled)
	Responses  uint64 // responses delivered to endpoints, provisional and final
	Stray      uint64 // responses dropped: top Via not ours (RFC 3261 §18.1.2)
	Late       uint64 // responses dropped: ours, but their request had ended
	Timeouts   uint64 // requests ended by ErrTimeout
	Broken     uint64 // requests ended by ErrConnBroken
	SendErrors uint64 // requests ended by ErrSendFailed

	Outstanding int64 // requests waiting for a final response now
}

type stats struct {
	requests    atomic.Uint64
	routed      [RuleDefault + 1]atomic.Uint64 // by Rule; RuleNone is Unrouted
	declined    atomic.Uint64
	malformed   atomic.Uint64
	replies     atomic.Uint64
	replyCodes  [600]atomic.Uint64 // replies by status - 100
	sent        atomic.Uint64
	sentACK     atomic.Uint64
	throttled   atomic.Uint64
	responses   atomic.Uint64
	stray       atomic.Uint64
	late        atomic.Uint64
	timeouts    atomic.Uint64
	broken      atomic.Uint64
	sendErrors  atomic.Uint64
	outstanding atomic.Int64
}

// Stats returns a snapshot of the counters. Any goroutine.
func (d *Dispatcher) Stats() Stats {
	s := &d.stats
	return Stats{
		Requests:      s.requests.Load(),
		RoutedDialog:  s.routed[RuleDialog].Load(),
		RoutedToken:   s.routed[RuleToken].Load(),
		RoutedGRUU:    s.routed[RuleGRUU].Load(),
		RoutedAOR:     s.routed[RuleAOR].Load(),
		RoutedDefault: s.routed[RuleDefault].Load(),
		Unrouted:      s.routed[RuleNone].Load(),
		Declined:      s.declined.Load(),
		Malformed:     s.malformed.Load(),
		Replies:       s.replies.Load(),
		Sent:          s.sent.Load(),
		SentACK:       s.sentACK.Load(),
		Throttled:     s.throttled.Load(),
		Responses:     s.responses.Load(),
		Stray:         s.stray.Load(),
		Late:          s.late.Load(),
		Timeouts:      s.timeouts.Load(),
		Broken:        s.broken.Load(),
		SendErrors:    s.sendErrors.Load(),
		Outstanding:   s.outstanding.Load(),
	}
}

// ReplyCounts returns the responses the dispatcher sent itself, by status
// code (500, 481, 400 and endpoints' declines). Any goroutine; it allocates,
// so call it off the hot path.
func (d *Dispatcher) ReplyCounts() map[int]uint64 {
	out := make(map[int]uint64)
	for i := range d.stats.replyCodes {
		if n := d.stats.replyCodes[i].Load(); n > 0 {
			out[i+100] = n
		}
	}
	return out
}
