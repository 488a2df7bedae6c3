package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/internal/testcert"
	"github.com/sipcm/sipcm/tlsbridge"
)

// TestTLSServer: a crypto/tls client, TLS 1.2 and 1.3, gets answers to
// pipelined OPTIONS; the connection shows as TLS.
func TestTLSServer(t *testing.T) {
	p := newPKI(t)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			s, addr := startTLSServer(t, Config{Handler: DefaultHandler{}, TLS: p.serverTLS(p.server)})
			conf := p.clientConf()
			conf.MaxVersion = v
			c := mustTLSDial(t, addr, conf)
			if got := c.nc.(*tls.Conn).ConnectionState().Version; got != v {
				t.Fatalf("version %x, want %x", got, v)
			}
			c.send(options("a", 1) + options("b", 2) + "\r\n\r\n" + options("c", 3))
			for i := 1; i <= 3; i++ {
				if resp := c.mustRead(); statusOf(resp) != 200 || header(resp, "CSeq") != fmt.Sprintf("%d OPTIONS", i) {
					t.Fatalf("response %d: %q", i, resp)
				}
			}
			cs := s.Conns(nil)
			if len(cs) != 1 || cs[0].Transport != TLS || cs[0].MessagesIn != 3 || cs[0].MessagesOut != 3 || cs[0].PeerIdentity != "" {
				t.Errorf("conns %+v", cs)
			}
			if st := s.TLS().Stats(); st.Accepted != 1 || st.TotalFailed() != 0 {
				t.Errorf("TLS stats %+v", st)
			}
			if st := s.Stats(); st.Accepted != 1 || st.MessagesIn != 3 || st.Pings != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestNewTLSServerConfig: a TLS server needs a certificate; the client
// manager needs a client tlsbridge.Manager and a server manager a server
// one.
func TestNewTLSServerConfig(t *testing.T) {
	p := newPKI(t)
	if _, err := NewTLSServer(Config{}); !errors.Is(err, ErrConfig) {
		t.Errorf("no certificate: %v", err)
	}
	if _, err := NewTLSServer(Config{TLS: TLSConfig{MaxHandshakes: -1}}); !errors.Is(err, ErrConfig) {
		t.Errorf("negative MaxHandshakes: %v", err)
	}
	if _, err := NewTLSServer(Config{TLS: TLSConfig{Config: tlsbridge.Config{MutualTLS: true}}}); !errors.Is(err, ErrConfig) {
		t.Errorf("mutual TLS without CAs: %v", err)
	}
	cli, _ := tlsbridge.NewManager(tlsbridge.Config{Client: true})
	srv, _ := tlsbridge.NewManager(tlsbridge.Config{Certificate: &p.server.TLS})
	if _, err := NewTLSServer(Config{TLS: TLSConfig{Manager: cli}}); !errors.Is(err, ErrConfig) {
		t.Errorf("server with a client tlsbridge.Manager: %v", err)
	}
	if _, err := NewClientManager(Config{TLS: TLSConfig{Manager: srv}}); !errors.Is(err, ErrConfig) {
		t.Errorf("client manager with a server tlsbridge.Manager: %v", err)
	}
	if _, err := NewClientManager(Config{TLS: p.serverTLS(p.server)}); !errors.Is(err, ErrConfig) {
		t.Errorf("client manager with a certificate: %v", err)
	}
	s, err := NewTLSServer(Config{Logger: testLogger(t), TLS: TLSConfig{Manager: srv}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.TLS() != srv {
		t.Error("TLS() is not the given manager")
	}
	cm, err := NewClientManager(Config{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Close()
	if !cm.TLS().IsClient() {
		t.Error("a client manager's TLS manager is not a client one")
	}
}

// TestTLSMutual: under mutual TLS a client with a trusted certificate
// that the allow list allows is accepted, and its identity shows in
// ConnInfo.
func TestTLSMutual(t *testing.T) {
	p := newPKI(t)
	for _, tt := range []struct {
		allow []string
		name  string
	}{
		{nil, "localhost"},
		{[]string{".example.com"}, "a.example.com"},
		{[]string{".example.com"}, "b.sub.example.com"},
		{[]string{}, "anyone.example.org"}, // empty list: any trusted peer
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer // the warning about an empty allow list
			s, addr := startTLSServer(t, Config{Logger: logs.logger(), Handler: DefaultHandler{}, TLS: p.mutualTLS(p.server, tt.allow)})
			c := mustTLSDial(t, addr, p.clientConf(p.ca.MustIssue(t, testcert.Client(tt.name))))
			c.send(options("m", 1))
			if resp := c.mustRead(); statusOf(resp) != 200 {
				t.Fatalf("response %q", resp)
			}
			if cs := s.Conns(nil); len(cs) != 1 || cs[0].PeerIdentity != tt.name {
				t.Errorf("conns %+v, want peer %s", cs, tt.name)
			}
			warned := strings.Contains(logs.String(), "empty allow list")
			if warned != (tt.allow != nil && len(tt.allow) == 0) {
				t.Errorf("warning about an empty allow list: %v; log:\n%s", warned, logs.String())
			}
		})
	}
}

// TestTLSRefusals: every refusal of an incoming connection is refused,
// counted by its reason, logged with it, and the connection closed.
func TestTLSRefusals(t *testing.T) {
	p := newPKI(t)
	other := testcert.MustCA(t, "other CA")
	for _, tt := range []struct {
		name   string
		cert   *testcert.Leaf // nil: none
		reason tlsbridge.Reason
	}{
		{"untrusted CA", other.MustIssue(t, testcert.Client("localhost")), tlsbridge.ReasonUntrustedCA},
		{"expired", p.ca.MustIssue(t, testcert.Expired(testcert.Client("localhost"))), tlsbridge.ReasonExpired},
		{"not allowed", p.ca.MustIssue(t, testcert.Client("evil.example.org")), tlsbridge.ReasonNotAllowed},
		{"look-alike", p.ca.MustIssue(t, testcert.Client("evilexample.com")), tlsbridge.ReasonNotAllowed},
		{"wrong EKU", p.ca.MustIssue(t, testcert.Server("localhost")), tlsbridge.ReasonWrongEKU},
		{"no client certificate", nil, tlsbridge.ReasonNoClientCertificate},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			s, addr := startTLSServer(t, Config{Logger: logs.logger(), Handler: DefaultHandler{},
				TLS: p.mutualTLS(p.server, []string{"localhost", ".example.com"})})
			var certs []*testcert.Leaf
			if tt.cert != nil {
				certs = append(certs, tt.cert)
			}
			nc, err := net.DialTimeout("tcp", addr, ioTimeout)
			if err != nil {
				t.Fatal(err)
			}
			if c, err := tlsClient(t, nc, p.clientConf(certs...)); err == nil {
				c.send(options("r", 1))
				if resp, err := c.readMessage(); err == nil {
					t.Fatalf("refused client got %q", resp)
				}
			}
			(&client{t: t, nc: nc, r: newReader(nc)}).expectClosed()
			st := s.TLS().Stats()
			if st.Refused(tt.reason) != 1 || st.TotalFailed() != 1 || st.Accepted != 0 {
				t.Errorf("TLS stats %+v, want one refusal for %v", st, tt.reason)
			}
			if es := s.Stats(); es.ConnsIn != 0 || es.MessagesIn != 0 {
				t.Errorf("engine stats %+v", es)
			}
			if want := "reason=" + quoteLog(tt.reason.String()); !strings.Contains(logs.String(), want) {
				t.Errorf("log has no %s:\n%s", want, logs.String())
			}
		})
	}
}

// quoteLog quotes s as slog's text handler does.
func quoteLog(s string) string {
	if strings.ContainsAny(s, " =\"") {
		return fmt.Sprintf("%q", s)
	}
	return s
}

// TestTLSHandshakeTimeout: a client that stalls in its handshake (sends
// nothing, stops in the middle of its ClientHello, or sends the whole
// ClientHello and then never its second flight, under mutual TLS too) is
// closed by the handshake timeout and counted with that reason, not with
// the first-message timeout; a good client is served meanwhile.
func TestTLSHandshakeTimeout(t *testing.T) {
	p := newPKI(t)
	hello := clientHello(t)
	goodCert := p.ca.MustIssue(t, testcert.Client("localhost"))
	for _, tt := range []struct {
		name string
		send []byte
		mtls bool
	}{
		{"nothing", nil, false},
		{"half a ClientHello", hello[:len(hello)/2], false},
		{"after the ClientHello", hello, false},
		{"after the ClientHello, mutual TLS", hello, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tc := p.serverTLS(p.server)
			if tt.mtls {
				tc = p.mutualTLS(p.server, []string{"localhost"})
			}
			tc.Config.HandshakeTimeout = 100e6 // 100 ms; the first-message timeout is a minute
			var logs logBuffer
			s, addr := startTLSServer(t, Config{Logger: logs.logger(), Handler: DefaultHandler{}, TLS: tc})
			c := dial(t, addr)
			if len(tt.send) > 0 {
				c.send(string(tt.send))
			}
			good := mustTLSDial(t, addr, p.clientConf(goodCert))
			good.send(options("good", 1))
			if resp, err := good.readMessage(); err != nil || statusOf(resp) != 200 {
				t.Errorf("good client beside the stalled one: %q, %v", resp, err)
			}
			c.expectClosed()
			st := s.TLS().Stats()
			if st.Refused(tlsbridge.ReasonHandshakeTimeout) != 1 || st.TotalFailed() != 1 || st.Accepted != 1 {
				t.Errorf("TLS stats %+v, want one handshake timeout and one accepted", st)
			}
			if es := s.Stats(); es.FirstMessageTimeouts != 0 {
				t.Errorf("engine stats %+v", es)
			}
			if want := "reason=" + quoteLog(tlsbridge.ReasonHandshakeTimeout.String()); !strings.Contains(logs.String(), want) {
				t.Errorf("log has no %s:\n%s", want, logs.String())
			}
		})
	}
}

