package engine

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sipcm/sipcm/internal/testcert"
	"github.com/sipcm/sipcm/sipparse"
	"github.com/sipcm/sipcm/tlsbridge"
)

// pki is the certificates of a test: a CA and the server certificate of
// "localhost" it issued (serverAuth and clientAuth).
type pki struct {
	ca     *testcert.CA
	server *testcert.Leaf
}

func newPKI(t testing.TB) *pki {
	t.Helper()
	ca := testcert.MustCA(t, "sipcm test CA")
	return &pki{ca: ca, server: ca.MustIssue(t, testcert.Both("localhost"))}
}

// serverTLS is the TLS config of a server presenting leaf and trusting p's
// CA for the servers it connects to.
func (p *pki) serverTLS(leaf *testcert.Leaf) TLSConfig {
	return TLSConfig{Config: tlsbridge.Config{Certificate: &leaf.TLS, RootCAs: p.ca.Pool()}}
}

// mutualTLS is serverTLS with mutual TLS: client certificates verified
// against p's CA and allowed by allow (nil: the default, localhost).
func (p *pki) mutualTLS(leaf *testcert.Leaf, allow []string) TLSConfig {
	tc := p.serverTLS(leaf)
	tc.Config.MutualTLS = true
	tc.Config.ClientCAs = p.ca.Pool()
	tc.Config.AllowedDomains = allow
	return tc
}

// clientConf is a crypto/tls client config trusting p's CA, for the
// server name localhost, presenting certs.
func (p *pki) clientConf(certs ...*testcert.Leaf) *tls.Config {
	c := &tls.Config{RootCAs: p.ca.Pool(), ServerName: "localhost"}
	if len(certs) > 0 {
		// Always present it: with Certificates alone, crypto/tls sends
		// none when the server's CA list does not name its issuer.
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &certs[0].TLS, nil
		}
	}
	return c
}

// startTLSServer starts a TLS server listening on 127.0.0.1:0.
func startTLSServer(t testing.TB, cfg Config) (*TLSServer, string) {
	t.Helper()
	return startListening(t, cfg, NewTLSServer)
}

// tlsDial connects a crypto/tls client to addr and runs the handshake.
func tlsDial(t testing.TB, addr string, conf *tls.Config) (*client, error) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	return tlsClient(t, nc, conf)
}

// tlsClient runs a crypto/tls client handshake over nc.
func tlsClient(t testing.TB, nc net.Conn, conf *tls.Config) (*client, error) {
	t.Helper()
	t.Cleanup(func() { _ = nc.Close() })
	tc := tls.Client(nc, conf)
	_ = tc.SetDeadline(time.Now().Add(ioTimeout))
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	return &client{t: t, nc: tc, r: newReader(tc)}, nil
}

// mustTLSDial is tlsDial that fails the test on error.
func mustTLSDial(t testing.TB, addr string, conf *tls.Config) *client {
	t.Helper()
	c, err := tlsDial(t, addr, conf)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitUntil polls cond until it holds; ioTimeout bounds the wait (a safety
// net, not a timing assertion). For states no event announces.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(ioTimeout)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// statusHandler is a Handler that answers requests with DefaultHandler and
// passes the status of every response to a channel.
type statusHandler chan int

func (h statusHandler) HandleMessage(c *Conn, m *sipparse.Message) {
	if m.Request {
		DefaultHandler{}.HandleMessage(c, m)
		return
	}
	h <- m.StatusCode
}

// sendOptions sends an OPTIONS on c from any goroutine.
func sendOptions(t testing.TB, c *Conn, branch string) {
	t.Helper()
	if err := c.Send([]byte(options(branch, 1)), nil); err != nil {
		t.Fatal(err)
	}
}

// recv waits for a value from ch; ioTimeout bounds the wait.
func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(ioTimeout):
		t.Fatal("nothing received")
	}
	panic("unreachable")
}

// logBuffer collects log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// clientHello returns the first flight of a crypto/tls client for
// localhost.
func clientHello(t testing.TB) []byte {
	t.Helper()
	rc := &recordConn{}
	_ = tls.Client(rc, &tls.Config{ServerName: "localhost"}).Handshake()
	if len(rc.b) == 0 {
		t.Fatal("no ClientHello recorded")
	}
	return rc.b
}

// recordConn records the first write and fails every call after it.
type recordConn struct {
	net.Conn
	b []byte
}

func (r *recordConn) Write(p []byte) (int, error) {
	if r.b != nil {
		return 0, net.ErrClosed
	}
	r.b = append([]byte(nil), p...)
	return len(p), nil
}

func (r *recordConn) Read([]byte) (int, error)         { return 0, net.ErrClosed }
func (r *recordConn) Close() error                     { return nil }
func (r *recordConn) SetDeadline(time.Time) error      { return nil }
func (r *recordConn) SetWriteDeadline(time.Time) error { return nil }

// byteConn writes everything one byte per system call (TCP_NODELAY set):
// TLS records reach the server split at every byte.
type byteConn struct {
	*net.TCPConn
}

func (c byteConn) Write(p []byte) (int, error) {
	for i := range p {
		if _, err := c.TCPConn.Write(p[i : i+1]); err != nil {
			return i, err
		}
	}
	return len(p), nil
}

func (r *recordConn) LocalAddr() net.Addr  { return &net.TCPAddr{} }
func (r *recordConn) RemoteAddr() net.Addr { return &net.TCPAddr{} }
