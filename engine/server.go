package engine

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// TCPServer is a manager that also listens: it accepts incoming TCP
// connections on any number of addresses, which can be added and removed
// while it runs, and dials outgoing ones on the same loops. [TLSServer] is
// built on the same Manager with TLS listeners.
type TCPServer struct {
	Manager
}

// NewTCPServer returns a TCP server manager for cfg; call Start, then
// Listen.
func NewTCPServer(cfg Config) (*TCPServer, error) {
	s := new(TCPServer)
	if err := s.init(cfg, false); err != nil {
		return nil, err
	}
	return s, nil
}

// Listen starts accepting connections on address ("host:port"; port 0
// picks a free port, see [Listener.Addr]); network is "tcp", "tcp4" or
// "tcp6". The server must be running. Any goroutine.
func (s *TCPServer) Listen(ctx context.Context, network, address string) (*Listener, error) {
	return s.listen(ctx, network, address, false)
}

// Listeners returns the active listeners. Any goroutine.
func (s *TCPServer) Listeners() []*Listener {
	s.mu.Lock()
	defer s.mu.Unlock()
	lns := make([]*Listener, 0, len(s.listeners))
	for ln := range s.listeners {
		lns = append(lns, ln)
	}
	slices.SortFunc(lns, func(a, b *Listener) int { return a.addr.Compare(b.addr) })
	return lns
}

// Listener is one listening address of a server.
type Listener struct {
	m    *Manager
	ln   *net.TCPListener
	addr netip.AddrPort
	tls  bool // connections speak TLS

	once sync.Once
	quit chan struct{} // closed to stop the acceptor
	done chan struct{} // closed when the acceptor has returned
}

// Addr returns the bound address, with the port chosen by the system when
// port 0 was asked for. Any goroutine.
func (ln *Listener) Addr() netip.AddrPort { return ln.addr }

// Close stops accepting on this address and waits for the acceptor to
// return; connections already accepted stay open. Any goroutine but an
// event loop.
func (ln *Listener) Close() error {
	ln.m.mu.Lock()
	delete(ln.m.listeners, ln)
	ln.m.mu.Unlock()
	ln.stop()
	return nil
}

func (ln *Listener) stop() {
	ln.once.Do(func() {
		close(ln.quit)
		_ = ln.ln.Close()
	})
	<-ln.done
}

func (m *Manager) listen(ctx context.Context, network, address string, tls bool) (*Listener, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, &net.OpError{Op: "listen", Net: network, Err: net.UnknownNetworkError(network)}
	}
	lc := net.ListenConfig{KeepAlive: m.cfg.TCPKeepAlive}
	nl, err := lc.Listen(ctx, network, address)
	if err != nil {
		return nil, err
	}
	tl := nl.(*net.TCPListener)
	ln := &Listener{
		m:    m,
		ln:   tl,
		addr: addrPort(tl.Addr()),
		tls:  tls,
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	m.mu.Lock()
	if m.state != stateRunning {
		m.mu.Unlock()
		_ = tl.Close()
		if m.state == stateNew {
			return nil, ErrNotStarted
		}
		return nil, ErrClosed
	}
	m.listeners[ln] = struct{}{}
	m.wg.Add(1)
	m.mu.Unlock()
	m.log.Info("engine: listening", "network", network, "addr", ln.addr, "tls", tls)
	go ln.accept()
	return ln, nil
}

// accept is the acceptor goroutine of ln: it applies the connection limits
// and hands every accepted socket to a loop.
func (ln *Listener) accept() {
	m := ln.m
	defer m.wg.Done()
	defer close(ln.done)
	var backoff time.Duration
	for {
		nc, err := ln.ln.AcceptTCP()
		if err != nil {
			select {
			case <-ln.quit:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors and the like: back off as net/http does.
			m.shared.acceptErrors.Add(1)
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			m.log.Warn("engine: accept failed", "addr", ln.addr, "err", err, "retry", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-ln.quit:
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		backoff = 0
		ln.admit(nc)
	}
}

func (ln *Listener) admit(nc *net.TCPConn) {
	m := ln.m
	remote := addrPort(nc.RemoteAddr())
	if !m.admit(remote.Addr()) {
		_ = nc.SetLinger(0)
		_ = nc.Close()
		m.log.Debug("engine: connection refused by limits", "remote", remote)
		return
	}
	c := m.newConn(Incoming, nc.LocalAddr(), nc.RemoteAddr())
	if ln.tls {
		if err := m.setupTLS(c, nc.RemoteAddr(), nil); err != nil {
			_ = nc.Close()
			m.release(remote.Addr())
			m.shared.acceptErrors.Add(1)
			m.log.Warn("engine: TLS setup of accepted connection failed", "remote", remote, "err", err)
			return
		}
	}
	if err := m.enroll(nc, c); err != nil {
		m.release(remote.Addr())
		m.shared.acceptErrors.Add(1)
		m.log.Warn("engine: enrolling accepted connection failed", "remote", remote, "err", err)
	}
}
