package dispatch

import (
	"time"
)

// Default configuration values used for zero fields of [Config].
const (
	DefaultT1            = 500 * time.Millisecond
	DefaultThrottleLimit = 20
	DefaultTick          = 100 * time.Millisecond
)

// Clock reads monotonic time as a duration since an arbitrary origin; it
// must be safe for any goroutine. The engine's clock and
// internal/wheel.FakeClock satisfy it.
type Clock interface {
	Now() time.Duration
}

// Config configures a [Dispatcher]. The zero Config is valid: every zero
// field selects the default named in its comment.
type Config struct {
	// Client says that the dispatcher serves a client manager, which only
	// dials: peer-to-peer endpoints are then refused with
	// ErrPeerToPeerOnClient.
	Client bool

	// Transport gives the connections requests are sent on. It may be
	// nil and set later with Dispatcher.SetTransport (the manager that
	// implements it usually needs the dispatcher first).
	Transport Transport

	// T1 is the RTT estimate of RFC 3261 §17.1.1.1. Zero means 500 ms.
	T1 time.Duration

	// Timeout ends a request with no final response (ErrTimeout). Zero
	// means 64*T1 (RFC 3261 §17.1.2.2, timer F).
	Timeout time.Duration

	// ThrottleLimit is the most requests a throttled endpoint may have
	// outstanding on one connection. Zero means 20.
	ThrottleLimit int

	// SentBy is the sent-by ("host" or "host:port") of the Via header
	// field the dispatcher adds to the requests it sends. Empty means the
	// local address of the connection used.
	SentBy string

	// Clock is the time source of the timeouts. Nil means the system's
	// monotonic clock.
	Clock Clock

	// Tick is the resolution of the timeouts and the period of the
	// goroutine Start runs to expire them. Zero means 100 ms.
	Tick time.Duration
}

// Validate reports whether c is usable. Zero fields stand for their
// defaults; errors wrap ErrConfig.
func (c *Config) Validate() error {
	switch {
	case c.T1 < 0:
		return configError("T1 is negative")
	case c.Timeout < 0:
		return configError("Timeout is negative")
	case c.ThrottleLimit < 0:
		return configError("ThrottleLimit is negative")
	case c.Tick < 0:
		return configError("Tick is negative")
	}
	for i := 0; i < len(c.SentBy); i++ {
		if b := c.SentBy[i]; b <= ' ' || b >= 0x7f || b == ';' || b == ',' {
			return configError("SentBy holds a character not allowed in a Via sent-by")
		}
	}
	return nil
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.T1 == 0 {
		c.T1 = DefaultT1
	}
	if c.Timeout == 0 {
		c.Timeout = 64 * c.T1
	}
	if c.ThrottleLimit == 0 {
		c.ThrottleLimit = DefaultThrottleLimit
	}
	if c.Clock == nil {
		c.Clock = systemClock{origin: time.Now()}
	}
	if c.Tick == 0 {
		c.Tick = DefaultTick
	}
	return c
}

type systemClock struct{ origin time.Time }

func (c systemClock) Now() time.Duration { return time.Since(c.origin) }
