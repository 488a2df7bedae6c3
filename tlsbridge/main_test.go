package tlsbridge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sipcm/sipcm/internal/testcert"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testCtx bounds a test's handshakes; no test should come near it.
func testCtx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// newManager makes a Manager from cfg with the test's logger silenced.
func newManager(tb testing.TB, cfg Config) *Manager {
	tb.Helper()
	m, err := NewManager(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// serverManager is a server manager presenting leaf, trusting ca both ways.
func serverManager(tb testing.TB, ca *testcert.CA, leaf *testcert.Leaf, mutual bool, allowed []string) *Manager {
	tb.Helper()
	cfg := Config{RootCAs: ca.Pool(), MutualTLS: mutual, AllowedDomains: allowed}
	if mutual {
		cfg.ClientCAs = ca.Pool()
	}
	if leaf != nil {
		c := leaf.TLS
		cfg.Certificate = &c
	}
	return newManager(tb, cfg)
}

// clientManager is the client manager, trusting ca.
func clientManager(tb testing.TB, ca *testcert.CA) *Manager {
	tb.Helper()
	return newManager(tb, Config{Client: true, RootCAs: ca.Pool()})
}

// stdClientConfig is a crypto/tls client config trusting ca for name.
func stdClientConfig(ca *testcert.CA, name string, cert *tls.Certificate) *tls.Config {
	c := &tls.Config{RootCAs: ca.Pool(), ServerName: name, MinVersion: tls.VersionTLS12}
	if cert != nil {
		c.Certificates = []tls.Certificate{*cert}
	}
	return c
}

func ekus(u ...x509.ExtKeyUsage) []x509.ExtKeyUsage { return u }

// timeZero is a deadline long past.
var timeZero = time.Unix(0, 0)
