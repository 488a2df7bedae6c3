package tlsbridge

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"slices"
)

var errNoServerCert = errors.New("tlsbridge: server sent no certificate")

// verifyChain checks that certs[0] chains to roots at the manager's time.
// Extended key usage is checked separately (checkEKU) so the reason can be
// told apart.
func (m *Manager) verifyChain(certs []*x509.Certificate, roots *x509.CertPool) *Error {
	opts := x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: m.now(),
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
	if len(certs) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range certs[1:] {
			opts.Intermediates.AddCert(c)
		}
	}
	_, err := certs[0].Verify(opts)
	if err == nil {
		return nil
	}
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) && inv.Reason == x509.Expired {
		return &Error{Reason: ReasonExpired, Err: err}
	}
	// Unknown authority, but also a broken chain (bad signature, CA
	// constraints): either way no configured CA vouches for the peer.
	return &Error{Reason: ReasonUntrustedCA, Err: err}
}

// checkEKU reports whether cert lists one of want. ExtKeyUsageAny in want
// accepts everything; ExtKeyUsageAny in the certificate satisfies any want.
func checkEKU(cert *x509.Certificate, want []x509.ExtKeyUsage) bool {
	if slices.Contains(want, x509.ExtKeyUsageAny) {
		return true
	}
	for _, u := range cert.ExtKeyUsage {
		if u == x509.ExtKeyUsageAny || slices.Contains(want, u) {
			return true
		}
	}
	return false
}

// verifyClient is the VerifyConnection hook of incoming connections under
// mutual TLS. It runs on the handshake goroutine.
func (m *Manager) verifyClient(cs tls.ConnectionState) error {
	err := m.checkClient(cs.PeerCertificates)
	if err != nil {
		m.count(err)
	}
	return err
}

func (m *Manager) checkClient(certs []*x509.Certificate) error {
	if len(certs) == 0 {
		return &Error{Reason: ReasonNoClientCertificate}
	}
	leaf := certs[0]
	if e := m.verifyChain(certs, m.cfg.ClientCAs); e != nil {
		e.Names = Identities(leaf)
		return e
	}
	if !checkEKU(leaf, m.clientEKUs) {
		return &Error{Reason: ReasonWrongEKU, Names: Identities(leaf)}
	}
	ids := Identities(leaf)
	if _, ok := m.allowed.Load().AllowsAny(ids); !ok {
		return &Error{Reason: ReasonNotAllowed, Names: ids}
	}
	return nil
}

// checkServer verifies the certificate of a server we connected to and
// returns the name it matched: dst.Host or dst.ExpectedName.
func (m *Manager) checkServer(certs []*x509.Certificate, dst Outbound) (string, error) {
	if len(certs) == 0 {
		return "", &Error{Reason: ReasonOther, Err: errNoServerCert}
	}
	leaf := certs[0]
	if e := m.verifyChain(certs, m.cfg.RootCAs); e != nil {
		e.Names = Identities(leaf)
		return "", e
	}
	if !checkEKU(leaf, m.serverEKUs) {
		return "", &Error{Reason: ReasonWrongEKU, Names: Identities(leaf)}
	}
	ids := Identities(leaf)
	if name, ok := matchAny(ids, dst.Host, dst.ExpectedName); ok {
		return name, nil
	}
	want := dst.Host
	if dst.ExpectedName != "" {
		want += " or " + dst.ExpectedName
	}
	return "", &Error{Reason: ReasonIdentityMismatch, Names: ids, Want: want}
}
