package tlsbridge

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sipcm/sipcm/internal/testcert"
)

func TestConfigValidate(t *testing.T) {
	ca := testcert.MustCA(t, "test CA")
	leaf := ca.MustIssue(t, testcert.Server("a.example.com")).TLS
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"server", Config{Certificate: &leaf}, true},
		{"files", Config{CertFile: "c", KeyFile: "k"}, true},
		{"mtls", Config{Certificate: &leaf, MutualTLS: true, ClientCAs: ca.Pool()}, true},
		{"client", Config{Client: true, RootCAs: ca.Pool()}, true},
		{"tls13-only", Config{MinVersion: tls.VersionTLS13}, true},
		{"cert-and-files", Config{Certificate: &leaf, CertFile: "c", KeyFile: "k"}, false},
		{"cert-without-key-file", Config{CertFile: "c"}, false},
		{"client-with-cert", Config{Client: true, Certificate: &leaf}, false},
		{"client-with-files", Config{Client: true, CertFile: "c", KeyFile: "k"}, false},
		{"client-mtls", Config{Client: true, MutualTLS: true, ClientCAs: ca.Pool()}, false},
		{"mtls-without-cas", Config{MutualTLS: true}, false},
		{"tls11", Config{MinVersion: tls.VersionTLS11}, false},
		{"unknown-version", Config{MinVersion: 0x0305}, false},
		{"empty-cert", Config{Certificate: &tls.Certificate{}}, false},
		{"bad-domain", Config{AllowedDomains: []string{"*.example.com"}}, false},
	}
	for _, tc := range cases {
		err := tc.cfg.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v", tc.name, err)
		}
		if err != nil && !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v does not wrap ErrConfig", tc.name, err)
		}
	}
	if _, err := NewManager(Config{Client: true, MutualTLS: true}); !errors.Is(err, ErrConfig) {
		t.Errorf("NewManager accepted a bad config: %v", err)
	}
	if _, err := NewManager(Config{CertFile: "/nonexistent", KeyFile: "/nonexistent"}); err == nil {
		t.Error("NewManager loaded missing files")
	}
}

func TestManagerDefaults(t *testing.T) {
	m := newManager(t, Config{})
	if got := m.AllowedDomains(); !slices.Equal(got, []string{"localhost"}) {
		t.Errorf("default allow list %q", got)
	}
	if m.AllowsAnyPeer() || m.MutualTLS() || m.IsClient() || m.Certificate() != nil {
		t.Error("zero config defaults")
	}
	if m.ServerConfig().MinVersion != tls.VersionTLS12 || m.cfg.handshakeTimeout() != DefaultHandshakeTimeout {
		t.Error("version or timeout default")
	}
	if !slices.Equal(m.serverEKUs, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) ||
		!slices.Equal(m.clientEKUs, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Error("EKU defaults")
	}
	ca := testcert.MustCA(t, "test CA")
	mt := newManager(t, Config{MutualTLS: true, ClientCAs: ca.Pool(), AllowedDomains: []string{}})
	if !mt.AllowsAnyPeer() {
		t.Error("empty list under MTLS: AllowsAnyPeer false")
	}
	if err := mt.SetAllowedDomains([]string{".example.com"}); err != nil || mt.AllowsAnyPeer() {
		t.Errorf("SetAllowedDomains: %v", err)
	}
	if err := mt.SetAllowedDomains([]string{"bad domain"}); !errors.Is(err, ErrBadDomain) {
		t.Errorf("bad domain: %v", err)
	}
	if err := mt.SetAllowedDomains(nil); err != nil || !slices.Equal(mt.AllowedDomains(), []string{"localhost"}) {
		t.Errorf("SetAllowedDomains(nil): %v %q", err, mt.AllowedDomains())
	}
	cm := clientManager(t, ca)
	leaf := ca.MustIssue(t, testcert.Server("a.example.com")).TLS
	if err := cm.SetCertificate(&leaf); !errors.Is(err, ErrClientManager) {
		t.Errorf("client SetCertificate: %v", err)
	}
	if err := cm.LoadCertificateFiles("a", "b"); !errors.Is(err, ErrClientManager) {
		t.Errorf("client LoadCertificateFiles: %v", err)
	}
	if err := m.ReloadCertificate(); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("Reload with no files: %v", err)
	}
	if err := m.SetCertificate(&tls.Certificate{}); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("empty certificate: %v", err)
	}
}

// pair connects a Conn of cli to a Conn of srv over two fake loops.
func pair(t *testing.T, cli *Manager, dst Outbound, srv *Manager) (c, s *side, errC, errS error) {
	t.Helper()
	s = newSide(t).accept(t, srv)
	c = newSide(t).connect(cli, dst)
	link(c, s)
	errC, errS = handshake(testCtx(t), c, s)
	return c, s, errC, errS
}

