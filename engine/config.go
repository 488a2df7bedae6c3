package engine

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/sipcm/sipcm/internal/wheel"
	"github.com/sipcm/sipcm/sipparse"
)

// Default configuration values used for zero fields of [Config].
const (
	DefaultTick                = 100 * time.Millisecond
	DefaultWheelSlots          = 4096
	DefaultFirstMessageTimeout = time.Minute
	DefaultIdleTimeoutIn       = 15 * time.Minute
	DefaultIdleTimeoutOut      = 15 * time.Minute
	DefaultDialTimeout         = 10 * time.Second
	DefaultWriteHighWater      = 1 << 20
	DefaultReadBufferCap       = 64 << 10
	DefaultShutdownPoll        = 50 * time.Millisecond
)

// Clock reads monotonic time as a duration since an arbitrary origin fixed
// when the clock was made; it must be safe for any goroutine. Tests inject a
// fake one (internal/wheel.FakeClock satisfies it).
type Clock interface {
	Now() time.Duration
}

// Config configures a manager. The zero Config is valid: every zero field
// selects the default named in its comment. A negative timeout disables it.
type Config struct {
	// Logger receives structured logs. Nil means slog.Default().
	Logger *slog.Logger

	// Handler receives every message read, on the connection's loop.
	// Nil means DefaultHandler, which answers OPTIONS with 200.
	Handler Handler

	// Loops is the number of gnet event loops. Zero means one per CPU.
	Loops int

	// LockOSThread pins each loop to an OS thread.
	LockOSThread bool

	// ReadBufferCap is the size of each loop's read buffer, rounded up to
	// a power of two. Zero means 64 KiB.
	ReadBufferCap int

	// Clock is the time source of the timeouts. Nil means the system's
	// monotonic clock.
	Clock Clock

	// Tick is the resolution of the timeouts and the period of the
	// ticker that advances each loop's timing wheel. Zero means 100 ms.
	Tick time.Duration

	// WheelSlots is the slot count of each loop's timing wheel. Zero
	// means 4096 (409.6 s per rotation at the default tick).
	WheelSlots int

	// FirstMessageTimeout closes an incoming connection that has not
	// sent a whole message (a keep-alive is not one) within it. Zero
	// means 1 minute.
	FirstMessageTimeout time.Duration

	// IdleTimeoutIn closes an incoming connection with no traffic in
	// either direction for that long. Zero means 15 minutes.
	IdleTimeoutIn time.Duration

	// IdleTimeoutOut is IdleTimeoutIn for outgoing connections. Zero
	// means 15 minutes. [Conn.SetIdleTimeout] overrides both per
	// connection.
	IdleTimeoutOut time.Duration

	// DialTimeout bounds the TCP connect of an outgoing connection.
	// Zero means 10 seconds.
	DialTimeout time.Duration

	// TCPKeepAlive is the TCP keep-alive period of accepted and dialed
	// sockets. Zero means Go's default (15 s); negative disables it.
	TCPKeepAlive time.Duration

	// WriteHighWater is the per-connection limit, in bytes, on data
	// waiting in gnet's outbound buffer: while it is reached, sends fail
	// with ErrBackpressure. Zero means 1 MiB.
	WriteHighWater int

	// MaxConns bounds the incoming connections open at once; more are
	// refused at accept. Zero means no limit.
	MaxConns int

	// MaxConnsPerIP bounds the incoming connections open at once from one
	// remote IP address. Zero means no limit.
	MaxConnsPerIP int

	// Limits bounds the size of the messages read. Zero fields select
	// sipparse's defaults.
	Limits sipparse.Limits

	// ShutdownPoll is how often Shutdown checks whether the outbound
	// buffers have drained. Zero means 50 ms.
	ShutdownPoll time.Duration
}

// Validate reports whether c is usable. Zero fields stand for their
// defaults; errors wrap ErrConfig.
func (c *Config) Validate() error {
	switch {
	case c.Loops < 0:
		return configError("Loops is negative")
	case c.ReadBufferCap < 0:
		return configError("ReadBufferCap is negative")
	case c.Tick < 0:
		return configError("Tick is negative")
	case c.DialTimeout < 0:
		return configError("DialTimeout is negative")
	case c.WriteHighWater < 0:
		return configError("WriteHighWater is negative")
	case c.MaxConns < 0:
		return configError("MaxConns is negative")
	case c.MaxConnsPerIP < 0:
		return configError("MaxConnsPerIP is negative")
	case c.ShutdownPoll < 0:
		return configError("ShutdownPoll is negative")
	}
	if err := (wheel.Config{Tick: c.Tick, Slots: c.WheelSlots}).Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := c.Limits.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Handler == nil {
		c.Handler = DefaultHandler{}
	}
	if c.ReadBufferCap == 0 {
		c.ReadBufferCap = DefaultReadBufferCap
	}
	if c.Clock == nil {
		c.Clock = wheel.NewClock()
	}
	if c.Tick == 0 {
		c.Tick = DefaultTick
	}
	if c.WheelSlots == 0 {
		c.WheelSlots = DefaultWheelSlots
	}
	c.FirstMessageTimeout = orDefault(c.FirstMessageTimeout, DefaultFirstMessageTimeout)
	c.IdleTimeoutIn = orDefault(c.IdleTimeoutIn, DefaultIdleTimeoutIn)
	c.IdleTimeoutOut = orDefault(c.IdleTimeoutOut, DefaultIdleTimeoutOut)
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.WriteHighWater == 0 {
		c.WriteHighWater = DefaultWriteHighWater
	}
	if c.ShutdownPoll == 0 {
		c.ShutdownPoll = DefaultShutdownPoll
	}
	return c
}

// orDefault maps 0 to def and a negative timeout to 0 (disabled).
func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}
