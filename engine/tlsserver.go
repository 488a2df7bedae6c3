package engine

import (
	"context"
	"slices"
)

// TLSServer is a server manager whose listeners speak SIP over TLS (RFC
// 3261 §26.3.1, RFC 5922): each accepted connection runs a TLS handshake,
// with Config.TLS's certificate and checks (optional mutual TLS with
// client CAs, allowed domains and extended key usage), then carries SIP
// exactly as a TCPServer's connections do: the same framing, parsing,
// dispatch, timeouts and counters over the decrypted bytes. Its outgoing
// connections are TCP or TLS as their destinations say; over TLS it
// presents its certificate when the peer asks.
//
// The handshake runs on a goroutine of its own (at most
// TLSConfig.MaxHandshakes incoming ones at once) and is bounded by the TLS
// handshake timeout and by Config.FirstMessageTimeout, which starts at
// accept. A refused or failed handshake is logged with its reason,
// counted in TLS().Stats() and closes the connection. The handler hears
// of a connection (ConnHandler.HandleOpen) once its handshake is done;
// ConnInfo.PeerIdentity then holds the identity the peer proved (RFC 5922
// §7.1), when it presented a certificate.
type TLSServer struct {
	Manager
}

// NewTLSServer returns a TLS server manager for cfg, whose TLS field must
// give a certificate (TLSConfig.Manager, or Config.Certificate or
// CertFile and KeyFile). Call Start, then Listen.
func NewTLSServer(cfg Config) (*TLSServer, error) {
	s := new(TLSServer)
	if err := s.init(cfg, false); err != nil {
		return nil, err
	}
	if s.tls.bm.Certificate() == nil {
		s.closeLayers()
		return nil, configError("a TLS server needs a certificate (Config.TLS)")
	}
	return s, nil
}

// Start starts the event loops and the ticker of the timeouts, like
// Manager.Start, and logs a warning when mutual TLS accepts any trusted
// peer (an empty allow list). Any goroutine.
func (s *TLSServer) Start() error {
	if err := s.Manager.Start(); err != nil {
		return err
	}
	if s.tls.bm.AllowsAnyPeer() {
		s.log.Warn("engine: mutual TLS with an empty allow list: any peer with a trusted certificate is accepted")
	}
	return nil
}

// Listen starts accepting TLS connections on address ("host:port"; port 0
// picks a free port, see [Listener.Addr]); network is "tcp", "tcp4" or
// "tcp6". The server must be running. Any goroutine.
func (s *TLSServer) Listen(ctx context.Context, network, address string) (*Listener, error) {
	return s.listen(ctx, network, address, true)
}

// Listeners returns the active listeners. Any goroutine.
func (s *TLSServer) Listeners() []*Listener {
	s.mu.Lock()
	defer s.mu.Unlock()
	lns := make([]*Listener, 0, len(s.listeners))
	for ln := range s.listeners {
		lns = append(lns, ln)
	}
	slices.SortFunc(lns, func(a, b *Listener) int { return a.addr.Compare(b.addr) })
	return lns
}
