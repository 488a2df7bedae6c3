package loadgen

import (
	"context"
	"crypto/tls"
	"log/slog"
	"testing"

	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/internal/testcert"
	"github.com/sipcm/sipcm/tlsbridge"
)

// TestTLSDialer runs a load over TLS against a sipcm TLS server: every
// request is answered; a client that does not trust the server's CA gets
// no connection.
func TestTLSDialer(t *testing.T) {
	ca := testcert.MustCA(t, "loadgen CA")
	leaf := ca.MustIssue(t, testcert.Server("localhost"))
	srv, err := engine.NewTLSServer(engine.Config{Loops: 1, Logger: slog.New(slog.DiscardHandler),
		Handler: engine.DefaultHandler{}, TLS: engine.TLSConfig{Config: tlsbridge.Config{Certificate: &leaf.TLS}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ln, err := srv.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conf := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
	g, err := New(Config{Addr: ln.Addr().String(), Dial: TLSDialer(conf, 0), Transport: "TLS",
		Conns: 2, Pipeline: 8, Requests: 500})
	if err != nil {
		t.Fatal(err)
	}
	r, err := g.Run(context.Background())
	if err != nil || r.Answered != 500 || r.OK != 500 || r.Errors() != 0 {
		t.Fatalf("run: %+v, %v", r, err)
	}
	if st := srv.Stats(); st.MessagesIn != 500 || st.Accepted != 2 {
		t.Errorf("server stats %+v", st)
	}

	g, err = New(Config{Addr: ln.Addr().String(), Dial: TLSDialer(&tls.Config{ServerName: "localhost"}, 0),
		Transport: "TLS", Requests: 10})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := g.Run(context.Background()); err == nil || r.ConnErrors != 1 {
		t.Errorf("untrusted server: %+v, %v; want no connection", r, err)
	}
}