// TestCertificateReplacement replaces the server's certificate while a
// connection made with the old one stays up.
func TestCertificateReplacement(t *testing.T) {
	ca := testcert.MustCA(t, "test CA")
	a := ca.MustIssue(t, testcert.Server("a.example.com"))
	b := ca.MustIssue(t, testcert.Server("b.example.com"))
	srv := serverManager(t, ca, a, false, nil)
	cli := clientManager(t, ca)

	old, oldSrv, errC, errS := pair(t, cli, Outbound{Host: "a.example.com"}, srv)
	if errC != nil || errS != nil {
		t.Fatal(errC, errS)
	}
	if err := srv.SetCertificate(&b.TLS); err != nil {
		t.Fatal(err)
	}
	c, _, errC, errS := pair(t, cli, Outbound{Host: "b.example.com"}, srv)
	if errC != nil || errS != nil {
		t.Fatal("new certificate:", errC, errS)
	}
	if !c.c.PeerCertificate().Equal(b.Cert) {
		t.Error("new handshake did not get the new certificate")
	}
	if _, _, errC, _ = pair(t, cli, Outbound{Host: "a.example.com"}, srv); ReasonOf(errC) != ReasonIdentityMismatch {
		t.Errorf("old name after replacement: %v", errC)
	}
	exchange(t, old, oldSrv) // the old connection still works
}

// TestCertificateReload reloads the certificate from rewritten files; a
// failed reload keeps the current certificate.
func TestCertificateReload(t *testing.T) {
	ca := testcert.MustCA(t, "test CA")
	a := ca.MustIssue(t, testcert.Server("a.example.com"))
	b := ca.MustIssue(t, testcert.Server("b.example.com"))
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write := func(l *testcert.Leaf) {
		t.Helper()
		if err := os.WriteFile(certFile, l.CertPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, l.KeyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(a)
	srv := newManager(t, Config{CertFile: certFile, KeyFile: keyFile})
	cli := clientManager(t, ca)
	if c, _, errC, _ := pair(t, cli, Outbound{Host: "a.example.com"}, srv); errC != nil || !c.c.PeerCertificate().Equal(a.Cert) {
		t.Fatalf("first certificate: %v", errC)
	}
	write(b)
	if err := srv.ReloadCertificate(); err != nil {
		t.Fatal(err)
	}
	if c, _, errC, _ := pair(t, cli, Outbound{Host: "b.example.com"}, srv); errC != nil || !c.c.PeerCertificate().Equal(b.Cert) {
		t.Fatalf("reloaded certificate: %v", errC)
	}
	if err := os.WriteFile(keyFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := srv.ReloadCertificate(); err == nil {
		t.Fatal("reload of a broken key succeeded")
	}
	if !srv.Certificate().Leaf.Equal(b.Cert) {
		t.Error("failed reload replaced the certificate")
	}
}

// TestAutoAllow: under MTLS, the name an outgoing connection's server was
// verified as joins the allow list, so that peer may connect back.
func TestAutoAllow(t *testing.T) {
	ca := testcert.MustCA(t, "test CA")
	cases := []struct {
		name     string
		mutual   bool
		allowed  []string
		noAuto   bool
		peerCert string
		dst      Outbound
		want     []string // allow list afterwards
		back     Reason   // the peer connecting back
	}{
		{"added", true, nil, false, "peer.example.com", Outbound{Host: "peer.example.com"},
			[]string{"localhost", "peer.example.com"}, ReasonNone},
		{"pool-name-added", true, nil, false, "pool.example.com", Outbound{Host: "fe1.example.com", ExpectedName: "pool.example.com"},
			[]string{"localhost", "pool.example.com"}, ReasonNone},
		{"covered-not-added", true, []string{".example.com"}, false, "peer.example.com", Outbound{Host: "peer.example.com"},
			[]string{".example.com"}, ReasonNone},
		{"switched-off", true, nil, true, "peer.example.com", Outbound{Host: "peer.example.com"},
			[]string{"localhost"}, ReasonNotAllowed},
		{"empty-list-stays-empty", true, []string{}, false, "peer.example.com", Outbound{Host: "peer.example.com"},
			[]string{}, ReasonNone},
		{"no-mtls", false, nil, false, "peer.example.com", Outbound{Host: "peer.example.com"},
			[]string{"localhost"}, ReasonNone},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{
				Certificate: &ca.MustIssue(t, testcert.Both("me.example.com")).TLS,
				RootCAs:     ca.Pool(), MutualTLS: tc.mutual, AllowedDomains: tc.allowed, NoAutoAllow: tc.noAuto,
			}
			if tc.mutual {
				cfg.ClientCAs = ca.Pool()
			}
			me := newManager(t, cfg)
			peer := serverManager(t, ca, ca.MustIssue(t, testcert.Both(tc.peerCert)), false, nil)
			if _, _, errC, errS := pair(t, me, tc.dst, peer); errC != nil || errS != nil {
				t.Fatal(errC, errS)
			}
			if got := me.AllowedDomains(); !slices.Equal(got, tc.want) {
				t.Errorf("allow list %q, want %q", got, tc.want)
			}
			added := uint64(0)
			if tc.name == "added" || tc.name == "pool-name-added" {
				added = 1
			}
			if n := me.Stats().AutoAllowed; n != added {
				t.Errorf("AutoAllowed %d, want %d", n, added)
			}
			_, s, _, errS := pair(t, peer, Outbound{Host: "me.example.com"}, me)
			if ReasonOf(errS) != tc.back {
				t.Fatalf("connecting back: %v, want %v", errS, tc.back)
			}
			if tc.back == ReasonNone && tc.mutual && s.c.PeerIdentity() != tc.peerCert {
				t.Errorf("PeerIdentity %q", s.c.PeerIdentity())
			}
		})
	}
}
