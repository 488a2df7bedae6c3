package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/internal/relay"
	"github.com/sipcm/sipcm/pool"
)

// finalFlush bounds the flush of the 503s a stop sends for the requests
// still pending when --drain-timeout has passed.
const finalFlush = time.Second

// Defaults of the relay flags.
const (
	defaultPoolSize     = pool.DefaultPoolSize
	defaultRelayTimeout = 64 * dispatch.DefaultT1 // RFC 3261 §17.1.2.2, timer F
)

// relayOptions are the flags of sipcm relay: serve's, and the upstream's.
type relayOptions struct {
	*serveOptions
	upstream    string
	poolSize    int
	timeout     time.Duration
	dialTimeout time.Duration
	maxWaiting  int
	upstreamCA  string
	upName      string
}

func defaultRelayOptions() *relayOptions {
	return &relayOptions{
		serveOptions: defaultServeOptions(),
		poolSize:     defaultPoolSize,
		timeout:      defaultRelayTimeout,
		dialTimeout:  engine.DefaultDialTimeout,
		maxWaiting:   relay.DefaultMaxWaiting,
	}
}

func (o *relayOptions) register(fs *flag.FlagSet) {
	o.serveOptions.register(fs)
	fs.StringVar(&o.upstream, "upstream", "", "`url` of the upstream every request is forwarded to: tcp://HOST:PORT or tls://HOST:PORT (required)")
	fs.IntVar(&o.poolSize, "pool-size", o.poolSize, "connections to the upstream, shared by all clients")
	fs.DurationVar(&o.timeout, "timeout", o.timeout, "answer 408 to a request with no final response from the upstream within this `duration` (64*T1)")
	fs.DurationVar(&o.dialTimeout, "dial-timeout", o.dialTimeout, "bound on connecting to the upstream; the requests waiting meanwhile get 503 when it fails")
	fs.IntVar(&o.maxWaiting, "max-waiting", o.maxWaiting, "most requests waiting for a connection to the upstream; more get 503 at once")
	fs.StringVar(&o.upstreamCA, "upstream-ca", "", "CA certificates `file` (PEM) that verifies a tls:// upstream (default: the system roots)")
	fs.StringVar(&o.upName, "upstream-name", "", "`name` a tls:// upstream's certificate must carry when it is not the upstream's host (RFC 5922)")
}

// check reports a bad flag combination and parses the upstream.
func (o *relayOptions) check() (dispatch.Dest, error) {
	if err := o.serveOptions.check(); err != nil {
		return dispatch.Dest{}, err
	}
	switch {
	case o.upstream == "":
		return dispatch.Dest{}, errors.New("--upstream is required")
	case o.poolSize < 1 || o.poolSize > pool.MaxSize:
		return dispatch.Dest{}, fmt.Errorf("--pool-size must be 1 to %d", pool.MaxSize)
	case o.timeout <= 0 || o.dialTimeout <= 0:
		return dispatch.Dest{}, errors.New("--timeout and --dial-timeout must be positive")
	case o.maxWaiting < 1:
		return dispatch.Dest{}, errors.New("--max-waiting must be positive")
	}
	d, err := relay.ParseUpstream(o.upstream)
	if err == nil && d.Transport != "TLS" && (o.upstreamCA != "" || o.upName != "") {
		err = errors.New("--upstream-ca and --upstream-name are used only with a tls:// upstream")
	}
	return d, err
}

func runRelay(ctx context.Context, args []string, stdout, stderr io.Writer, getenv env) int {
	o := defaultRelayOptions()
	fs := newFlagSet("relay", "--upstream tcp://HOST:PORT [flags]",
		"Forward every SIP request that arrives over TCP or TLS to one upstream\n"+
			"through a pool of --pool-size connections shared by all clients, and relay\n"+
			"the responses back on the connection each request came on. The relay adds\n"+
			"its Via, decrements Max-Forwards (483 at zero) and adds received/rport to\n"+
			"the client's Via. A request that cannot reach the upstream, or whose\n"+
			"upstream connection breaks, gets 503; one unanswered within --timeout gets\n"+
			"408. Bound addresses are printed as \"listening KIND ADDR\". SIGINT or\n"+
			"SIGTERM stops accepting, waits for the requests in flight and stops; a\n"+
			"second signal ends at once.", stderr)
	o.register(fs)
	if code, ok := parseFlags(fs, args, getenv, stdout); !ok {
		return code
	}
	up, err := o.check()
	if err != nil {
		return usageError(fs, "%v", err)
	}
	log := newLogger(stderr, o.logLevel.level)
	var roots *x509.CertPool
	if o.upstreamCA != "" {
		pem, err := os.ReadFile(o.upstreamCA)
		if err != nil {
			log.Error("relay: upstream CA", "err", err)
			return exitError
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			log.Error("relay: upstream CA: no certificate", "file", o.upstreamCA)
			return exitError
		}
	}
	r, err := relay.New(relay.Config{Upstream: up, PoolSize: o.poolSize, MaxWaiting: o.maxWaiting, Logger: log})
	if err != nil {
		return usageError(fs, "%v", err)
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s, err := startServerWith(ctx, o.serveOptions, log, serverSetup{
		handler:   r,
		responses: relayResponses{r},
		config: func(c *engine.Config) {
			c.PoolSize = o.poolSize
			c.DialTimeout = o.dialTimeout
			c.Dispatch.Timeout = o.timeout
			c.TLS.Config.RootCAs = roots // verifies a tls:// upstream
			if o.upName != "" {
				c.TLS.ExpectedNames = map[string]string{up.Host: o.upName}
			}
		},
		attach: func(e *engine.TCPServer) error { return r.Attach(&e.Manager) },
	})
	if err != nil {
		log.Error("relay: start failed", "err", err)
		return exitError
	}
	s.printAddrs(stdout)
	log.Info("relaying; stop with SIGINT or SIGTERM", "upstream", relay.UpstreamString(up), "pool_size", o.poolSize)
	<-ctx.Done()
	stop() // a second signal now ends the process
	log.Info("draining", "timeout", o.drainTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), o.drainTimeout)
	defer cancel()
	// Stop accepting and let the requests in flight end. Those still
	// pending at the deadline are answered 503 while their clients are
	// still connected; then the connections drain.
	for _, ln := range s.eng.Listeners() {
		_ = ln.Close()
	}
	derr := r.Drain(sctx)
	_ = r.Close()
	if derr != nil {
		_ = r.Dispatcher().Close() // ends the requests outstanding: 503
		cancel()
		sctx, cancel = context.WithTimeout(context.Background(), finalFlush)
		defer cancel()
	}
	serr := s.shutdown(sctx)
	if err := errors.Join(derr, serr); err != nil {
		log.Warn("relay: drain incomplete", "err", err)
		return exitError
	}
	log.Info("stopped", "stats", fmt.Sprintf("%+v", r.Stats()))
	return exitOK
}

// relayResponses is the admin.ResponseCounter of relay: the relay's own
// answers (483, 503, 408) and the dispatcher's (a request the upstream
// sent us).
type relayResponses struct{ r *relay.Relay }

// ResponseCounts implements admin.ResponseCounter. Any goroutine.
func (rr relayResponses) ResponseCounts() map[int]uint64 {
	out := rr.r.ResponseCounts()
	if d := rr.r.Dispatcher(); d != nil {
		for code, n := range d.ReplyCounts() {
			out[code] += n
		}
	}
	return out
}
