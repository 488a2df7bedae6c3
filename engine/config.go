package engine

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/internal/wheel"
	"github.com/sipcm/sipcm/pool"
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
	// Nil means the manager's dispatcher ([Manager.Dispatcher]): requests
	// go to the endpoints added to it, those no endpoint takes are
	// answered by it (500, 481 for a CANCEL, nothing for an ACK), and
	// responses go to the endpoints that sent the requests.
	// [DefaultHandler] answers OPTIONS with 200 by itself. Whatever the
	// Handler, the dispatcher and the pools learn of every connection
	// that closes.
	Handler Handler

	// Dispatch configures the manager's dispatcher (T1, Timeout,
	// ThrottleLimit, SentBy). Its Client, Transport, Clock and Tick are
	// set by the manager: the manager's kind, the manager itself, Clock
	// and Tick.
	Dispatch dispatch.Config

	// PoolSize is the default size of the pools of outgoing connections
	// the manager's endpoints send through (see package pool): 1 to
	// pool.MaxSize, or pool.Unlimited for no sharing (each endpoint gets
	// connections of its own). Zero means 5 (pool.DefaultPoolSize) on a
	// server manager and pool.Unlimited on a client manager.
	PoolSize int

	// Pool configures the pools further: OpenTimeout (zero means
	// DialTimeout), LeaseTimeout, Linger, DrainTimeout, and SweepInterval
	// (how often the manager's ticker sweeps the pools; zero means 1 s).
	// Its DefaultSize, Lanes and Now are set by the manager: PoolSize,
	// the loop count and Clock.
	Pool pool.Config

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

	// TLS configures TLS: the certificate and checks of a TLSServer's
	// listeners, and the outgoing TLS connections of every manager kind.
	// The zero value verifies servers against the system roots.
	TLS TLSConfig
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
	case c.PoolSize != pool.Unlimited && (c.PoolSize < 0 || c.PoolSize > pool.MaxSize):
		return configError("PoolSize is neither 1 to pool.MaxSize nor pool.Unlimited")
	}
	if err := (wheel.Config{Tick: c.Tick, Slots: c.WheelSlots}).Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := c.Limits.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := c.Dispatch.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	pc := c.Pool
	pc.DefaultSize, pc.Lanes = 0, 0
	if err := pc.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return c.TLS.validate()
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.Default()
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
