package tlsbridge

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipcm/sipcm/internal/testcert"
)

var tlsVersions = []struct {
	name string
	max  uint16
}{{"tls12", tls.VersionTLS12}, {"tls13", tls.VersionTLS13}}

// exchange sends a message each way and checks it arrives.
func exchange(t *testing.T, a, b *side) {
	t.Helper()
	msg := []byte("OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n")
	if err := a.write(msg); err != nil {
		t.Fatal(err)
	}
	if got := b.recvN(t, len(msg)); !bytes.Equal(got, msg) {
		t.Fatalf("b got %q", got)
	}
	if err := b.write(msg); err != nil {
		t.Fatal(err)
	}
	if got := a.recvN(t, len(msg)); !bytes.Equal(got, msg) {
		t.Fatalf("a got %q", got)
	}
}

// TestIncomingMutualTLS runs every accept and refusal case of an incoming
// mutual-TLS connection through real handshakes between two bridges.
func TestIncomingMutualTLS(t *testing.T) {
	ca := testcert.MustCA(t, "test CA")
	other := testcert.MustCA(t, "other CA")
	serverLeaf := ca.MustIssue(t, testcert.Both("server.example.com"))
	clientEKU := ekus(x509.ExtKeyUsageClientAuth)
	cases := []struct {
		name    string
		issuer  *testcert.CA
		opts    *testcert.Options // nil: the client manager, no certificate
		allowed []string
		want    Reason
		peer    string
	}{
		{name: "fqdn", opts: ptr(testcert.Client("a.example.com")), allowed: []string{"a.example.com"}, peer: "a.example.com"},
		{name: "fqdn-case", opts: ptr(testcert.Client("A.Example.COM")), allowed: []string{"a.example.com"}, peer: "A.Example.COM"},
		{name: "dot-domain", opts: ptr(testcert.Client("a.b.example.com")), allowed: []string{".example.com"}, peer: "a.b.example.com"},
		{name: "default-localhost", opts: ptr(testcert.Client("localhost")), peer: "localhost"},
		{name: "empty-list-any", opts: ptr(testcert.Client("x.org")), allowed: []string{}, peer: "x.org"},
		{name: "eku-both", opts: ptr(testcert.Both("a.example.com")), allowed: []string{"a.example.com"}, peer: "a.example.com"},
		{name: "cn-only", opts: &testcert.Options{CommonName: "a.example.com", ExtKeyUsage: clientEKU}, allowed: []string{"a.example.com"}, peer: "a.example.com"},
		{name: "apex-not-in-dot-domain", opts: ptr(testcert.Client("example.com")), allowed: []string{".example.com"}, want: ReasonNotAllowed},
		{name: "look-alike", opts: ptr(testcert.Client("evilexample.com")), allowed: []string{".example.com"}, want: ReasonNotAllowed},
		{name: "suffix-look-alike", opts: ptr(testcert.Client("example.com.evil.org")), allowed: []string{".example.com", "example.com"}, want: ReasonNotAllowed},
		{name: "not-listed", opts: ptr(testcert.Client("x.org")), want: ReasonNotAllowed},
		{name: "uri-over-dns", opts: &testcert.Options{URIs: []string{"sip:evil.org"}, DNSNames: []string{"a.example.com"}, ExtKeyUsage: clientEKU}, allowed: []string{"a.example.com"}, want: ReasonNotAllowed},
		{name: "san-over-cn", opts: &testcert.Options{CommonName: "a.example.com", DNSNames: []string{"evil.org"}, ExtKeyUsage: clientEKU}, allowed: []string{"a.example.com"}, want: ReasonNotAllowed},
		{name: "no-client-cert", allowed: []string{"a.example.com"}, want: ReasonNoClientCertificate},
		{name: "untrusted-ca", issuer: other, opts: ptr(testcert.Client("a.example.com")), allowed: []string{"a.example.com"}, want: ReasonUntrustedCA},
		{name: "expired", opts: ptr(testcert.Expired(testcert.Client("a.example.com"))), allowed: []string{"a.example.com"}, want: ReasonExpired},
		{name: "eku-server-only", opts: ptr(testcert.Server("a.example.com")), allowed: []string{"a.example.com"}, want: ReasonWrongEKU},
		{name: "eku-none", opts: &testcert.Options{URIs: []string{"sip:a.example.com"}}, allowed: []string{"a.example.com"}, want: ReasonWrongEKU},
	}
	for _, v := range tlsVersions {
		for _, tc := range cases {
			t.Run(v.name+"/"+tc.name, func(t *testing.T) {
				srvM := serverManager(t, ca, serverLeaf, true, tc.allowed)
				var cliM *Manager
				if tc.opts == nil {
					cliM = clientManager(t, ca)
				} else {
					issuer := tc.issuer
					if issuer == nil {
						issuer = ca
					}
					cliM = serverManager(t, ca, issuer.MustIssue(t, *tc.opts), false, nil)
				}
				cliM.client.MaxVersion = v.max
				srv := newSide(t).accept(t, srvM)
				cli := newSide(t).connect(cliM, Outbound{Host: "server.example.com"})
				link(cli, srv)
				errC, errS := handshake(testCtx(t), cli, srv)
				if got := ReasonOf(errS); got != tc.want {
					t.Fatalf("server: reason %v (%v), want %v", got, errS, tc.want)
				}
				if tc.want == ReasonNone {
					if errC != nil {
						t.Fatalf("client: %v", errC)
					}
					exchange(t, cli, srv)
					if got := srv.c.PeerIdentity(); got != tc.peer {
						t.Errorf("PeerIdentity %q, want %q", got, tc.peer)
					}
					if s := srvM.Stats(); s.Accepted != 1 || s.TotalFailed() != 0 {
						t.Errorf("server stats %+v", s)
					}
					return
				}
				var e *Error
				if !errors.As(errS, &e) || e.Reason != tc.want {
					t.Fatalf("server error %#v not an *Error with %v", errS, tc.want)
				}
				if n := srvM.Stats().Refused(tc.want); n != 1 {
					t.Errorf("server counted %d refusals %v, want 1", n, tc.want)
				}
				// The client learns from the server's alert: in its
				// handshake (TLS 1.2) or right after it (TLS 1.3).
				if errC == nil {
					errC = cli.waitErr(t)
				}
				if errC == nil {
					t.Fatal("client saw no error")
				}
				srv.loop.do(func() { srv.c.Close() })
				cli.loop.do(func() { cli.c.Close() })
			})
		}
	}
}

