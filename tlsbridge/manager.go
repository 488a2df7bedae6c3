package tlsbridge

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/valyala/bytebufferpool"
)

// Manager holds the TLS side of one engine manager: its certificate, trust
// anchors, allow list, verification hooks and counters, and makes the
// [Conn]s of its connections. It starts no goroutines. All methods may be
// called from any goroutine.
type Manager struct {
	cfg        Config
	log        *slog.Logger
	now        func() time.Time
	serverEKUs []x509.ExtKeyUsage
	clientEKUs []x509.ExtKeyUsage

	cert    atomic.Pointer[tls.Certificate]
	files   atomic.Pointer[[2]string] // cert and key file of the last load
	allowed atomic.Pointer[AllowList]
	stats   counters

	server *tls.Config // shared by every incoming connection
	client *tls.Config // cloned for every outgoing connection

	plain bytebufferpool.Pool // plaintext buffers of loop-mode Conns, partial records
	seal  bytebufferpool.Pool // records being sealed by the TLS 1.3 record layer
}

// Outbound describes the peer of an outgoing connection.
type Outbound struct {
	// Host is the destination host as configured (a name or an IP
	// literal). The server's identity must match it, unless it matches
	// ExpectedName. A name is also sent as SNI.
	Host string
	// ExpectedName, when set, is another acceptable server identity: the
	// pool certificate case, where front ends behind a load balancer all
	// present one certificate naming the pool rather than each host. It
	// is sent as SNI when Host is an IP literal.
	ExpectedName string
}

// NewManager validates cfg, loads the certificate files if given and
// returns a Manager.
func NewManager(cfg Config) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Manager{
		cfg:        cfg,
		log:        cfg.Logger,
		now:        cfg.Time,
		serverEKUs: orDefaultEKU(cfg.ServerEKUs, x509.ExtKeyUsageServerAuth),
		clientEKUs: orDefaultEKU(cfg.ClientEKUs, x509.ExtKeyUsageClientAuth),
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	domains := cfg.AllowedDomains
	if domains == nil {
		domains = []string{DefaultAllowedDomain}
	}
	l, err := NewAllowList(domains)
	if err != nil {
		return nil, err // unreachable: Validate checked
	}
	m.allowed.Store(l)
	switch {
	case cfg.Certificate != nil:
		if err := m.SetCertificate(cfg.Certificate); err != nil {
			return nil, err
		}
	case cfg.CertFile != "":
		if err := m.LoadCertificateFiles(cfg.CertFile, cfg.KeyFile); err != nil {
			return nil, err
		}
	}
	m.server = m.newServerConfig()
	m.client = m.newClientConfig()
	return m, nil
}

func (m *Manager) newServerConfig() *tls.Config {
	c := &tls.Config{
		MinVersion: m.cfg.minVersion(),
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			if cert := m.cert.Load(); cert != nil {
				return cert, nil
			}
			return nil, ErrNoCertificate
		},
		// Sessions are not resumed: SIP connections live long, and a
		// full handshake re-runs every check against the current allow
		// list and certificates.
		SessionTicketsDisabled: true,
		// One record per message: fewer writes on the loop.
		DynamicRecordSizingDisabled: true,
	}
	if m.cfg.MutualTLS {
		// Request, not require: a missing certificate must reach
		// VerifyConnection to be counted as ReasonNoClientCertificate,
		// and the chain is verified there (crypto/tls does not, with
		// RequestClientCert) to tell the reasons apart.
		c.ClientAuth = tls.RequestClientCert
		c.ClientCAs = m.cfg.ClientCAs // advertised in CertificateRequest
		c.VerifyConnection = m.verifyClient
	}
	return c
}

func (m *Manager) newClientConfig() *tls.Config {
	c := &tls.Config{
		MinVersion: m.cfg.minVersion(),
		// The chain, EKU and RFC 5922 identity are verified in
		// VerifyConnection (crypto/tls would match DNS names with
		// wildcards and ignore SIP URIs). The handshake signature is
		// still checked against the certificate's key.
		InsecureSkipVerify:          true,
		DynamicRecordSizingDisabled: true,
	}
	if !m.cfg.Client {
		// With only Certificates set, crypto/tls silently sends no
		// certificate when ours is not issued by one of the server's
		// acceptable CAs; GetClientCertificate always presents it.
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if cert := m.cert.Load(); cert != nil {
				return cert, nil
			}
			return &tls.Certificate{}, nil
		}
	}
	return c
}

// ServerConfig returns a tls.Config for an incoming connection: the
// current certificate, and under MutualTLS the client checks. The checks
// count refusals in Stats; use it to serve TLS on a plain net.Conn with the
// same rules. Do not modify the result.
func (m *Manager) ServerConfig() *tls.Config { return m.server }

// ClientConfig returns a new tls.Config for an outgoing connection to dst:
// SNI, chain, EKU and identity checks, and (server managers) the current
// certificate when the server asks. matched, if not nil, receives the name
// the server was verified as. The checks count refusals in Stats.
func (m *Manager) ClientConfig(dst Outbound, matched *string) *tls.Config {
	c := m.client.Clone()
	c.ServerName = dst.Host
	if isIP(dst.Host) {
		c.ServerName = dst.ExpectedName
	}
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		name, err := m.checkServer(cs.PeerCertificates, dst)
		if err != nil {
			m.count(err)
			return err
		}
		if matched != nil {
			*matched = name
		}
		return nil
	}
	return c
}

// IsClient reports whether this is the client manager.
func (m *Manager) IsClient() bool { return m.cfg.Client }

// MutualTLS reports whether incoming connections require client
// certificates.
func (m *Manager) MutualTLS() bool { return m.cfg.MutualTLS }

// isIP reports whether host is an IP literal, bracketed or not.
func isIP(host string) bool {
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return net.ParseIP(host) != nil
}
