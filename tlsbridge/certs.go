package tlsbridge

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// ErrNoCertificate reports that a manager has no local certificate, or that
// a certificate has no chain or key.
var ErrNoCertificate = errors.New("tlsbridge: no certificate")

// ErrClientManager reports an attempt to give the client manager a
// certificate or an incoming connection.
var ErrClientManager = errors.New("tlsbridge: the client manager has no certificate and accepts no connections")

func checkCertificate(c *tls.Certificate) error {
	if c == nil || len(c.Certificate) == 0 || c.PrivateKey == nil {
		return ErrNoCertificate
	}
	return nil
}

// SetCertificate replaces the local certificate. Handshakes that start
// afterwards use it; running and established connections are not
// affected. The certificate is copied (shallowly) and its Leaf parsed if
// unset, so cert may be reused by the caller. It may be called from any
// goroutine.
func (m *Manager) SetCertificate(cert *tls.Certificate) error {
	if m.cfg.Client {
		return ErrClientManager
	}
	if err := checkCertificate(cert); err != nil {
		return err
	}
	c := *cert
	if c.Leaf == nil {
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			return fmt.Errorf("tlsbridge: certificate: %w", err)
		}
		c.Leaf = leaf
	}
	m.cert.Store(&c)
	return nil
}

// LoadCertificateFiles reads a PEM certificate chain and key and makes
// them the local certificate (see [Manager.SetCertificate]). The file names
// are remembered for [Manager.ReloadCertificate]. It may be called from any
// goroutine; it reads files, so not from an event loop.
func (m *Manager) LoadCertificateFiles(certFile, keyFile string) error {
	if m.cfg.Client {
		return ErrClientManager
	}
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("tlsbridge: load certificate: %w", err)
	}
	if err := m.SetCertificate(&c); err != nil {
		return err
	}
	m.files.Store(&[2]string{certFile, keyFile})
	return nil
}

// ReloadCertificate reads again the files last given to
// [Manager.LoadCertificateFiles] or Config.CertFile/KeyFile, for example on
// SIGHUP after a renewal. On error the current certificate stays. It may be
// called from any goroutine, not from an event loop.
func (m *Manager) ReloadCertificate() error {
	f := m.files.Load()
	if f == nil {
		return fmt.Errorf("%w: no certificate files to reload", ErrNoCertificate)
	}
	return m.LoadCertificateFiles(f[0], f[1])
}

// Certificate returns the current local certificate, or nil. Do not modify
// it. It may be called from any goroutine.
func (m *Manager) Certificate() *tls.Certificate { return m.cert.Load() }
