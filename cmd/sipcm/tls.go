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
	"errors"
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
)

// selfSignedLifetime is the validity of the certificate made at start.
const selfSignedLifetime = 30 * 24 * time.Hour

// tlsSetup is what the TLS listeners need, checked and loaded at start.
type tlsSetup struct {
	addrs      []string
	cert       tls.Certificate
	selfSigned bool
	mtls       bool
	clientCAs  *x509.CertPool // with mtls
	allow      []string       // allowed peer domains under mtls; nil means the default
}

// loadTLS loads the certificate (or makes a self-signed one for localhost)
// and the CA of mutual TLS. It returns nil when no TLS address is configured.
func loadTLS(o *serveOptions, log *slog.Logger) (*tlsSetup, error) {
	if len(o.tls.vals) == 0 {
		return nil, nil
	}
	ts := &tlsSetup{addrs: o.tls.vals, mtls: o.mtls}
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
		ts.cert = c
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

// tlsService is a running TLS server: what startTLS returns once the TLS
// server manager (package tlsbridge) is wired in.
type tlsService interface {
	admin.Engine     // its connections and counters
	admin.TLSCounter // handshake refusals by reason
	// Addrs returns the bound TLS listening addresses.
	Addrs() []netip.AddrPort
	// Shutdown drains and closes it like engine.Manager.Shutdown.
	Shutdown(ctx context.Context) error
}

// errTLSNotServed is returned by startTLS while TLS is not wired in.
var errTLSNotServed = errors.New("serve: TLS is not yet served (the TLS server manager is not wired in)")

// startTLS starts the TLS listeners of ts, answering with h (the same
// handler as the TCP listeners).
//
// TLS seam: this is where the lead plugs the TLS server manager in: make a
// tlsbridge.Manager from ts (Certificate: &ts.cert, MutualTLS: ts.mtls,
// ClientCAs: ts.clientCAs, AllowedDomains: ts.allow), a TLS server on the
// engine with handler h, Listen on each of ts.addrs, and return it as a
// tlsService. Until then it returns errTLSNotServed, which serve reports
// as a warning without failing.
func startTLS(ctx context.Context, ts *tlsSetup, h engine.Handler, log *slog.Logger) (tlsService, error) {
	_, _, _, _ = ctx, ts, h, log
	return nil, errTLSNotServed
}
