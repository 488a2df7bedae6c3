package engine

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipcm/sipcm/internal/wheel"
	"github.com/sipcm/sipcm/sipparse"
)

// ioTimeout bounds every blocking socket operation of a test, so that a
// broken engine fails the test instead of hanging it. It is a safety net,
// not a timing assertion.
const ioTimeout = 10 * time.Second

// testLogger logs warnings to stderr. (Not to t.Log: gnet keeps the last
// logger it was given in a global, which may log after the test ends.)
func testLogger(testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// startServer starts a TCP server listening on 127.0.0.1:0.
func startServer(t testing.TB, cfg Config) (*TCPServer, string) {
	t.Helper()
	return startListening(t, cfg, NewTCPServer)
}

// listeningServer is what TCPServer and TLSServer share for the tests.
type listeningServer interface {
	Start() error
	Close() error
	Listen(ctx context.Context, network, addr string) (*Listener, error)
}

// startListening makes a server with newServer (test logger and 2 loops
// unless cfg says otherwise), starts it on 127.0.0.1:0 and closes it when
// the test ends.
func startListening[S listeningServer](t testing.TB, cfg Config, newServer func(Config) (S, error)) (S, string) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	if cfg.Loops == 0 {
		cfg.Loops = 2
	}
	s, err := newServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ln, err := s.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return s, ln.Addr().String()
}

func fakeClock() *wheel.FakeClock { return new(wheel.FakeClock) }

func options(branch string, cseq int) string {
	return "OPTIONS sip:srv@127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK" + branch + ";rport\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:alice@example.com>;tag=a1\r\n" +
		"To: <sip:srv@127.0.0.1>\r\n" +
		"Call-ID: " + branch + "@example.com\r\n" +
		"CSeq: " + strconv.Itoa(cseq) + " OPTIONS\r\n" +
		"Content-Length: 0\r\n\r\n"
}

// client is a plain net.Conn SIP client.
type client struct {
	t  testing.TB
	nc net.Conn
	r  *bufio.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(ioTimeout))
	return &client{t: t, nc: nc, r: newReader(nc)}
}

func newReader(nc net.Conn) *bufio.Reader {
	_ = nc.SetDeadline(time.Now().Add(ioTimeout))
	return bufio.NewReader(nc)
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatal(err)
	}
}

// readMessage reads one message with a Content-Length header.
func (c *client) readMessage() (string, error) {
	var b strings.Builder
	clen := 0
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return b.String(), err
		}
		b.WriteString(line)
		if line == "\r\n" {
			if b.Len() == 2 {
				b.Reset()
				continue
			}
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "Content-Length") {
			clen, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	body := make([]byte, clen)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return b.String(), err
	}
	b.Write(body)
	return b.String(), nil
}

func (c *client) mustRead() string {
	c.t.Helper()
	s, err := c.readMessage()
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, s)
	}
	return s
}

// expectClosed waits for the server to close the connection.
func (c *client) expectClosed() {
	c.t.Helper()
	buf := make([]byte, 4096)
	for {
		_, err := c.r.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errorsAs(err, &ne) && ne.Timeout() {
			c.t.Fatal("connection not closed by the server")
		}
		return
	}
}

func statusOf(msg string) int {
	f := strings.Fields(msg)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

func header(msg, name string) string {
	for _, line := range strings.Split(msg, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

var _ = bytes.Equal
var _ = fmt.Sprint

type messageView = sipparse.Message

// handlerFunc adapts a function to Handler.
type handlerFunc func(c *Conn, m *sipparse.Message)

func (f handlerFunc) HandleMessage(c *Conn, m *sipparse.Message) { f(c, m) }
