package tlsbridge

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// DefaultHandshakeTimeout bounds a handshake when Config.HandshakeTimeout
// is zero.
const DefaultHandshakeTimeout = 10 * time.Second

// ErrConfig is wrapped by every error of [Config.Validate].
var ErrConfig = errors.New("tlsbridge: invalid config")

// Config configures a [Manager]. The zero value is a server manager with no
// certificate yet, no mutual TLS, outgoing connections verified against the
// system roots, TLS 1.2 or newer and a 10 s handshake timeout.
type Config struct {
	// Client marks the client manager: it never accepts connections and
	// never presents a certificate. Certificate, CertFile and MutualTLS
	// must then be unset.
	Client bool

	// Certificate is the local certificate (with its chain and key):
	// presented on incoming connections and, by server managers, on
	// outgoing ones when the peer asks. Alternatively set CertFile and
	// KeyFile (PEM). Either may be replaced at run time.
	Certificate       *tls.Certificate
	CertFile, KeyFile string

	// RootCAs verifies the certificates of servers we connect to. nil
	// means the system roots.
	RootCAs *x509.CertPool

	// MutualTLS makes incoming connections require a client certificate,
	// verified against ClientCAs (required then), its extended key usage
	// and AllowedDomains.
	MutualTLS bool
	ClientCAs *x509.CertPool

	// AllowedDomains lists the peers allowed under mutual TLS (see
	// [AllowList] for the syntax). nil means {"localhost"}. A non-nil
	// empty list allows any peer that passes the other checks; the
	// engine should log a warning at start (see [Manager.AllowsAnyPeer]).
	AllowedDomains []string

	// NoAutoAllow turns off adding the verified name of each outgoing
	// connection's peer to the allow list (done only under MutualTLS and
	// only while the list is not empty).
	NoAutoAllow bool

	// ServerEKUs are the extended key usages accepted on certificates of
	// servers we connect to; the certificate must list one of them. nil
	// means {ServerAuth}. x509.ExtKeyUsageAny in the list turns the check
	// off (certificates with no EKU extension then pass too).
	ServerEKUs []x509.ExtKeyUsage
	// ClientEKUs are the same for incoming mutual-TLS clients. nil means
	// {ClientAuth}.
	ClientEKUs []x509.ExtKeyUsage

	// HandshakeTimeout bounds each handshake; 0 means
	// DefaultHandshakeTimeout, negative means no bound beyond the context
	// given to [Conn.Handshake].
	HandshakeTimeout time.Duration

	// MinVersion is the lowest TLS version; 0 means TLS 1.2, which is
	// also the lowest accepted.
	MinVersion uint16

	// DisableRecordLayer keeps every connection on crypto/tls after the
	// handshake, as TLS 1.2 and ChaCha20-Poly1305 connections always are,
	// instead of the package's own TLS 1.3 AES-GCM record layer (see the
	// package documentation). For comparison and as an escape hatch.
	DisableRecordLayer bool

	// Time returns the current time for certificate validity checks. nil
	// means time.Now.
	Time func() time.Time

	// Logger receives a line for every refused or failed handshake. nil
	// discards.
	Logger *slog.Logger
}

// Validate reports the first problem in c, wrapped around ErrConfig.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	if c.Certificate != nil && (c.CertFile != "" || c.KeyFile != "") {
		return bad("both Certificate and CertFile/KeyFile set")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return bad("CertFile and KeyFile go together")
	}
	if c.Client && (c.Certificate != nil || c.CertFile != "") {
		return bad("the client manager presents no certificate")
	}
	if c.Client && c.MutualTLS {
		return bad("the client manager accepts no connections: MutualTLS is for server managers")
	}
	if c.MutualTLS && c.ClientCAs == nil {
		return bad("MutualTLS needs ClientCAs")
	}
	if c.MinVersion != 0 && c.MinVersion < tls.VersionTLS12 {
		return bad("MinVersion below TLS 1.2")
	}
	if c.MinVersion > tls.VersionTLS13 {
		return bad("unknown MinVersion %#x", c.MinVersion)
	}
	if c.Certificate != nil {
		if err := checkCertificate(c.Certificate); err != nil {
			return bad("%v", err)
		}
	}
	if _, err := NewAllowList(c.AllowedDomains); err != nil {
		return bad("%v", err)
	}
	return nil
}

func (c *Config) handshakeTimeout() time.Duration {
	if c.HandshakeTimeout == 0 {
		return DefaultHandshakeTimeout
	}
	return c.HandshakeTimeout
}

func (c *Config) minVersion() uint16 {
	if c.MinVersion == 0 {
		return tls.VersionTLS12
	}
	return c.MinVersion
}

func orDefaultEKU(l []x509.ExtKeyUsage, d x509.ExtKeyUsage) []x509.ExtKeyUsage {
	if l == nil {
		return []x509.ExtKeyUsage{d}
	}
	return l
}
