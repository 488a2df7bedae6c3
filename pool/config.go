package pool

import (
	"fmt"
	"runtime"
	"time"
)

// Sizes and defaults.
const (
	// Unlimited as a pool size turns sharing off: every handle gets a
	// connection of its own. It is the size client managers use.
	Unlimited = -1
	// MaxSize is the largest size a shared pool may have.
	MaxSize = 1024
	// DefaultPoolSize is the size of new pools when Config.DefaultSize is
	// zero (server managers).
	DefaultPoolSize = 5
	// DefaultOpenTimeout bounds a dial when Config.OpenTimeout is zero.
	DefaultOpenTimeout = 5 * time.Second
	// DefaultLinger is how long an unreferenced pool keeps its connections
	// when Config.Linger is zero.
	DefaultLinger = 20 * time.Second
	// NoLinger as Config.Linger closes a pool as soon as its last handle
	// is released.
	NoLinger time.Duration = -1
	// DefaultDrainTimeout is the longest a retired connection waits for
	// its in-flight work when Config.DrainTimeout is zero: 64*T1 of
	// RFC 3261, the lifetime of a transaction.
	DefaultDrainTimeout = 32 * time.Second
	// DefaultSweepInterval is the period of the goroutine started by
	// Manager.Start when Config.SweepInterval is zero.
	DefaultSweepInterval = time.Second
	// MaxLanes is the largest number of round-robin counters per pool.
	MaxLanes = 256
)

// Config configures a Manager. The zero value is a server manager's
// configuration: pools of DefaultPoolSize, no lease, DefaultLinger.
type Config struct {
	// DefaultSize is the size of the pools the manager creates: zero means
	// DefaultPoolSize, Unlimited turns sharing off (one connection per
	// handle, the client manager's setting), otherwise 1..MaxSize.
	DefaultSize int
	// OpenTimeout bounds one dial. Zero means DefaultOpenTimeout.
	OpenTimeout time.Duration
	// LeaseTimeout retires connections older than it, so that load
	// balancers in front of the destination can rebalance. Zero means no
	// lease: connections live until they break or are closed.
	LeaseTimeout time.Duration
	// Linger is how long a pool that no handle references keeps its
	// connections. Zero means DefaultLinger; a negative value (NoLinger)
	// closes the pool at once.
	Linger time.Duration
	// DrainTimeout is the longest a retired connection (surplus after a
	// shrink, past its lease, released by its handle) waits for its
	// in-flight work before it is closed anyway. Zero means
	// DefaultDrainTimeout.
	DrainTimeout time.Duration
	// SweepInterval is how often the goroutine started by Start calls
	// Sweep. Zero means DefaultSweepInterval.
	SweepInterval time.Duration
	// Lanes is the number of round-robin lanes of each pool, rounded up
	// to a power of two; each costs 128 bytes per pool. Get callers on
	// different lanes do not contend; GetLoop needs at least as many lanes
	// as the engine has event loops. Zero means GOMAXPROCS (at NewManager)
	// rounded up, at most MaxLanes.
	Lanes int
	// Now returns the current time. Nil means time.Now. Tests inject a
	// clock here and call Sweep with explicit times.
	Now func() time.Time
}

// Validate reports the first invalid field, wrapping ErrConfig.
func (c *Config) Validate() error {
	switch {
	case c.DefaultSize != Unlimited && (c.DefaultSize < 0 || c.DefaultSize > MaxSize):
		return fmt.Errorf("%w: DefaultSize %d", ErrConfig, c.DefaultSize)
	case c.OpenTimeout < 0:
		return fmt.Errorf("%w: negative OpenTimeout", ErrConfig)
	case c.LeaseTimeout < 0:
		return fmt.Errorf("%w: negative LeaseTimeout", ErrConfig)
	case c.DrainTimeout < 0:
		return fmt.Errorf("%w: negative DrainTimeout", ErrConfig)
	case c.SweepInterval < 0:
		return fmt.Errorf("%w: negative SweepInterval", ErrConfig)
	case c.Lanes < 0 || c.Lanes > MaxLanes:
		return fmt.Errorf("%w: Lanes %d", ErrConfig, c.Lanes)
	}
	return nil
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	if c.DefaultSize == 0 {
		c.DefaultSize = DefaultPoolSize
	}
	if c.OpenTimeout == 0 {
		c.OpenTimeout = DefaultOpenTimeout
	}
	if c.Linger == 0 {
		c.Linger = DefaultLinger
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = DefaultSweepInterval
	}
	if c.Lanes == 0 {
		c.Lanes = min(runtime.GOMAXPROCS(0), MaxLanes)
	}
	n := 1
	for n < c.Lanes {
		n <<= 1
	}
	c.Lanes = n
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func validSize(n int) bool { return n == Unlimited || (n >= 1 && n <= MaxSize) }