// TestOutgoing runs every accept and refusal case of an outgoing
// connection's server check.
func TestOutgoing(t *testing.T) {
	ca := testcert.MustCA(t, "test CA")
	other := testcert.MustCA(t, "other CA")
	srvEKU := ekus(x509.ExtKeyUsageServerAuth)
	const host = "sip.example.com"
	cases := []struct {
		name   string
		issuer *testcert.CA
		opts   testcert.Options
		dst    Outbound
		mut    func(*Config)
		want   Reason
		peer   string
	}{
		{name: "match", opts: testcert.Server(host), dst: Outbound{Host: host}, peer: host},
		{name: "case-insensitive", opts: testcert.Server(host), dst: Outbound{Host: "SIP.Example.COM"}, peer: "SIP.Example.COM"},
		{name: "trailing-dot", opts: testcert.Server(host), dst: Outbound{Host: host + "."}, peer: host + "."},
		{name: "mismatch", opts: testcert.Server(host), dst: Outbound{Host: "other.example.com"}, want: ReasonIdentityMismatch},
		{name: "no-suffix-match", opts: testcert.Server("example.com"), dst: Outbound{Host: host}, want: ReasonIdentityMismatch},
		{name: "pool-cert", opts: testcert.Server("pool.example.com"), dst: Outbound{Host: "fe1.example.com", ExpectedName: "pool.example.com"}, peer: "pool.example.com"},
		{name: "pool-cert-host-also-ok", opts: testcert.Server("fe1.example.com"), dst: Outbound{Host: "fe1.example.com", ExpectedName: "pool.example.com"}, peer: "fe1.example.com"},
		{name: "pool-cert-not-expected", opts: testcert.Server("pool.example.com"), dst: Outbound{Host: "fe1.example.com"}, want: ReasonIdentityMismatch},
		{name: "ip-host-expected-name", opts: testcert.Server(host), dst: Outbound{Host: "127.0.0.1", ExpectedName: host}, peer: host},
		{name: "ip-host-no-name", opts: testcert.Server(host), dst: Outbound{Host: "127.0.0.1"}, want: ReasonIdentityMismatch},
		{name: "cn-only", opts: testcert.Options{CommonName: host, ExtKeyUsage: srvEKU}, dst: Outbound{Host: host}, peer: host},
		{name: "san-over-cn", opts: testcert.Options{CommonName: host, DNSNames: []string{"other.example.com"}, ExtKeyUsage: srvEKU}, dst: Outbound{Host: host}, want: ReasonIdentityMismatch},
		{name: "other-san-hides-cn", opts: testcert.Options{CommonName: host, URIs: []string{"https://" + host}, ExtKeyUsage: srvEKU}, dst: Outbound{Host: host}, want: ReasonIdentityMismatch},
		{name: "uri-over-dns", opts: testcert.Options{URIs: []string{"sip:a.example.com"}, DNSNames: []string{host}, ExtKeyUsage: srvEKU}, dst: Outbound{Host: host}, want: ReasonIdentityMismatch},
		{name: "uri-with-user-ignored", opts: testcert.Options{URIs: []string{"sip:alice@other.example.com"}, DNSNames: []string{host}, ExtKeyUsage: srvEKU}, dst: Outbound{Host: host}, peer: host},
		{name: "uri-port-params", opts: testcert.Options{URIs: []string{"sip:" + host + ":5061;transport=tls"}, ExtKeyUsage: srvEKU}, dst: Outbound{Host: host}, peer: host},
		{name: "no-wildcard", opts: testcert.Options{DNSNames: []string{"*.example.com"}, ExtKeyUsage: srvEKU}, dst: Outbound{Host: host}, want: ReasonIdentityMismatch},
		{name: "untrusted-ca", issuer: other, opts: testcert.Server(host), dst: Outbound{Host: host}, want: ReasonUntrustedCA},
		{name: "expired", opts: testcert.Expired(testcert.Server(host)), dst: Outbound{Host: host}, want: ReasonExpired},
		{name: "eku-client-only", opts: testcert.Client(host), dst: Outbound{Host: host}, want: ReasonWrongEKU},
		{name: "eku-none", opts: testcert.Options{DNSNames: []string{host}}, dst: Outbound{Host: host}, want: ReasonWrongEKU},
		{name: "eku-none-accepted-by-config", opts: testcert.Options{DNSNames: []string{host}}, dst: Outbound{Host: host},
			mut: func(c *Config) { c.ServerEKUs = ekus(x509.ExtKeyUsageAny) }, peer: host},
		{name: "eku-client-accepted-by-config", opts: testcert.Client(host), dst: Outbound{Host: host},
			mut: func(c *Config) { c.ServerEKUs = ekus(x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth) }, peer: host},
	}
	for _, v := range tlsVersions {
		for _, tc := range cases {
			t.Run(v.name+"/"+tc.name, func(t *testing.T) {
				issuer := tc.issuer
				if issuer == nil {
					issuer = ca
				}
				srvM := serverManager(t, ca, issuer.MustIssue(t, tc.opts), false, nil)
				cfg := Config{Client: true, RootCAs: ca.Pool()}
				if tc.mut != nil {
					tc.mut(&cfg)
				}
				cliM := newManager(t, cfg)
				cliM.client.MaxVersion = v.max
				srv := newSide(t).accept(t, srvM)
				cli := newSide(t).connect(cliM, tc.dst)
				link(cli, srv)
				errC, errS := handshake(testCtx(t), cli, srv)
				if got := ReasonOf(errC); got != tc.want {
					t.Fatalf("client: reason %v (%v), want %v", got, errC, tc.want)
				}
				if tc.want == ReasonNone {
					if errS != nil {
						t.Fatalf("server: %v", errS)
					}
					exchange(t, cli, srv)
					if got := cli.c.PeerIdentity(); got != tc.peer {
						t.Errorf("PeerIdentity %q, want %q", got, tc.peer)
					}
					if s := cliM.Stats(); s.Connected != 1 || s.TotalFailed() != 0 {
						t.Errorf("client stats %+v", s)
					}
					return
				}
				if errS == nil {
					t.Error("server handshake succeeded after the client refused")
				}
				if n := cliM.Stats().Refused(tc.want); n != 1 {
					t.Errorf("client counted %d refusals %v, want 1", n, tc.want)
				}
				if cli.c.PeerIdentity() != "" || cli.c.PeerCertificate() != nil {
					t.Error("refused peer has an identity")
				}
			})
		}
	}
}

