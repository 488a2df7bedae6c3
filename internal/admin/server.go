package admin

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Server is the administration HTTP endpoint.
type Server struct {
	cfg   Config
	log   *slog.Logger
	mux   *http.ServeMux
	start time.Time
	proc  string // the /proc directory of the process figures

	mu      sync.Mutex
	srv     *http.Server
	addr    netip.AddrPort
	closed  bool
	serving chan struct{} // closed when the serving goroutine returns
}

// New returns a Server for cfg; call Start to serve, or use Handler.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Addr = cmp.Or(cfg.Addr, DefaultAddr)
	cfg.ReadHeaderTimeout = cmp.Or(cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	s := &Server{cfg: cfg, log: cmp.Or(cfg.Logger, slog.Default()), start: time.Now(), proc: procSelf}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /connections", s.connections)
	s.mux.HandleFunc("GET /pools", s.pools)
	s.mux.HandleFunc("GET /metrics", s.metrics)
	s.mux.HandleFunc("GET /{$}", s.index)
	return s, nil
}

// Handler returns the endpoint's HTTP handler. Any goroutine.
func (s *Server) Handler() http.Handler { return s.mux }

// Start listens on Config.Addr and serves on a goroutine of its own until
// Shutdown or Close. Any goroutine.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.srv != nil:
		return ErrStarted
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err // a *net.OpError names the operation and address
	}
	s.addr = ln.Addr().(*net.TCPAddr).AddrPort()
	s.srv = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.serving = make(chan struct{})
	go func() {
		defer close(s.serving)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin: serve", "err", err)
		}
	}()
	return nil
}

// Addr returns the bound address once started, with the port the system
// chose when Config.Addr asked for port 0. Any goroutine.
func (s *Server) Addr() netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown stops listening and waits for the requests in progress, or for
// ctx to end, and for the serving goroutine. Any goroutine.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.stop(func(srv *http.Server) error { return srv.Shutdown(ctx) })
}

// Close stops listening, closes every connection at once and waits for the
// serving goroutine. Any goroutine.
func (s *Server) Close() error {
	return s.stop((*http.Server).Close)
}

func (s *Server) stop(f func(*http.Server) error) error {
	s.mu.Lock()
	s.closed = true
	srv, serving := s.srv, s.serving
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := f(srv)
	if err != nil {
		_ = srv.Close() // ctx ended: cut what is left
	}
	<-serving
	return err
}
