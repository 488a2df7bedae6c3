package tlsbase

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sipcm/sipcm/internal/testcert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const options = "OPTIONS sip:bench@127.0.0.1 SIP/2.0\r\n" +
	"Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK-1\r\n" +
	"From: <sip:a@127.0.0.1>;tag=a\r\n" +
	"To: <sip:bench@127.0.0.1>\r\n" +
	"Call-ID: 1@bench\r\n" +
	"CSeq: 1 OPTIONS\r\n" +
	"Content-Length: 0\r\n\r\n"

// TestServer sends two requests with a keep-alive ping between them in one
// write, and a malformed one: the two get a 200 each and the ping a CRLF,
// in order, and the malformed one closes the connection.
func TestServer(t *testing.T) {
	ca := testcert.MustCA(t, "tlsbase CA")
	leaf := ca.MustIssue(t, testcert.Server("localhost"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := Listen(ln, &tls.Config{Certificates: []tls.Certificate{leaf.TLS}})
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	c, err := tls.Dial("tcp", s.Addr().String(), &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A safety net against a server that neither answers nor closes.
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	if _, err := io.WriteString(c, options+"\r\n\r\n"+strings.Replace(options, "branch=z9hG4bK-1", "branch=z9hG4bK-2", 1)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	var got []string
	for len(got) < 3 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		switch {
		case strings.HasPrefix(line, "SIP/2.0 "):
			got = append(got, strings.TrimSpace(line))
		case line == "\r\n" && len(got) == 1:
			// The empty line ending the first answer's header comes
			// first; the ping's CRLF follows it.
			if next, _ := r.Peek(2); string(next) == "\r\n" {
				_, _ = r.Discard(2)
				got = append(got, "ping")
			}
		case strings.Contains(line, "branch=z9hG4bK-2") && len(got) == 1:
			t.Fatal("second answer before the ping's CRLF")
		}
	}
	want := []string{"SIP/2.0 200 OK", "ping", "SIP/2.0 200 OK"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	if _, err := io.WriteString(c, "NOT SIP\r\nContent-Length: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); err != nil {
		t.Fatalf("the connection did not end cleanly: %v", err)
	}
}