// TestHandshakeTimeout: a peer that never answers ends in
// ReasonHandshakeTimeout, counted, with the handshake goroutine gone.
func TestHandshakeTimeout(t *testing.T) {
	ca := testcert.MustCA(t, "test CA")
	for _, dir := range []string{"in", "out"} {
		t.Run(dir, func(t *testing.T) {
			m := serverManager(t, ca, ca.MustIssue(t, testcert.Both("a.example.com")), false, nil)
			s := newSide(t)
			s.tr.setSink(func([]byte) {}) // the peer is silent
			if dir == "in" {
				s.accept(t, m)
			} else {
				s.connect(m, Outbound{Host: "a.example.com"})
			}
			// An expired deadline: deterministic, no sleeping.
			ctx, cancel := context.WithDeadline(context.Background(), timeZero)
			defer cancel()
			err := s.c.Handshake(ctx)
			if ReasonOf(err) != ReasonHandshakeTimeout {
				t.Fatalf("reason %v (%v)", ReasonOf(err), err)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%v does not wrap DeadlineExceeded", err)
			}
			if n := m.Stats().Refused(ReasonHandshakeTimeout); n != 1 {
				t.Errorf("counted %d", n)
			}
			if err := s.activate(); err == nil {
				t.Error("Activate after a failed handshake succeeded")
			}
			s.loop.do(func() {
				if err := s.c.Feed([]byte{1}); ReasonOf(err) != ReasonHandshakeTimeout {
					t.Errorf("Feed after a failed handshake: %v", err)
				}
			})
		})
	}
}

