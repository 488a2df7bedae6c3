// Package wheel is a hashed timing wheel for one event loop.
//
// A [Wheel] holds [Entry] values embedded in the caller's own objects (an
// intrusive list), so scheduling, rescheduling, cancelling and ticking never
// allocate and each costs O(1) (a tick costs the length of the slots it
// visits). Time is a monotonic [time.Duration] from an arbitrary origin,
// passed in by the caller (see [Clock]); the wheel never reads the system
// clock.
//
// Deadlines longer than one rotation (Tick × Slots) stay in their slot with
// their absolute tick number and are skipped until their round comes.
//
// # Lazy timestamps
//
// A busy connection should not touch the wheel per message. Arm its entry
// once for the idle timeout; on every message just store the time of the
// activity (one store). When the entry expires, the expiry callback compares
// the stored time with now: if the connection was active since, it re-arms
// the entry for the remaining time (lastActive + timeout) instead of closing.
// The per-message cost is one store and the wheel sees each connection about
// once per timeout. See the package example.
//
// A Wheel is used by one goroutine (the event loop that owns it): none of its
// methods is safe for concurrent use ("loop only").
package wheel

import (
	"errors"
	"time"
)

// Default configuration values used for zero fields of [Config].
const (
	DefaultTick  = 100 * time.Millisecond
	DefaultSlots = 4096
)

// MaxSlots is the largest slot count [Config.Validate] accepts.
const MaxSlots = 1 << 24

// ErrConfig is wrapped by the errors of [Config.Validate].
var ErrConfig = errors.New("wheel: invalid config")

// Config sets the resolution and size of a [Wheel]. The zero Config is valid.
type Config struct {
	// Tick is the resolution: an entry expires at the first tick boundary
	// at or after its deadline. Zero means DefaultTick (100 ms).
	Tick time.Duration

	// Slots is the number of slots, rounded up to a power of two. One
	// rotation lasts Tick × Slots; longer deadlines wait for their round.
	// Zero means DefaultSlots (4096, 409.6 s at the default tick).
	Slots int
}

// Validate reports whether c is usable, with zero fields standing for their
// defaults.
func (c Config) Validate() error {
	if c.Tick < 0 {
		return errorf("negative Tick")
	}
	if c.Slots < 0 || c.Slots > MaxSlots {
		return errorf("Slots out of range [0, 1<<24]")
	}
	return nil
}

func errorf(msg string) error { return &configError{msg} }

type configError struct{ msg string }

func (e *configError) Error() string { return "wheel: invalid config: " + e.msg }
func (e *configError) Unwrap() error { return ErrConfig }

// Entry is one scheduled item. Embed it (by value) in the object it times and
// set Value to that object (or anything that leads back to it) before first
// use. The zero Entry is not scheduled. An Entry belongs to at most one Wheel
// at a time and must not be copied while scheduled.
type Entry[T any] struct {
	// Value is passed to the expiry callback.
	Value T

	next, prev *Entry[T]
	at         int64 // absolute tick number at which the entry expires
}

// Scheduled reports whether e is in a wheel. Loop only.
func (e *Entry[T]) Scheduled() bool { return e.next != nil }

// Wheel is a hashed timing wheel. Create it with [New]. Loop only.
type Wheel[T any] struct {
	tick   time.Duration
	mask   int64
	slots  []Entry[T] // sentinels of circular lists
	cur    int64      // last tick processed
	n      int
	expire func(v T, now time.Duration)

	pending Entry[T] // sentinel of the slot being processed
}

// New returns a wheel whose clock reads now, calling expire (on the
// goroutine that calls [Wheel.Advance]) for each entry whose deadline has
// passed. The callback may Add, Reset or Cancel any entry, including the
// expiring one. New panics if cfg is invalid or expire is nil.
func New[T any](cfg Config, now time.Duration, expire func(v T, now time.Duration)) *Wheel[T] {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if expire == nil {
		panic("wheel: nil expire callback")
	}
	if cfg.Tick == 0 {
		cfg.Tick = DefaultTick
	}
	if cfg.Slots == 0 {
		cfg.Slots = DefaultSlots
	}
	n := 1
	for n < cfg.Slots {
		n <<= 1
	}
	w := &Wheel[T]{
		tick:   cfg.Tick,
		mask:   int64(n - 1),
		slots:  make([]Entry[T], n),
		cur:    floorDiv(int64(now), int64(cfg.Tick)),
		expire: expire,
	}
	for i := range w.slots {
		s := &w.slots[i]
		s.next, s.prev = s, s
	}
	w.pending.next, w.pending.prev = &w.pending, &w.pending
	return w
}

