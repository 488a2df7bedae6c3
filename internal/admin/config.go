package admin

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/sipcm/sipcm/engine"
)

// DefaultAddr is the address served when Config.Addr is empty.
const DefaultAddr = "127.0.0.1:8060"

// DefaultReadHeaderTimeout bounds the reading of a request's header.
const DefaultReadHeaderTimeout = 5 * time.Second

// Errors returned by a Server.
var (
	// ErrConfig is wrapped by the errors of Config.Validate.
	ErrConfig = errors.New("admin: invalid config")
	// ErrStarted means Start was called twice.
	ErrStarted = errors.New("admin: server already started")
	// ErrClosed means the server was closed.
	ErrClosed = errors.New("admin: server closed")
)

// Engine is an engine manager as the endpoint sees it; *engine.TCPServer,
// *engine.ClientManager and *engine.Manager implement it.
type Engine interface {
	Conns(dst []engine.ConnInfo) []engine.ConnInfo
	Stats() engine.Stats
}

// ResponseCounter reports the responses the process made by itself (the
// built-in endpoints and dispatch's automatic answers), by status code. It
// must be safe for any goroutine.
type ResponseCounter interface {
	ResponseCounts() map[int]uint64
}

// TLSCounter reports refused or failed TLS handshakes by reason (for
// example tlsbridge.Reason names). It must be safe for any goroutine.
type TLSCounter interface {
	TLSRefusals() map[string]uint64
}

// PoolSource enumerates the upstream connection pools. It must be safe for
// any goroutine.
type PoolSource interface {
	Pools() []Pool
}

// Pool describes one upstream pool for /pools and /metrics.
type Pool struct {
	Name  string // the destination, e.g. "tcp:10.0.0.1:5060"
	Size  int    // configured size; -1 for unlimited
	Conns []PoolConn
}

// PoolConn describes one connection of a pool.
type PoolConn struct {
	ID    uint64 // engine connection ID, 0 while dialing
	State string // "dialing", "active", "draining", "broken", ...
	Age   time.Duration
	Idle  time.Duration
}

// Config configures a Server. Zero fields select the defaults named in their
// comments.
type Config struct {
	// Addr is the TCP address to listen on. Empty means DefaultAddr; port 0
	// picks a free port (see Server.Addr).
	Addr string

	// Engines are the managers whose connections and counters are served;
	// counters are added up over them.
	Engines []Engine

	// Responses, TLS and Pools are optional hooks; nil reports nothing.
	Responses ResponseCounter
	TLS       TLSCounter
	Pools     PoolSource

	// Logger receives errors of the HTTP server. Nil means slog.Default().
	Logger *slog.Logger

	// ReadHeaderTimeout bounds reading a request header. Zero means
	// DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
}

// Validate reports whether c is usable; errors wrap ErrConfig.
func (c *Config) Validate() error {
	if c.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			return fmt.Errorf("%w: address %q: %v", ErrConfig, c.Addr, err)
		}
	}
	for i, e := range c.Engines {
		if e == nil {
			return fmt.Errorf("%w: engine %d is nil", ErrConfig, i)
		}
	}
	if c.ReadHeaderTimeout < 0 {
		return fmt.Errorf("%w: negative read header timeout", ErrConfig)
	}
	return nil
}