// TestCloseDuringHandshake: Close on the loop wakes the handshake.
func TestCloseDuringHandshake(t *testing.T) {
	ca := testcert.MustCA(t, "test CA")
	m := serverManager(t, ca, ca.MustIssue(t, testcert.Both("a.example.com")), false, nil)
	s := newSide(t).accept(t, m)
	s.tr.setSink(func([]byte) {})
	done := make(chan error)
	go func() { done <- s.c.Handshake(context.Background()) }()
	s.loop.do(func() {
		if err := s.c.Feed([]byte{22, 3, 1}); err != nil { // part of a ClientHello
			t.Error(err)
		}
		s.c.Close()
	})
	err := <-done
	if ReasonOf(err) != ReasonOther {
		t.Fatalf("reason %v (%v)", ReasonOf(err), err)
	}
	s.loop.do(func() {
		if err := s.c.Feed([]byte{1}); !errors.Is(err, ErrClosed) {
			t.Errorf("Feed after Close: %v", err)
		}
	})
}

// TestHandshakeFlood: input queued during a handshake is bounded.
func TestHandshakeFlood(t *testing.T) {
	ca := testcert.MustCA(t, "test CA")
	m := serverManager(t, ca, ca.MustIssue(t, testcert.Both("a.example.com")), false, nil)
	s := newSide(t).accept(t, m) // no handshake running: bytes pile up
	big := make([]byte, 64<<10)
	s.loop.do(func() {
		var err error
		for i := 0; err == nil && i < 2*maxHandshakeInput/len(big); i++ {
			err = s.c.Feed(big)
		}
		if !errors.Is(err, ErrHandshakeFlood) {
			t.Errorf("err %v, want ErrHandshakeFlood", err)
		}
		s.c.Close()
	})
}

