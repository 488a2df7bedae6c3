// Package testcert makes X.509 certificate authorities and leaf
// certificates in memory for tests: SIP URI, DNS and CN-only identities,
// chosen extended key usages, expired certificates and untrusted CAs.
//
// Keys are ECDSA P-256, so a certificate costs well under a millisecond.
// Nothing here touches the file system or the network; the PEM bytes are
// there for code that loads certificates from files (write them to
// t.TempDir()).
//
// Every function may be called from any goroutine. The Must variants stop
// the test with tb.Fatal on error.
package testcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"testing"
	"time"
)

// CA is a certificate authority that issues leaf certificates.
type CA struct {
	Cert *x509.Certificate // the self-signed CA certificate
	Key  crypto.Signer     // the CA's private key
	PEM  []byte            // Cert in PEM form
}

// Options describes a leaf certificate. The zero value is a certificate
// with no identity and no extended key usage, valid from an hour ago for a
// day.
type Options struct {
	// CommonName is the subject CN.
	CommonName string
	// URIs become subjectAltName URIs, for example "sip:example.com".
	URIs []string
	// DNSNames become subjectAltName DNS names.
	DNSNames []string
	// IPs become subjectAltName IP addresses.
	IPs []net.IP
	// ExtKeyUsage lists the extended key usages; nil or empty means the
	// certificate has no extended key usage extension at all.
	ExtKeyUsage []x509.ExtKeyUsage
	// NotBefore and NotAfter bound the validity; zero values mean an hour
	// ago and a day from now. Set NotAfter in the past for an expired
	// certificate.
	NotBefore, NotAfter time.Time
}

// Leaf is an issued certificate with its key.
type Leaf struct {
	Cert    *x509.Certificate // the parsed certificate
	TLS     tls.Certificate   // chain (leaf only) and key, with Leaf set
	CertPEM []byte            // the certificate in PEM form
	KeyPEM  []byte            // the private key in PEM (PKCS #8) form
}

var maxSerial = big.NewInt(0).Lsh(big.NewInt(1), 120)

func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, maxSerial)
}

// NewCA makes a self-signed CA whose subject CN is name.
func NewCA(name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testcert: %w", err)
	}
	sn, err := newSerial()
	if err != nil {
		return nil, fmt.Errorf("testcert: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"sipcm test"}},
		NotBefore:             now.Add(-2 * time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("testcert: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testcert: %w", err)
	}
	return &CA{Cert: cert, Key: key, PEM: pemBlock("CERTIFICATE", der)}, nil
}

// MustCA is NewCA that stops the test on error.
func MustCA(tb testing.TB, name string) *CA {
	tb.Helper()
	ca, err := NewCA(name)
	if err != nil {
		tb.Fatal(err)
	}
	return ca
}

// Pool returns a new pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Issue makes a leaf certificate signed by the CA.
func (ca *CA) Issue(o Options) (*Leaf, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testcert: %w", err)
	}
	sn, err := newSerial()
	if err != nil {
		return nil, fmt.Errorf("testcert: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: o.CommonName},
		NotBefore:    o.NotBefore,
		NotAfter:     o.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		DNSNames:     o.DNSNames,
		IPAddresses:  o.IPs,
		ExtKeyUsage:  o.ExtKeyUsage,
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = now.Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = now.Add(24 * time.Hour)
	}
	for _, s := range o.URIs {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("testcert: %w", err)
		}
		tmpl.URIs = append(tmpl.URIs, u)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("testcert: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testcert: %w", err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("testcert: %w", err)
	}
	return &Leaf{
		Cert:    cert,
		TLS:     tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert},
		CertPEM: pemBlock("CERTIFICATE", der),
		KeyPEM:  pemBlock("PRIVATE KEY", pk),
	}, nil
}

// MustIssue is Issue that stops the test on error.
func (ca *CA) MustIssue(tb testing.TB, o Options) *Leaf {
	tb.Helper()
	l, err := ca.Issue(o)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// Server returns Options for a server certificate of the SIP domain
// domain: SAN URI sip:domain, SAN DNS domain, EKU serverAuth.
func Server(domain string) Options {
	return Options{
		URIs:        []string{"sip:" + domain},
		DNSNames:    []string{domain},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
}

// Client returns Options for a client certificate of the SIP domain
// domain: SAN URI sip:domain, SAN DNS domain, EKU clientAuth.
func Client(domain string) Options {
	return Options{
		URIs:        []string{"sip:" + domain},
		DNSNames:    []string{domain},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

// Both returns Options for a certificate of the SIP domain domain usable
// by a SIP server in both roles: EKU serverAuth and clientAuth.
func Both(domain string) Options {
	return Options{
		URIs:     []string{"sip:" + domain},
		DNSNames: []string{domain},
		ExtKeyUsage: []x509.ExtKeyUsage{
			x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth,
		},
	}
}

// Expired returns o made valid from two days ago until an hour ago.
func Expired(o Options) Options {
	now := time.Now()
	o.NotBefore = now.Add(-48 * time.Hour)
	o.NotAfter = now.Add(-time.Hour)
	return o
}

// ErrNoPEM reports PEM input with no block of the wanted type.
var ErrNoPEM = errors.New("testcert: no PEM block")

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// ParsePEM returns the certificate in the first CERTIFICATE block of b.
func ParsePEM(b []byte) (*x509.Certificate, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, ErrNoPEM
		}
		if blk.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("testcert: %w", err)
			}
			return c, nil
		}
	}
}
