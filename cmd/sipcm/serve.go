package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os/signal"
	"syscall"
	"time"

	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/internal/admin"
)

// defaultDrainTimeout bounds the graceful stop of serve.
const defaultDrainTimeout = 10 * time.Second

// serveOptions are the flags of sipcm serve.
type serveOptions struct {
	tcp, tls            *listFlag
	cert, key           string
	mtls                bool
	ca                  string
	allow               *listFlag
	admin               string
	firstMessageTimeout time.Duration
	handshakeTimeout    time.Duration
	idleTimeout         time.Duration
	maxConns            int
	maxConnsPerIP       int
	loops               int
	drainTimeout        time.Duration
	logLevel            levelFlag
}

func defaultServeOptions() *serveOptions {
	return &serveOptions{
		tcp:          newListFlag("127.0.0.1:5060"),
		tls:          newListFlag("127.0.0.1:5061"),
		allow:        newListFlag(),
		admin:        admin.DefaultAddr,
		drainTimeout: defaultDrainTimeout,
	}
}

func (o *serveOptions) register(fs *flag.FlagSet) {
	fs.Var(o.tcp, "tcp", "SIP over TCP listening `address`, repeatable or comma-separated; port 0 picks a free port; \"none\" for none")
	fs.Var(o.tls, "tls", "SIP over TLS listening `address`, repeatable or comma-separated; \"none\" for none")
	fs.StringVar(&o.cert, "cert", "", "TLS certificate `file` (PEM, chain included); default: a self-signed certificate for localhost made in memory")
	fs.StringVar(&o.key, "key", "", "TLS private key `file` (PEM) of --cert")
	fs.BoolVar(&o.mtls, "mtls", false, "require client certificates on TLS listeners (mutual TLS; needs --ca)")
	fs.StringVar(&o.ca, "ca", "", "CA certificates `file` (PEM) that verifies client certificates under --mtls")
	fs.Var(o.allow, "allow", "`domains` allowed as mutual-TLS peers, comma-separated (default localhost)")
	fs.StringVar(&o.admin, "admin", o.admin, "admin HTTP `address` (/healthz, /connections, /pools, /metrics); \"none\" for none")
	fs.DurationVar(&o.firstMessageTimeout, "first-message-timeout", 0, "close a new connection that sends no whole message within this `duration` (0: 1m)")
	fs.DurationVar(&o.handshakeTimeout, "handshake-timeout", 0, "close a TLS connection whose handshake takes longer than this `duration` (0: 10s)")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", 0, "close a connection idle for this `duration` (0: 15m)")
	fs.IntVar(&o.maxConns, "max-conns", 0, "most incoming connections open at once (0: no limit)")
	fs.IntVar(&o.maxConnsPerIP, "max-conns-per-ip", 0, "most incoming connections open at once from one IP address (0: no limit)")
	fs.IntVar(&o.loops, "loops", 0, "event loops (0: one per CPU)")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", o.drainTimeout, "how long a graceful stop waits for outbound data to drain")
	fs.Var(&o.logLevel, "log-level", "log `level`: debug, info (default), warn or error")
}

// check reports a bad flag combination.
func (o *serveOptions) check() error {
	switch {
	case len(o.tcp.vals) == 0 && len(o.tls.vals) == 0:
		return errors.New("no --tcp or --tls address to listen on")
	case (o.cert == "") != (o.key == ""):
		return errors.New("--cert and --key go together")
	case o.mtls && o.ca == "":
		return errors.New("--mtls needs --ca")
	case !o.mtls && o.ca != "":
		return errors.New("--ca is used only with --mtls")
	case !o.mtls && o.allow.set:
		return errors.New("--allow is used only with --mtls")
	case o.maxConns < 0 || o.maxConnsPerIP < 0 || o.loops < 0:
		return errors.New("--max-conns, --max-conns-per-ip and --loops cannot be negative")
	case o.drainTimeout <= 0:
		return errors.New("--drain-timeout must be positive")
	}
	return nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, getenv env) int {
	o := defaultServeOptions()
	fs := newFlagSet("serve", "[flags]",
		"Serve SIP over TCP and TLS on the sipcm engine. OPTIONS gets 200 OK from a\n"+
			"built-in endpoint. Bound addresses are printed as \"listening KIND ADDR\".\n"+
			"SIGINT or SIGTERM drains and stops; a second signal ends at once.", stderr)
	o.register(fs)
	if code, ok := parseFlags(fs, args, getenv, stdout); !ok {
		return code
	}
	if err := o.check(); err != nil {
		return usageError(fs, "%v", err)
	}
	log := newLogger(stderr, o.logLevel.level)

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s, err := startServer(ctx, o, log)
	if err != nil {
		log.Error("serve: start failed", "err", err)
		return exitError
	}
	s.printAddrs(stdout)
	log.Info("serving; stop with SIGINT or SIGTERM")
	<-ctx.Done()
	stop() // a second signal now ends the process
	log.Info("draining", "timeout", o.drainTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), o.drainTimeout)
	defer cancel()
	if err := s.shutdown(sctx); err != nil {
		log.Warn("serve: drain incomplete", "err", err)
		return exitError
	}
	log.Info("stopped")
	return exitOK
}