// TestTLSWriteBeforeHandshake: a TLS connection refuses writes until its
// handshake is done, and the handler hears of it only then.
func TestTLSWriteBeforeHandshake(t *testing.T) {
	p := newPKI(t)
	h := newConnRecorder()
	s, addr := startTLSServer(t, Config{Handler: h, TLS: p.serverTLS(p.server)})
	raw := dial(t, addr) // sends nothing: the handshake waits
	var conns []*Conn
	waitUntil(t, "the connection", func() bool {
		conns = conns[:0]
		for _, l := range s.loopList() {
			conns = l.appendConns(conns)
		}
		return len(conns) == 1
	})
	werr := make(chan error, 1)
	if err := conns[0].Execute(func() { werr <- conns[0].Write([]byte(options("x", 1))) }); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, werr); !errors.Is(err, ErrHandshake) {
		t.Errorf("write during the handshake: %v, want ErrHandshake", err)
	}
	select {
	case c := <-h.opened:
		t.Fatalf("HandleOpen for conn %d before its handshake", c.ID())
	default:
	}
	_ = raw.nc.Close()
	c := mustTLSDial(t, addr, p.clientConf())
	opened := recv(t, h.opened)
	if opened.Transport() != TLS {
		t.Errorf("transport %v", opened.Transport())
	}
	_ = c.nc.Close()
	if err := recv(t, h.closed); err != nil {
		t.Errorf("HandleClose: %v", err)
	}
}