func TestErrorText(t *testing.T) {
	e := &Error{Reason: ReasonIdentityMismatch, Names: []string{"a", "b"}, Want: "c"}
	if got, want := e.Error(), "tlsbridge: refused: identity mismatch: want c: peer a,b"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	wrapped := fmt.Errorf("engine: %w", &Error{Reason: ReasonOther, Err: errors.New("boom")})
	if got, want := wrapped.Error(), "engine: tlsbridge: handshake: boom"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	if ReasonOf(wrapped) != ReasonOther || ReasonOf(nil) != ReasonNone ||
		ReasonOf(context.DeadlineExceeded) != ReasonHandshakeTimeout || ReasonOf(errors.New("x")) != ReasonOther {
		t.Error("ReasonOf")
	}
	for r := range Reason(NumReasons) {
		if r.String() == "unknown" || r.String() == "" {
			t.Errorf("Reason(%d) has no name", r)
		}
	}
	if Reason(NumReasons).String() != "unknown" {
		t.Error("out of range reason")
	}
}

func ptr[T any](v T) *T { return &v }

// TestConfigHandshakeTimeout: Config.HandshakeTimeout bounds a handshake
// whose context has no deadline (1 ns: over before the silent peer could
// answer, so no waiting).
func TestConfigHandshakeTimeout(t *testing.T) {
	ca := testcert.MustCA(t, "test CA")
	leaf := ca.MustIssue(t, testcert.Both("a.example.com")).TLS
	m := newManager(t, Config{Certificate: &leaf, HandshakeTimeout: time.Nanosecond})
	s := newSide(t).accept(t, m)
	s.tr.setSink(func([]byte) {})
	if err := s.c.Handshake(context.Background()); ReasonOf(err) != ReasonHandshakeTimeout {
		t.Fatalf("reason %v (%v)", ReasonOf(err), err)
	}
	s.loop.do(func() { s.c.Close() })
}

// TestClock: validity is checked at Config.Time, not the wall clock.
func TestClock(t *testing.T) {
	ca := testcert.MustCA(t, "test CA")
	srv := serverManager(t, ca, ca.MustIssue(t, testcert.Server("a.example.com")), false, nil)
	for _, tc := range []struct {
		name string
		now  time.Time
		want Reason
	}{
		{"now", time.Now(), ReasonNone},
		{"in-two-days", time.Now().Add(48 * time.Hour), ReasonExpired},
		{"two-hours-ago", time.Now().Add(-2 * time.Hour), ReasonExpired}, // not yet valid
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli := newManager(t, Config{Client: true, RootCAs: ca.Pool(), Time: func() time.Time { return tc.now }})
			if _, _, errC, _ := pair(t, cli, Outbound{Host: "a.example.com"}, srv); ReasonOf(errC) != tc.want {
				t.Fatalf("reason %v (%v), want %v", ReasonOf(errC), errC, tc.want)
			}
		})
	}
}

// TestRefusalLogged: a refusal is logged with its reason and peer.
func TestRefusalLogged(t *testing.T) {
	ca := testcert.MustCA(t, "test CA")
	srv := serverManager(t, ca, ca.MustIssue(t, testcert.Server("a.example.com")), false, nil)
	var logs syncBuffer
	cli := newManager(t, Config{Client: true, RootCAs: ca.Pool(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if _, _, errC, _ := pair(t, cli, Outbound{Host: "b.example.com"}, srv); ReasonOf(errC) != ReasonIdentityMismatch {
		t.Fatal(errC)
	}
	for _, want := range []string{"level=WARN", `reason="identity mismatch"`, "dir=out", "host=b.example.com", "peer a.example.com"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log %q lacks %q", logs.String(), want)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