// server is a running sipcm serve (or relay): the engine with its TCP
// listeners, the TLS service when there is one, and the admin endpoint.
type server struct {
	log     *slog.Logger
	handler engine.Handler
	eng     *engine.TCPServer
	tls     tlsService // nil while TLS is not served
	admin   *admin.Server
	tcp     []netip.AddrPort
}

// serverSetup is what a subcommand puts on the listeners and admin
// endpoint that serve sets up: the handler of every listener, the
// responses it makes itself (for /metrics), a change to the engine's
// config, and what to do with the engine once it is made (before it
// starts and listens).
type serverSetup struct {
	handler   engine.Handler
	responses admin.ResponseCounter
	config    func(*engine.Config)
	attach    func(*engine.TCPServer) error
}

// startServer starts everything o asks for, answering with serve's
// handler; on error it stops what it started.
func startServer(ctx context.Context, o *serveOptions, log *slog.Logger) (*server, error) {
	h := newServeHandler()
	return startServerWith(ctx, o, log, serverSetup{
		handler:   h,
		responses: h,
		attach: func(e *engine.TCPServer) error {
			h.d = e.Dispatcher()
			return nil
		},
	})
}

// startServerWith starts everything o asks for with the handler of su; on
// error it stops what it started.
func startServerWith(ctx context.Context, o *serveOptions, log *slog.Logger, su serverSetup) (s *server, err error) {
	ts, err := loadTLS(o, log)
	if err != nil {
		return nil, err
	}
	s = &server{log: log, handler: su.handler}
	defer func() {
		if err != nil {
			s.close()
			s = nil
		}
	}()
	cfg := engine.Config{
		Logger:              log,
		Handler:             s.handler,
		Loops:               o.loops,
		FirstMessageTimeout: o.firstMessageTimeout,
		IdleTimeoutIn:       o.idleTimeout,
		IdleTimeoutOut:      o.idleTimeout,
		MaxConns:            o.maxConns,
		MaxConnsPerIP:       o.maxConnsPerIP,
	}
	if su.config != nil {
		su.config(&cfg)
	}
	s.eng, err = engine.NewTCPServer(cfg)
	if err != nil {
		return s, err
	}
	if su.attach != nil {
		if err := su.attach(s.eng); err != nil {
			return s, err
		}
	}
	if err := s.eng.Start(); err != nil {
		return s, err
	}
	for _, a := range o.tcp.vals {
		ln, err := s.eng.Listen(ctx, "tcp", a)
		if err != nil {
			return s, fmt.Errorf("serve: tcp %s: %w", a, err)
		}
		s.tcp = append(s.tcp, ln.Addr())
	}
	if ts != nil {
		s.tls, err = startTLS(ctx, ts, s.handler, log)
		if err != nil {
			return s, err
		}
	}
	if o.admin != "" && o.admin != "none" {
		engines := []admin.Engine{s.eng}
		cfg := admin.Config{Addr: o.admin, Responses: su.responses, Pools: enginePools{&s.eng.Manager}, Logger: log}
		if s.tls != nil {
			engines = append(engines, s.tls)
			cfg.TLS = s.tls
		}
		cfg.Engines = engines
		s.admin, err = admin.New(cfg)
		if err != nil {
			return s, err
		}
		if err := s.admin.Start(); err != nil {
			return s, fmt.Errorf("serve: admin: %w", err)
		}
	}
	return s, nil
}

// enginePools is the admin.PoolSource of an engine manager's pools.
type enginePools struct{ m *engine.Manager }

// Pools implements admin.PoolSource. Any goroutine.
func (p enginePools) Pools() []admin.Pool {
	ps := p.m.Pools()
	out := make([]admin.Pool, 0, len(ps))
	for _, pi := range ps {
		ap := admin.Pool{Name: pi.Key.String(), Size: pi.Size, Conns: make([]admin.PoolConn, 0, len(pi.Conns))}
		for _, c := range pi.Conns {
			ap.Conns = append(ap.Conns, admin.PoolConn{ID: c.ID, State: c.State.String(), Age: c.Age, Idle: c.Idle})
		}
		out = append(out, ap)
	}
	return out
}

// printAddrs prints one "listening KIND ADDR" line per bound address.
func (s *server) printAddrs(w io.Writer) {
	for _, a := range s.tcp {
		fmt.Fprintf(w, "listening tcp %s\n", a)
	}
	if s.tls != nil {
		for _, a := range s.tls.Addrs() {
			fmt.Fprintf(w, "listening tls %s\n", a)
		}
	}
	if s.admin != nil {
		fmt.Fprintf(w, "listening admin http://%s\n", s.admin.Addr())
	}
}

// shutdown stops listening, drains the connections within ctx and stops
// the admin endpoint last, so it can be watched during the drain.
func (s *server) shutdown(ctx context.Context) error {
	var errs []error
	if s.tls != nil {
		errs = append(errs, s.tls.Shutdown(ctx))
	}
	if s.eng != nil {
		errs = append(errs, s.eng.Shutdown(ctx))
	}
	if s.admin != nil {
		errs = append(errs, s.admin.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// close stops everything at once.
func (s *server) close() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if s.tls != nil {
		_ = s.tls.Shutdown(ctx)
	}
	if s.eng != nil {
		_ = s.eng.Close()
	}
	if s.admin != nil {
		_ = s.admin.Close()
	}
}
