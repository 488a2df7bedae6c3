package main

import (
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSelfSigned(t *testing.T) {
	now := time.Now()
	c, err := selfSigned(now)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c.Leaf)
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool, CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	if _, err := c.Leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("verify as a client certificate: %v", err)
	}
	if len(c.Leaf.URIs) != 1 || c.Leaf.URIs[0].String() != "sip:localhost" {
		t.Errorf("URIs = %v, want [sip:localhost]", c.Leaf.URIs)
	}
	if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: pool, CurrentTime: now.Add(selfSignedLifetime + time.Hour)}); err == nil {
		t.Error("verified after it expired")
	}
}

// writePEM writes the certificate and key of a fresh self-signed
// certificate to dir.
func writePEM(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	c, err := selfSigned(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestLoadTLS(t *testing.T) {
	certFile, keyFile := writePEM(t, t.TempDir())
	log := slog.New(slog.DiscardHandler)

	o := defaultServeOptions()
	ts, err := loadTLS(o, log)
	if err != nil || ts == nil || !ts.selfSigned || ts.mtls || ts.allow != nil || len(ts.addrs) != 1 {
		t.Errorf("defaults: %+v, %v", ts, err)
	}

	o = defaultServeOptions()
	o.cert, o.key = certFile, keyFile
	o.mtls, o.ca = true, certFile
	_ = o.allow.Set("example.com,sip.example.org")
	ts, err = loadTLS(o, log)
	if err != nil || ts.selfSigned || !ts.mtls || ts.clientCAs == nil || len(ts.allow) != 2 || len(ts.cert.Certificate) != 1 {
		t.Errorf("files: %+v, %v", ts, err)
	}

	o = defaultServeOptions()
	o.mtls, o.ca = true, certFile
	_ = o.allow.Set("none")
	if ts, err = loadTLS(o, log); err != nil || ts.allow == nil || len(ts.allow) != 0 {
		t.Errorf("--allow none: allow %#v, %v; want an empty non-nil list", ts.allow, err)
	}

	o = defaultServeOptions()
	_ = o.tls.Set("none")
	if ts, err = loadTLS(o, log); ts != nil || err != nil {
		t.Errorf("no TLS address: %+v, %v", ts, err)
	}

	o = defaultServeOptions()
	o.cert, o.key = keyFile, certFile // swapped
	if _, err := loadTLS(o, log); err == nil {
		t.Error("swapped certificate and key loaded")
	}
}
