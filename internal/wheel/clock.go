package wheel

import (
	"sync/atomic"
	"time"
)

// Clock reads monotonic time as a duration since an arbitrary origin fixed
// when the clock was made. Implementations are safe for any goroutine.
type Clock interface {
	Now() time.Duration
}

// NewClock returns a Clock backed by the monotonic reading of the system
// clock, with its origin at the call.
func NewClock() Clock { return realClock{origin: time.Now()} }

type realClock struct{ origin time.Time }

func (c realClock) Now() time.Duration { return time.Since(c.origin) }

// FakeClock is a Clock moved by hand, for tests. The zero FakeClock reads 0.
// Its methods are safe for any goroutine.
type FakeClock struct {
	now atomic.Int64
}

// Now returns the current fake time.
func (c *FakeClock) Now() time.Duration { return time.Duration(c.now.Load()) }

// Set moves the clock to t (it may go backwards: a Wheel ignores that).
func (c *FakeClock) Set(t time.Duration) {
	c.now.Store(int64(t))
}

// Add moves the clock forward by d and returns the new time.
func (c *FakeClock) Add(d time.Duration) time.Duration {
	return time.Duration(c.now.Add(int64(d)))
}