// Tick returns the resolution of w. Loop only.
func (w *Wheel[T]) Tick() time.Duration { return w.tick }

// Len returns the number of scheduled entries. Loop only.
func (w *Wheel[T]) Len() int { return w.n }

// Now returns the time of the last tick processed (a multiple of Tick).
// Loop only.
func (w *Wheel[T]) Now() time.Duration { return time.Duration(w.cur * int64(w.tick)) }

// Add schedules e to expire at deadline, moving it if it is already
// scheduled. The entry expires in the first [Wheel.Advance] whose now is at
// or after deadline rounded up to a tick boundary, and never in the Advance
// that is running (so an expiry callback that re-adds its entry with a past
// deadline sees it again at the next tick). Loop only.
func (w *Wheel[T]) Add(e *Entry[T], deadline time.Duration) {
	if e.next != nil {
		unlink(e)
	} else {
		w.n++
	}
	at := ceilDiv(int64(deadline), int64(w.tick))
	if at <= w.cur {
		at = w.cur + 1
	}
	e.at = at
	s := &w.slots[at&w.mask]
	e.prev = s.prev
	e.next = s
	s.prev.next = e
	s.prev = e
}

// Reset is Add that reports whether e was scheduled before. Loop only.
func (w *Wheel[T]) Reset(e *Entry[T], deadline time.Duration) bool {
	was := e.next != nil
	w.Add(e, deadline)
	return was
}

// Cancel unschedules e and reports whether it was scheduled. Loop only.
func (w *Wheel[T]) Cancel(e *Entry[T]) bool {
	if e.next == nil {
		return false
	}
	unlink(e)
	w.n--
	return true
}

// Deadline returns the tick boundary at which e expires, and false if e is
// not scheduled. Loop only.
func (w *Wheel[T]) Deadline(e *Entry[T]) (time.Duration, bool) {
	if e.next == nil {
		return 0, false
	}
	return time.Duration(e.at * int64(w.tick)), true
}

// Advance moves the wheel to now, calling the expiry callback for every entry
// whose deadline is at or before the last tick boundary at or before now.
// Entries fire in deadline order (by tick) when now moves by at most one
// rotation; after a longer jump each slot is visited once and entries fire
// in slot order. A now earlier than the last Advance does nothing. Loop only.
func (w *Wheel[T]) Advance(now time.Duration) {
	target := floorDiv(int64(now), int64(w.tick))
	if target <= w.cur {
		return
	}
	// After a gap of more than one rotation, one visit of every slot
	// with the threshold rising to target expires exactly the entries due.
	if size := w.mask + 1; target-w.cur > size {
		w.cur = target - size
	}
	for w.cur < target {
		w.cur++
		if w.n == 0 {
			w.cur = target
			return
		}
		w.runSlot(&w.slots[w.cur&w.mask], now)
	}
}

// runSlot expires the due entries of slot s at tick w.cur. The slot's list
// is moved to w.pending first so that callbacks may add and cancel freely:
// an entry the callback schedules lands in a slot list, never in pending,
// and an entry it cancels from pending just leaves it.
func (w *Wheel[T]) runSlot(s *Entry[T], now time.Duration) {
	if s.next == s {
		return
	}
	p := &w.pending
	p.next, p.prev = s.next, s.prev
	p.next.prev, p.prev.next = p, p
	s.next, s.prev = s, s
	for p.next != p {
		e := p.next
		unlink(e)
		if e.at > w.cur { // a later round: back into its slot
			e.prev = s.prev
			e.next = s
			s.prev.next = e
			s.prev = e
			continue
		}
		w.n--
		w.expire(e.Value, now)
	}
}

func unlink[T any](e *Entry[T]) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.next, e.prev = nil, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a > 0 {
		q++
	}
	return q
}
