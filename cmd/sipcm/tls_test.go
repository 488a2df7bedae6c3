package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sipcm/sipcm/tlsbridge"
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

// tlsSIP connects a SIP over TLS client to addr, trusting the PEM
// certificates in caFile (none: no client certificate) and presenting
// cert when not nil.
func tlsSIP(t *testing.T, addr, caFile string, cert *tls.Certificate) (*sipClient, error) {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	conf := &tls.Config{RootCAs: roots, ServerName: "localhost"}
	if cert != nil {
		conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	nc, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	tc := tls.Client(nc, conf)
	_ = tc.SetDeadline(time.Now().Add(testTimeout))
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	return &sipClient{Conn: tc, r: bufio.NewReader(tc)}, nil
}

// TestServeTLS runs sipcm serve with TLS from certificate files: OPTIONS
// over TLS gets 200 and shows in /metrics; sipcm bench loads it over TLS
// with --ca, or with --insecure-skip-verify, and fails to verify it
// without either.
func TestServeTLS(t *testing.T) {
	certFile, keyFile := writePEM(t, t.TempDir())
	p := startServe(t, []string{"--tcp", "none", "--tls", "127.0.0.1:0", "--cert", certFile, "--key", keyFile,
		"--admin", "127.0.0.1:0", "--loops", "1"}, "tls", "admin")
	addr, adm := p.addrs["tls"], p.addrs["admin"]

	c, err := tlsSIP(t, addr, certFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.request(t, "OPTIONS"); got != "SIP/2.0 200 OK" {
		t.Errorf("OPTIONS over TLS: %q, want SIP/2.0 200 OK", got)
	}
	if got := metric(t, adm, `sipcm_messages_total{direction="in"}`); got != 1 {
		t.Errorf("messages in: %v, want 1", got)
	}
	if got := metric(t, adm, `sipcm_tls_refusals_total{reason="untrusted CA"}`); got != 0 {
		t.Errorf("refusals: %v, want 0", got)
	}

	for _, flag := range [][]string{{"--ca", certFile}, {"--insecure-skip-verify"}} {
		var out, errb syncBuffer
		args := append([]string{"bench", "--target", "tls://" + addr, "--requests", "200", "--conns", "2", "--pipeline", "8"}, flag...)
		if code := run(context.Background(), args, &out, &errb, noEnv); code != exitOK {
			t.Errorf("bench %v: exit %d\n%s\n%s", flag, code, &out, &errb)
		}
		if !regexp.MustCompile(`(?m)^answered +200 \(2xx 200\)$`).MatchString(out.String()) {
			t.Errorf("bench %v table:\n%s", flag, &out)
		}
	}
	var out, errb syncBuffer
	code := run(context.Background(), []string{"bench", "--target", "tls://" + addr, "--requests", "10"}, &out, &errb, noEnv)
	if code != exitError || !strings.Contains(out.String()+errb.String(), "certificate") {
		t.Errorf("bench without --ca: exit %d\n%s\n%s", code, &out, &errb)
	}
	if code := p.stop(t); code != exitOK {
		t.Errorf("serve exit %d", code)
	}
}

// TestServeMTLS runs sipcm serve with mutual TLS: a client with no
// certificate is refused and counted in /metrics by reason; one with a
// certificate the CA file vouches for, for an allowed domain, is served.
func TestServeMTLS(t *testing.T) {
	certFile, keyFile := writePEM(t, t.TempDir())
	p := startServe(t, []string{"--tcp", "none", "--tls", "127.0.0.1:0", "--cert", certFile, "--key", keyFile,
		"--mtls", "--ca", certFile, "--admin", "127.0.0.1:0", "--loops", "1"}, "tls", "admin")
	addr, adm := p.addrs["tls"], p.addrs["admin"]

	if c, err := tlsSIP(t, addr, certFile, nil); err == nil {
		// TLS 1.3: the client finishes first; the refusal ends the read.
		if _, err := fmt.Fprint(c, "OPTIONS sip:x@localhost SIP/2.0\r\n\r\n"); err == nil {
			if _, err := c.r.ReadByte(); err == nil {
				t.Fatal("a client with no certificate was served")
			}
		}
	}
	if got := metric(t, adm, `sipcm_tls_refusals_total{reason="no client certificate"}`); got != 1 {
		t.Errorf("refusals for no client certificate: %v, want 1", got)
	}

	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tlsSIP(t, addr, certFile, &pair)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.request(t, "OPTIONS"); got != "SIP/2.0 200 OK" {
		t.Errorf("OPTIONS over mutual TLS: %q", got)
	}
	var conns []map[string]any
	if err := json.Unmarshal([]byte(httpGet(t, "http://"+adm+"/connections")), &conns); err != nil {
		t.Fatal(err)
	}
	if len(conns) != 1 || conns[0]["transport"] != "TLS" {
		t.Errorf("/connections = %v, want one TLS connection", conns)
	}
	if code := p.stop(t); code != exitOK {
		t.Errorf("serve exit %d", code)
	}
}

// TestServeHandshakeTimeout: --handshake-timeout closes a TLS connection
// that never finishes its handshake, well before the first-message
// timeout, and /metrics counts it by reason.
func TestServeHandshakeTimeout(t *testing.T) {
	certFile, keyFile := writePEM(t, t.TempDir())
	p := startServe(t, []string{"--tcp", "none", "--tls", "127.0.0.1:0", "--cert", certFile, "--key", keyFile,
		"--handshake-timeout", "100ms", "--first-message-timeout", "1h", "--admin", "127.0.0.1:0", "--loops", "1"}, "tls", "admin")
	addr, adm := p.addrs["tls"], p.addrs["admin"]

	nc, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// Closed by the flag's 100 ms, not by tlsbridge's default of 10 s:
	// wait half of that at most.
	_ = nc.SetDeadline(time.Now().Add(tlsbridge.DefaultHandshakeTimeout / 2))
	if _, err := nc.Write([]byte{0x16, 0x03, 0x01}); err != nil { // the start of a record, then nothing
		t.Fatal(err)
	}
	var b [1]byte
	if _, err := nc.Read(b[:]); err == nil || os.IsTimeout(err) {
		t.Fatalf("stalled handshake: read %v, want the connection closed", err)
	}
	if got := metric(t, adm, `sipcm_tls_refusals_total{reason="handshake timeout"}`); got != 1 {
		t.Errorf("handshake timeouts: %v, want 1", got)
	}
	if c, err := tlsSIP(t, addr, certFile, nil); err != nil {
		t.Fatal(err)
	} else if got := c.request(t, "OPTIONS"); got != "SIP/2.0 200 OK" {
		t.Errorf("OPTIONS after the stalled handshake: %q", got)
	}
	if code := p.stop(t); code != exitOK {
		t.Errorf("serve exit %d", code)
	}
}
