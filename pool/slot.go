package pool

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// slot holds at most one connection. Its entry pointer is nil (empty), a
// dialing entry (c == nil) or a live entry; every change is a
// compare-and-swap on the exact entry seen, so a stale writer never
// overwrites a newer connection.
type slot struct {
	e atomic.Pointer[entry]
	// retired is set once the slot left the pool's snapshot; a retired
	// slot accepts no new dial.
	retired atomic.Bool

	// Set by Pool.retire under Pool.mu.
	retiredGen uint64
	retiredAt  time.Time
}

// entry is one slot occupant. A live entry is immutable once published.
type entry struct {
	c    Conn      // nil while dialing
	born time.Time // when the dial finished

	// Dialing entries only: done is closed when the dial ends; err is set
	// before, nil on success. waiters are the ready functions of TryGet
	// callers, called once the dial ended (ended true).
	done    chan struct{}
	err     error
	wmu     sync.Mutex
	waiters []func(error)
	ended   bool
}

func newDialing() *entry { return &entry{done: make(chan struct{})} }

func (e *entry) usable() bool { return e != nil && e.c != nil && !e.c.Broken() }

// finish ends the dial of the dialing entry e with err and calls the
// waiters on this goroutine: nil means "a connection may be ready, try
// again" (also for errRetry, which never leaves the package).
func (e *entry) finish(err error) {
	e.err = err
	close(e.done)
	e.wmu.Lock()
	ws := e.waiters
	e.waiters, e.ended = nil, true
	e.wmu.Unlock()
	if err == errRetry {
		err = nil
	}
	for _, fn := range ws {
		fn(err)
	}
}

// await adds fn (if not nil) to the waiters of the dialing entry e and
// reports true, or reports false when the dial has already ended (e.err is
// then set).
func (e *entry) await(fn func(error)) bool {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	if e.ended {
		return false
	}
	if fn != nil {
		e.waiters = append(e.waiters, fn)
	}
	return true
}

// snapshot is an immutable view of a pool's slots, swapped whole on resize.
type snapshot struct {
	slots     []*slot
	n         uint32 // len(slots); 0 for unlimited and closed pools
	magic     uint64 // fastmod magic for n
	unlimited bool
	closed    bool
	// full is a hint that no slot is empty, so Get need not look for one
	// to grow into. It may be stale; a stale value costs one round of
	// growth late or a needless scan, never a wrong connection.
	full atomic.Bool
}

// lane holds the round-robin counters of one lane on 128 bytes of its own
// (two cache lines: the adjacent-line prefetcher pairs them, and at 64 bytes
// neighbouring lanes measurably slowed each other down): n for Get (atomic, shared by the goroutines on the lane) and loop for
// GetLoop (plain memory, owned by one event loop).
type lane struct {
	n    atomic.Uint32
	loop uint32
	_    [120]byte
}

// nextLoop returns the loop counter's next slot index below n. Loop only.
func (l *lane) nextLoop(n uint32) uint32 {
	v := l.loop
	if v >= n {
		v = 0 // the pool shrank
	}
	l.loop = v + 1
	return v
}

// drained is a connection taken out of its slot, waiting for its in-flight
// work before it is closed.
type drained struct {
	e   *entry
	gen uint64    // Pool.gen when it was drained
	at  time.Time // when it was drained
}

// modMagic returns the magic number with which fastmod divides by d.
func modMagic(d uint32) uint64 { return ^uint64(0)/uint64(d) + 1 }

// fastmod returns a % d, given m = modMagic(d), with two multiplications
// instead of a division (Lemire, Kaser and Kurz, "Faster Remainder by
// Direct Computation", 2019). It is exact for every 32-bit a and d > 0.
func fastmod(a uint32, m uint64, d uint32) uint32 {
	hi, _ := bits.Mul64(m*uint64(a), uint64(d))
	return uint32(hi)
}
