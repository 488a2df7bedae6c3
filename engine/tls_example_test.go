package engine_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"

	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/internal/testcert"
	"github.com/sipcm/sipcm/tlsbridge"
)

// A TLS server answers SIP over TLS exactly as a TCP server answers SIP
// over TCP. Its certificate, trust anchors and checks come from
// Config.TLS; TLS() gives them at run time (certificate replacement,
// allowed domains, refusal counters).
func ExampleTLSServer() {
	ca, _ := testcert.NewCA("example CA")
	leaf, _ := ca.Issue(testcert.Server("localhost"))
	s, err := engine.NewTLSServer(engine.Config{
		Loops:   1,
		Logger:  slog.New(slog.DiscardHandler),
		Handler: engine.DefaultHandler{}, // answers OPTIONS with 200
		TLS:     engine.TLSConfig{Config: tlsbridge.Config{Certificate: &leaf.TLS}},
	})
	if err != nil {
		panic(err)
	}
	if err := s.Start(); err != nil {
		panic(err)
	}
	defer s.Close()
	ln, err := s.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}

	nc, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
	if err != nil {
		panic(err)
	}
	defer nc.Close()
	fmt.Fprint(nc, "OPTIONS sip:ping@localhost SIP/2.0\r\n"+
		"Via: SIP/2.0/TLS 127.0.0.1;branch=z9hG4bK1\r\n"+
		"From: <sip:a@example.com>;tag=1\r\nTo: <sip:ping@localhost>\r\n"+
		"Call-ID: example\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
	status, _ := bufio.NewReader(nc).ReadString('\n')
	fmt.Println(strings.TrimSpace(status))
	for _, c := range s.Conns(nil) {
		fmt.Println(c.Transport, "handshakes:", s.TLS().Stats().Accepted)
	}
	// Output:
	// SIP/2.0 200 OK
	// TLS handshakes: 1
}