// connRecorder is a ConnHandler answering with DefaultHandler and
// reporting opens and closes.
type connRecorder struct {
	DefaultHandler
	opened chan *Conn
	closed chan error
}

func newConnRecorder() *connRecorder {
	return &connRecorder{opened: make(chan *Conn, 16), closed: make(chan error, 16)}
}

func (r *connRecorder) HandleOpen(c *Conn)             { r.opened <- c }
func (r *connRecorder) HandleClose(_ *Conn, err error) { r.closed <- err }

// TestTLSMaxHandshakes: past MaxHandshakes, incoming handshakes wait for a
// turn, and get it when a running one ends.
func TestTLSMaxHandshakes(t *testing.T) {
	p := newPKI(t)
	tc := p.serverTLS(p.server)
	tc.MaxHandshakes = 1
	s, addr := startTLSServer(t, Config{Handler: DefaultHandler{}, TLS: tc})
	stalled := dial(t, addr) // holds the only turn
	waitUntil(t, "a running handshake", func() bool {
		s.tls.mu.Lock()
		defer s.tls.mu.Unlock()
		return s.tls.running == 1
	})
	done := make(chan error, 1)
	go func() {
		nc, err := net.DialTimeout("tcp", addr, ioTimeout)
		if err != nil {
			done <- err
			return
		}
		defer nc.Close()
		tc := tls.Client(nc, p.clientConf())
		defer tc.Close()
		done <- tc.HandshakeContext(context.Background())
	}()
	waitUntil(t, "a queued handshake", func() bool {
		s.tls.mu.Lock()
		defer s.tls.mu.Unlock()
		return len(s.tls.queue) == 1
	})
	select {
	case err := <-done:
		t.Fatalf("queued handshake ended: %v", err)
	default:
	}
	_ = stalled.nc.Close() // ends the running handshake: the queued one runs
	if err := recv(t, done); err != nil {
		t.Fatalf("queued handshake: %v", err)
	}
}

