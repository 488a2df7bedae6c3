package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"net/url"
	"os"
	"time"

	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/internal/admin"
	"github.com/sipcm/sipcm/tlsbridge"
)

// selfSignedLifetime is the validity of the certificate made at start.
const selfSignedLifetime = 30 * 24 * time.Hour

// tlsSetup is what the TLS listeners need, checked and loaded at start.
type tlsSetup struct {
	addrs             []string
	cert              tls.Certificate
	certFile, keyFile string // where cert came from, "" when self-signed
	selfSigned        bool
	mtls              bool
	clientCAs         *x509.CertPool // with mtls
	allow             []string       // allowed peer domains under mtls; nil means the default
	handshakeTimeout  time.Duration  // 0: tlsbridge's default
	engine            engine.Config  // the options of serve that the TLS server shares
}

// loadTLS loads the certificate (or makes a self-signed one for localhost)
// and the CA of mutual TLS. It returns nil when no TLS address is configured.
func loadTLS(o *serveOptions, log *slog.Logger) (*tlsSetup, error) {
	if len(o.tls.vals) == 0 {
		return nil, nil
	}
	ts := &tlsSetup{addrs: o.tls.vals, mtls: o.mtls, handshakeTimeout: o.handshakeTimeout, engine: engine.Config{
		Loops:               o.loops,
		FirstMessageTimeout: o.firstMessageTimeout,
		IdleTimeoutIn:       o.idleTimeout,
		IdleTimeoutOut:      o.idleTimeout,
		MaxConns:            o.maxConns,
		MaxConnsPerIP:       o.maxConnsPerIP,
	}}
	if o.allow.set {
		ts.allow = o.allow.vals
		if ts.allow == nil {
			ts.allow = []string{} // an explicit empty list: any trusted peer
		}
	}
	if o.cert != "" {
		c, err := tls.LoadX509KeyPair(o.cert, o.key)
		if err != nil {
			return nil, fmt.Errorf("serve: certificate: %w", err)
		}
		ts.cert, ts.certFile, ts.keyFile = c, o.cert, o.key
	} else {
		c, err := selfSigned(time.Now())
		if err != nil {
			return nil, fmt.Errorf("serve: self-signed certificate: %w", err)
		}
		ts.cert, ts.selfSigned = c, true
		sum := sha256.Sum256(c.Certificate[0])
		log.Info("generated a self-signed certificate for localhost in memory (use --cert and --key for a real one)",
			"sha256", hex.EncodeToString(sum[:]), "expires", c.Leaf.NotAfter.Format(time.RFC3339))
	}
	if o.mtls {
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			return nil, fmt.Errorf("serve: CA: %w", err)
		}
		ts.clientCAs = x509.NewCertPool()
		if !ts.clientCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("serve: CA: no certificate in %s", o.ca)
		}
	}
	return ts, nil
}

// selfSigned makes a self-signed ECDSA P-256 certificate for localhost
// (DNS localhost, SIP URI sip:localhost, IP 127.0.0.1 and ::1), good for
// server and client authentication, valid from an hour before now.
func selfSigned(now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"sipcm self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		URIs:                  []*url.URL{{Scheme: "sip", Opaque: "localhost"}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// tlsService is a running TLS server.
type tlsService interface {
	admin.Engine     // its connections and counters
	admin.TLSCounter // handshake refusals by reason
	// Addrs returns the bound TLS listening addresses.
	Addrs() []netip.AddrPort
	// Shutdown drains and closes it like engine.Manager.Shutdown.
	Shutdown(ctx context.Context) error
}

// tlsServer is the tlsService of serve: an engine.TLSServer.
type tlsServer struct {
	*engine.TLSServer
	addrs []netip.AddrPort
}

// Addrs implements tlsService. Any goroutine.
func (s *tlsServer) Addrs() []netip.AddrPort { return s.addrs }

// TLSRefusals implements admin.TLSCounter: the failed handshakes of every
// reason, zeros included, keyed by the reason's name. Any goroutine.
func (s *tlsServer) TLSRefusals() map[string]uint64 {
	st := s.TLS().Stats()
	out := make(map[string]uint64, tlsbridge.NumReasons-1)
	for r := tlsbridge.ReasonNone + 1; int(r) < tlsbridge.NumReasons; r++ {
		out[r.String()] = st.Refused(r)
	}
	return out
}

// startTLS starts a TLS server (engine.TLSServer) listening on each of
// ts.addrs and answering with h, the handler of the TCP listeners. Its
// certificate comes from ts (from files, which TLS().ReloadCertificate
// reads again, or self-signed in memory); under mutual TLS it verifies
// client certificates against ts.clientCAs and ts.allow.
func startTLS(ctx context.Context, ts *tlsSetup, h engine.Handler, log *slog.Logger) (tlsService, error) {
	bc := tlsbridge.Config{
		MutualTLS:        ts.mtls,
		ClientCAs:        ts.clientCAs,
		AllowedDomains:   ts.allow,
		HandshakeTimeout: ts.handshakeTimeout,
		Logger:           log,
	}
	if ts.certFile != "" {
		bc.CertFile, bc.KeyFile = ts.certFile, ts.keyFile
	} else {
		bc.Certificate = &ts.cert
	}
	cfg := ts.engine
	cfg.Logger, cfg.Handler = log, h
	cfg.TLS = engine.TLSConfig{Config: bc}
	srv, err := engine.NewTLSServer(cfg)
	if err != nil {
		return nil, fmt.Errorf("serve: tls: %w", err)
	}
	if err := srv.Start(); err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("serve: tls: %w", err)
	}
	s := &tlsServer{TLSServer: srv}
	for _, a := range ts.addrs {
		ln, err := srv.Listen(ctx, "tcp", a)
		if err != nil {
			_ = srv.Close()
			return nil, fmt.Errorf("serve: tls %s: %w", a, err)
		}
		s.addrs = append(s.addrs, ln.Addr())
	}
	return s, nil
}
