package engine

import (
	"context"
	"net"
	"slices"
	"strconv"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/internal/testcert"
	"github.com/sipcm/sipcm/pool"
	"github.com/sipcm/sipcm/sipparse"
	"github.com/sipcm/sipcm/tlsbridge"
)

// startClient starts a client manager trusting p's CA.
func startClient(t testing.TB, p *pki, h Handler) *ClientManager {
	t.Helper()
	// Refusals, which these tests provoke, are logged at Warn: keep them
	// out of the test output.
	var logs logBuffer
	cm, err := NewClientManager(Config{Logger: logs.logger(), Loops: 1, Handler: h,
		TLS: TLSConfig{Config: tlsbridge.Config{RootCAs: p.ca.Pool()}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := cm.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cm.Close() })
	return cm
}

// TestTLSDial: the client manager dials a TLS server, verifies it and
// talks SIP over the connection; the server sees no client certificate.
func TestTLSDial(t *testing.T) {
	p := newPKI(t)
	s, addr := startTLSServer(t, Config{Handler: DefaultHandler{}, TLS: p.serverTLS(p.server)})
	status := make(statusHandler, 4)
	cm := startClient(t, p, status)
	c, err := cm.DialTLS(context.Background(), "tcp", addr, tlsbridge.Outbound{Host: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Transport() != TLS || c.Direction() != Outgoing || c.Info().PeerIdentity != "localhost" {
		t.Errorf("conn %+v", c.Info())
	}
	sendOptions(t, c, "d1")
	if got := recv(t, status); got != 200 {
		t.Errorf("status %d", got)
	}
	if st := cm.TLS().Stats(); st.Connected != 1 {
		t.Errorf("client TLS stats %+v", st)
	}
	if cs := s.Conns(nil); len(cs) != 1 || cs[0].PeerIdentity != "" {
		t.Errorf("server conns %+v", cs)
	}
}

// TestTLSOutboundRefusals: an outgoing connection whose server fails a
// check is refused, counted by reason on the dialing manager, and the
// dial fails with the reason.
func TestTLSOutboundRefusals(t *testing.T) {
	p := newPKI(t)
	other := testcert.MustCA(t, "other CA")
	for _, tt := range []struct {
		name   string
		cert   *testcert.Leaf
		reason tlsbridge.Reason
	}{
		{"identity mismatch", p.ca.MustIssue(t, testcert.Server("other.example.com")), tlsbridge.ReasonIdentityMismatch},
		{"untrusted CA", other.MustIssue(t, testcert.Server("localhost")), tlsbridge.ReasonUntrustedCA},
		{"expired", p.ca.MustIssue(t, testcert.Expired(testcert.Server("localhost"))), tlsbridge.ReasonExpired},
		{"wrong EKU", p.ca.MustIssue(t, testcert.Client("localhost")), tlsbridge.ReasonWrongEKU},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			_, addr := startTLSServer(t, Config{Logger: logs.logger(), Handler: DefaultHandler{}, TLS: p.serverTLS(tt.cert)})
			cm := startClient(t, p, nil)
			c, err := cm.DialTLS(context.Background(), "tcp", addr, tlsbridge.Outbound{Host: "localhost"})
			if err == nil {
				t.Fatalf("dial succeeded: %+v", c.Info())
			}
			if r := tlsbridge.ReasonOf(err); r != tt.reason {
				t.Errorf("reason %v (%v), want %v", r, err, tt.reason)
			}
			st := cm.TLS().Stats()
			if st.Refused(tt.reason) != 1 || st.TotalFailed() != 1 || st.Connected != 0 {
				t.Errorf("TLS stats %+v", st)
			}
			if es := cm.Stats(); es.DialErrors != 1 || es.ConnsOut != 0 {
				t.Errorf("engine stats %+v", es)
			}
		})
	}
}

// TestTLSPoolCertificate: pools dial TLS destinations; a server whose
// certificate names the pool, not the host dialed, is refused until the
// pool's name is set as the destination's expected name.
func TestTLSPoolCertificate(t *testing.T) {
	p := newPKI(t)
	b, baddr := startTLSServer(t, Config{Handler: DefaultHandler{}, TLS: p.serverTLS(p.ca.MustIssue(t, testcert.Server("pool.example.com")))})
	var logs logBuffer
	a, _ := startTLSServer(t, Config{Logger: logs.logger(), TLS: p.serverTLS(p.server)})
	e := newEndpoint(t, dispatch.EndpointConfig{AOR: "sip:alice@example.com"})
	if err := a.Dispatcher().Add(e); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(baddr)
	pn, _ := strconv.Atoi(port)
	dst := dispatch.Dest{Host: "127.0.0.1", Port: uint16(pn), Transport: "TLS"}
	status := make(chan int, 1)
	send := func(callID string) error {
		return a.Dispatcher().Send(e, dst, outRequest("OPTIONS", callID), func(_ dispatch.Conn, m *sipparse.Message, err error) {
			if m != nil {
				status <- m.StatusCode
			} else {
				status <- -1
			}
		})
	}
	if err := send("pool-1"); tlsbridge.ReasonOf(err) != tlsbridge.ReasonIdentityMismatch {
		t.Fatalf("without expected name: %v, want an identity mismatch", err)
	}
	a.SetExpectedName("127.0.0.1", "pool.example.com")
	if got := a.ExpectedName("127.0.0.1"); got != "pool.example.com" {
		t.Fatalf("ExpectedName = %q", got)
	}
	if err := send("pool-2"); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, status); got != 200 {
		t.Fatalf("status %d", got)
	}
	ps := a.Pools()
	if len(ps) != 1 || ps[0].Key.Transport != pool.TLS || len(ps[0].Conns) != 1 {
		t.Errorf("pools %+v", ps)
	}
	cs := a.Conns(nil)
	if len(cs) != 1 || cs[0].Transport != TLS || cs[0].PeerIdentity != "pool.example.com" {
		t.Errorf("conns %+v", cs)
	}
	if st := b.TLS().Stats(); st.Accepted != 1 {
		t.Errorf("server TLS stats %+v", st)
	}
	// Configured up front, by host, ignoring case and brackets.
	cm, err := NewClientManager(Config{Logger: testLogger(t), TLS: TLSConfig{ExpectedNames: map[string]string{"[::1]": "pool.example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Close()
	if cm.ExpectedName("::1") != "pool.example.com" || cm.outbound("[::1]") != (tlsbridge.Outbound{Host: "::1", ExpectedName: "pool.example.com"}) {
		t.Errorf("ExpectedNames not applied: %+v", cm.outbound("[::1]"))
	}
	cm.SetExpectedName("::1", "")
	if cm.ExpectedName("::1") != "" {
		t.Error("expected name not removed")
	}
}

// TestTLSServerManagerOutbound: a server manager presents its certificate
// to a mutual-TLS server it connects to, and under mutual TLS adds the
// server's verified name to its own allow list; the client manager
// presents none and is refused.
func TestTLSServerManagerOutbound(t *testing.T) {
	p := newPKI(t)
	var logs logBuffer
	b, baddr := startTLSServer(t, Config{Logger: logs.logger(), Handler: DefaultHandler{},
		TLS: p.mutualTLS(p.ca.MustIssue(t, testcert.Both("peer.example.com")), []string{".example.com"})})
	a, _ := startTLSServer(t, Config{Handler: DefaultHandler{},
		TLS: p.mutualTLS(p.ca.MustIssue(t, testcert.Both("a.example.com")), []string{"localhost"})})

	c, err := a.DialTLS(context.Background(), "tcp", baddr, tlsbridge.Outbound{Host: "127.0.0.1", ExpectedName: "peer.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Info().PeerIdentity; got != "peer.example.com" {
		t.Errorf("peer identity %q", got)
	}
	if got := a.TLS().AllowedDomains(); !slices.Contains(got, "peer.example.com") {
		t.Errorf("allowed domains %v: the outgoing peer was not added", got)
	}
	if st := a.TLS().Stats(); st.AutoAllowed != 1 {
		t.Errorf("TLS stats %+v", st)
	}
	var peers []string
	waitUntil(t, "the server's connection", func() bool {
		peers = peers[:0]
		for _, ci := range b.Conns(nil) {
			peers = append(peers, ci.PeerIdentity)
		}
		return len(peers) == 1 && peers[0] != ""
	})
	if peers[0] != "a.example.com" {
		t.Errorf("server saw peer %q, want a.example.com", peers[0])
	}

	// The client manager presents no certificate: the server refuses it.
	cm := startClient(t, p, nil)
	c2, err := cm.DialTLS(context.Background(), "tcp", baddr, tlsbridge.Outbound{Host: "127.0.0.1", ExpectedName: "peer.example.com"})
	if err == nil {
		// TLS 1.3: the client is done first; the refusal closes it.
		waitUntil(t, "the refused connection to close", c2.Closed)
	}
	if got := b.TLS().Stats().Refused(tlsbridge.ReasonNoClientCertificate); got != 1 {
		t.Errorf("server refusals for no certificate: %d", got)
	}
}

// TestSipgoTLS: sipgo, as a real SIP peer over TLS trusting the test CA,
// sends OPTIONS to a TLS server and gets 200.
func TestSipgoTLS(t *testing.T) {
	p := newPKI(t)
	s, addr := startTLSServer(t, Config{TLS: p.serverTLS(p.server)})
	ep := newEndpoint(t, dispatch.EndpointConfig{AOR: "sip:srv@127.0.0.1", Handler: answer(200)})
	if err := s.Dispatcher().Add(ep); err != nil {
		t.Fatal(err)
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgenTLSConfig(p.clientConf()))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	cl, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var uri sip.Uri
	if err := sip.ParseUri("sip:srv@"+addr+";transport=tls", &uri); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	for i := range 3 {
		req := sip.NewRequest(sip.OPTIONS, uri)
		req.SetTransport("TLS")
		res, err := cl.Do(ctx, req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if res.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, res.StatusCode)
		}
	}
	if st := s.Stats(); st.MessagesIn != 3 || st.Accepted != 1 {
		t.Errorf("stats %+v (sipgo should reuse one connection)", st)
	}
	if st := s.TLS().Stats(); st.Accepted != 1 || st.TotalFailed() != 0 {
		t.Errorf("TLS stats %+v", st)
	}
}
