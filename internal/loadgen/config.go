package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Default values used for zero fields of Config.
const (
	DefaultConns       = 1
	DefaultPipeline    = 1
	DefaultDuration    = 10 * time.Second // when Requests is zero
	DefaultMaxDuration = time.Minute      // bound of a run with Requests set
	DefaultTimeout     = 5 * time.Second
	DefaultDialTimeout = 5 * time.Second

	// MaxPipeline bounds Config.Pipeline.
	MaxPipeline = 1 << 16
	// MaxConns bounds Config.Conns.
	MaxConns = 1 << 17
)

// ErrConfig is wrapped by the errors of Config.Validate.
var ErrConfig = errors.New("loadgen: invalid config")

// DialFunc opens a connection to address. A TLS dialer plugs in here.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// Config configures a Generator. Zero fields select the defaults named in
// their comments; Addr is required.
type Config struct {
	// Network is "tcp", "tcp4" or "tcp6". Empty means "tcp".
	Network string
	// Addr is the target, "host:port".
	Addr string
	// Dial opens the connections. Nil means a net.Dialer with DialTimeout.
	Dial DialFunc
	// Transport is the transport written in the Via header field. Empty
	// means "TCP".
	Transport string
	// Host is the host of the Request-URI and To. Empty means the host of
	// Addr.
	Host string

	// Conns is the number of connections. Zero means 1.
	Conns int
	// Pipeline is the number of requests outstanding per connection. Zero
	// means 1.
	Pipeline int
	// Requests is the total number of requests to send; zero means no
	// count, and the run lasts Duration.
	Requests uint64
	// Duration bounds the sending time of the run. Zero means 10 s when
	// Requests is zero and 1 minute otherwise.
	Duration time.Duration
	// Rate paces the run to this many requests per second in total, split
	// evenly over the connections. Each connection sends the requests due
	// since the start in one write and sleeps at least a millisecond in
	// between (more with over 50 connections), within its Pipeline; one
	// that falls more than a second behind forgets the older requests
	// rather than catch up. Zero means as fast as the responses come.
	Rate float64
	// Timeout is how long a request waits for its final response before
	// it counts as timed out. Zero means 5 s.
	Timeout time.Duration
	// DialTimeout bounds each connect. Zero means 5 s.
	DialTimeout time.Duration
}

// Validate reports whether c is usable; errors wrap ErrConfig.
func (c *Config) Validate() error {
	switch c.Network {
	case "", "tcp", "tcp4", "tcp6":
	default:
		return fmt.Errorf("%w: network %q", ErrConfig, c.Network)
	}
	if c.Addr == "" {
		return fmt.Errorf("%w: no target address", ErrConfig)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("%w: target %q: %v", ErrConfig, c.Addr, err)
	}
	switch {
	case c.Conns < 0 || c.Conns > MaxConns:
		return fmt.Errorf("%w: conns %d not in 0..%d", ErrConfig, c.Conns, MaxConns)
	case c.Pipeline < 0 || c.Pipeline > MaxPipeline:
		return fmt.Errorf("%w: pipeline %d not in 0..%d", ErrConfig, c.Pipeline, MaxPipeline)
	case c.Duration < 0:
		return fmt.Errorf("%w: negative duration", ErrConfig)
	case c.Rate < 0:
		return fmt.Errorf("%w: negative rate", ErrConfig)
	case c.Timeout < 0:
		return fmt.Errorf("%w: negative timeout", ErrConfig)
	case c.DialTimeout < 0:
		return fmt.Errorf("%w: negative dial timeout", ErrConfig)
	}
	for _, b := range []byte(c.Host + c.Transport) {
		if b <= ' ' || b >= 0x7f || b == '<' || b == '>' || b == ';' {
			return fmt.Errorf("%w: bad character in host or transport", ErrConfig)
		}
	}
	return nil
}

// withDefaults returns c with its zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Network == "" {
		c.Network = "tcp"
	}
	if c.Transport == "" {
		c.Transport = "TCP"
	}
	if c.Host == "" {
		c.Host, _, _ = net.SplitHostPort(c.Addr)
		if c.Host == "" {
			c.Host = "localhost"
		}
		if ip := net.ParseIP(c.Host); ip != nil && ip.To4() == nil {
			c.Host = "[" + c.Host + "]"
		}
	}
	if c.Conns == 0 {
		c.Conns = DefaultConns
	}
	if c.Pipeline == 0 {
		c.Pipeline = DefaultPipeline
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
		if c.Requests > 0 {
			c.Duration = DefaultMaxDuration
		}
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.Dial == nil {
		d := &net.Dialer{Timeout: c.DialTimeout}
		c.Dial = d.DialContext
	}
	return c
}
