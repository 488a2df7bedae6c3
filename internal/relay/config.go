package relay

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/pool"
)

// Defaults used for zero fields of Config.
const (
	// DefaultMaxWaiting bounds the requests waiting for a dial.
	DefaultMaxWaiting = 1024
	// DefaultGroup is the pool identity of the relay's endpoint.
	DefaultGroup = "sipcm-relay"
)

// maxTries is how many more times a request that waited for a dial, or
// whose send failed, asks the pool for a connection before it is answered
// 503.
const maxTries = 3

// Errors returned by the package.
var (
	// ErrConfig is wrapped by the errors of Config.Validate and
	// ParseUpstream.
	ErrConfig = errors.New("relay: invalid config")
	// ErrAttached means Attach was called twice.
	ErrAttached = errors.New("relay: already attached")
)

// Config configures a Relay. The zero value of every field but Upstream
// selects the default named in its comment.
type Config struct {
	// Upstream is where every request is forwarded: host, port (0 means
	// 5060, or 5061 for TLS) and transport ("TCP" or "TLS"; empty means
	// TCP). Required. ParseUpstream makes it from a URL.
	Upstream dispatch.Dest

	// PoolSize is the number of connections to the upstream that all
	// clients share: 1 to pool.MaxSize. Zero leaves the manager's default
	// pool size (engine.Config.PoolSize).
	PoolSize int

	// MaxWaiting bounds the requests waiting for a connection to the
	// upstream to be dialed; beyond it they are answered 503 at once.
	// Zero means DefaultMaxWaiting.
	MaxWaiting int

	// Group is the pool identity of the relay's endpoint (see
	// dispatch.EndpointConfig.Group). Empty means DefaultGroup.
	Group string

	// Logger receives the relay's logs. Nil means slog.Default().
	Logger *slog.Logger
}

// Validate reports whether c is usable; errors wrap ErrConfig.
func (c *Config) Validate() error {
	switch {
	case c.Upstream.Host == "":
		return fmt.Errorf("%w: no upstream host", ErrConfig)
	case c.Upstream.Transport != "" && !strings.EqualFold(c.Upstream.Transport, "TCP") &&
		!strings.EqualFold(c.Upstream.Transport, "TLS"):
		return fmt.Errorf("%w: upstream transport %q (want TCP or TLS)", ErrConfig, c.Upstream.Transport)
	case c.PoolSize < 0 || c.PoolSize > pool.MaxSize:
		return fmt.Errorf("%w: pool size %d (want 1 to %d)", ErrConfig, c.PoolSize, pool.MaxSize)
	case c.MaxWaiting < 0:
		return fmt.Errorf("%w: negative MaxWaiting", ErrConfig)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.MaxWaiting == 0 {
		c.MaxWaiting = DefaultMaxWaiting
	}
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Upstream.Transport = strings.ToUpper(c.Upstream.Transport)
	if c.Upstream.Transport == "" {
		c.Upstream.Transport = "TCP"
	}
	return c
}

// ParseUpstream parses an upstream URL, "tcp://HOST:PORT" or
// "tls://HOST:PORT" (the port may be left out: 5060 for TCP, 5061 for TLS;
// an IPv6 address is written in brackets). Errors wrap ErrConfig.
func ParseUpstream(s string) (dispatch.Dest, error) {
	var d dispatch.Dest
	u, err := url.Parse(s)
	if err != nil {
		return d, fmt.Errorf("%w: upstream %q: %v", ErrConfig, s, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "tcp":
		d.Transport = "TCP"
	case "tls":
		d.Transport = "TLS"
	default:
		return d, fmt.Errorf("%w: upstream %q: scheme must be tcp:// or tls://", ErrConfig, s)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return d, fmt.Errorf("%w: upstream %q: want only scheme, host and port", ErrConfig, s)
	}
	d.Host = u.Hostname()
	if d.Host == "" {
		return d, fmt.Errorf("%w: upstream %q: no host", ErrConfig, s)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return d, fmt.Errorf("%w: upstream %q: bad port", ErrConfig, s)
		}
		d.Port = uint16(n)
	}
	return d, nil
}

// UpstreamString formats d back as a URL, "tcp://HOST:PORT".
func UpstreamString(d dispatch.Dest) string {
	port := d.Port
	tr := strings.ToLower(d.Transport)
	if tr == "" {
		tr = "tcp"
	}
	if port == 0 {
		port = 5060
		if tr == "tls" {
			port = 5061
		}
	}
	return tr + "://" + net.JoinHostPort(d.Host, strconv.Itoa(int(port)))
}