// TestTLSSplitRecords: a crypto/tls client whose every byte, handshake
// included, goes out in a system call of its own is served normally.
func TestTLSSplitRecords(t *testing.T) {
	p := newPKI(t)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			s, addr := startTLSServer(t, Config{Handler: DefaultHandler{}, TLS: p.serverTLS(p.server)})
			nc, err := net.DialTimeout("tcp", addr, ioTimeout)
			if err != nil {
				t.Fatal(err)
			}
			tcp := nc.(*net.TCPConn)
			_ = tcp.SetNoDelay(true)
			conf := p.clientConf()
			conf.MaxVersion = v
			c, err := tlsClient(t, byteConn{tcp}, conf)
			if err != nil {
				t.Fatal(err)
			}
			c.send(options("s1", 1) + options("s2", 2))
			c.send(options("s3", 3))
			for i := 1; i <= 3; i++ {
				if resp := c.mustRead(); statusOf(resp) != 200 || header(resp, "CSeq") != fmt.Sprintf("%d OPTIONS", i) {
					t.Fatalf("response %d: %q", i, resp)
				}
			}
			if st := s.Stats(); st.MessagesIn != 3 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestTLSCertificateReplacement: a certificate replaced in memory or
// reloaded from its files is presented by the handshakes that follow;
// established connections go on.
func TestTLSCertificateReplacement(t *testing.T) {
	p := newPKI(t)
	issue := func(cn string) *testcert.Leaf {
		o := testcert.Server("localhost")
		o.CommonName = cn
		return p.ca.MustIssue(t, o)
	}
	one, two, three := issue("one"), issue("two"), issue("three")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write := func(l *testcert.Leaf) {
		if err := os.WriteFile(certFile, l.CertPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, l.KeyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(one)
	s, addr := startTLSServer(t, Config{Handler: DefaultHandler{},
		TLS: TLSConfig{Config: tlsbridge.Config{CertFile: certFile, KeyFile: keyFile}}})
	presented := func() (string, *client) {
		c := mustTLSDial(t, addr, p.clientConf())
		return c.nc.(*tls.Conn).ConnectionState().PeerCertificates[0].Subject.CommonName, c
	}
	cn, old := presented()
	if cn != "one" {
		t.Fatalf("presented %q, want one", cn)
	}
	if err := s.TLS().SetCertificate(&two.TLS); err != nil {
		t.Fatal(err)
	}
	if cn, _ := presented(); cn != "two" {
		t.Errorf("after SetCertificate: %q, want two", cn)
	}
	write(three)
	if err := s.TLS().ReloadCertificate(); err != nil {
		t.Fatal(err)
	}
	if cn, _ := presented(); cn != "three" {
		t.Errorf("after ReloadCertificate: %q, want three", cn)
	}
	old.send(options("old", 1))
	if resp := old.mustRead(); statusOf(resp) != 200 {
		t.Errorf("established connection: %q", resp)
	}
}

// TestTLSDispatch: with no Handler, requests read over TLS go to the
// dispatcher: an endpoint answers its AOR, the manager answers 500 for an
// unknown target.
func TestTLSDispatch(t *testing.T) {
	p := newPKI(t)
	s, addr := startTLSServer(t, Config{TLS: p.serverTLS(p.server)})
	if err := s.Dispatcher().Add(newEndpoint(t, dispatch.EndpointConfig{AOR: "sip:alice@example.com"})); err != nil {
		t.Fatal(err)
	}
	c := mustTLSDial(t, addr, p.clientConf())
	c.send(request("INVITE", "sip:nobody@example.com", "inv", 1))
	if resp := c.mustRead(); statusOf(resp) != 500 {
		t.Errorf("unknown target: %q", resp)
	}
	c.send(request("OPTIONS", "sip:alice@example.com", "opt", 2))
	if resp := c.mustRead(); statusOf(resp) != 200 {
		t.Errorf("endpoint: %q", resp)
	}
}

// TestTLSBackpressure: writes to a TLS connection whose peer does not
// read fail with ErrBackpressure once WriteHighWater bytes wait.
func TestTLSBackpressure(t *testing.T) {
	p := newPKI(t)
	h := newConnRecorder()
	s, addr := startTLSServer(t, Config{Handler: h, WriteHighWater: 64 << 10, TLS: p.serverTLS(p.server)})
	nc, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.(*net.TCPConn).SetReadBuffer(4 << 10)
	if _, err := tlsClient(t, nc, p.clientConf()); err != nil {
		t.Fatal(err)
	}
	c := recv(t, h.opened)
	type result struct {
		n   int
		err error
	}
	res := make(chan result, 1)
	buf := make([]byte, 16<<10)
	if err := c.Execute(func() {
		for i := range 1 << 14 { // at most 256 MiB: far past any socket buffer
			if err := c.Write(buf); err != nil {
				res <- result{i, err}
				return
			}
		}
		res <- result{1 << 14, nil}
	}); err != nil {
		t.Fatal(err)
	}
	r := recv(t, res)
	if !errors.Is(r.err, ErrBackpressure) {
		t.Fatalf("after %d writes: %v, want ErrBackpressure", r.n, r.err)
	}
	if st := s.Stats(); st.Backpressure != 1 {
		t.Errorf("stats %+v", st)
	}
}
