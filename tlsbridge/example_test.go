package tlsbridge_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/sipcm/sipcm/internal/testcert"
	"github.com/sipcm/sipcm/tlsbridge"
)

func ExampleIdentities() {
	ca, _ := testcert.NewCA("example CA")
	leaf, _ := ca.Issue(testcert.Options{
		URIs:       []string{"sip:example.com", "sip:alice@example.org"},
		DNSNames:   []string{"sip1.example.com"},
		CommonName: "ignored.example.com",
	})
	ids := tlsbridge.Identities(leaf.Cert)
	fmt.Println(ids)
	fmt.Println(tlsbridge.MatchName(ids[0], "EXAMPLE.com"), tlsbridge.MatchName(ids[0], "sip1.example.com"))
	// Output:
	// [example.com]
	// true false
}

func ExampleAllowList() {
	l, _ := tlsbridge.NewAllowList([]string{"proxy.example.net", ".example.com"})
	for _, name := range []string{"proxy.example.net", "a.b.example.com", "example.com", "evilexample.com"} {
		fmt.Println(name, l.Allows(name))
	}
	// Output:
	// proxy.example.net true
	// a.b.example.com true
	// example.com false
	// evilexample.com false
}

// pipeTransport stands in for the engine's gnet adapter: writes go to a
// net.Conn, in order.
type pipeTransport struct {
	mu sync.Mutex
	c  net.Conn
}

// Write is gnet's Conn.Write, which queues what the socket refuses.
func (t *pipeTransport) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.c.Write(p)
}

// AsyncWrite is gnet's Conn.AsyncWrite; here the caller may block.
func (t *pipeTransport) AsyncWrite(p []byte) error {
	_, err := t.Write(p)
	return err
}

// An incoming TLS connection, driven the way the engine drives it.
func ExampleManager_Accept() {
	ca, _ := testcert.NewCA("example CA")
	leaf, _ := ca.Issue(testcert.Server("localhost"))
	m, _ := tlsbridge.NewManager(tlsbridge.Config{Certificate: &leaf.TLS})

	ours, theirs := net.Pipe()
	c, _ := m.Accept(&pipeTransport{c: ours}, ours.RemoteAddr())

	// The peer: a plain crypto/tls client.
	go func() {
		tc := tls.Client(theirs, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
		_, _ = tc.Write([]byte("OPTIONS sip:localhost SIP/2.0\r\n\r\n"))
		_, _ = io.Copy(io.Discard, tc)
	}()

	// What arrives on the socket (gnet: OnTraffic).
	in := make(chan []byte)
	go func() {
		defer close(in)
		for {
			b := make([]byte, 4096)
			n, err := ours.Read(b)
			if err != nil {
				return
			}
			in <- b[:n]
		}
	}()

	// The engine runs the handshake on a goroutine of its own.
	hs := make(chan error, 1)
	go func() { hs <- c.Handshake(context.Background()) }()

	// The event loop.
	for len(c.Buffered()) == 0 {
		select {
		case err := <-hs: // gnet: EventLoop.Execute after Handshake returned
			if err == nil {
				err = c.Activate()
			}
			if err != nil {
				fmt.Println(err)
				return
			}
		case b := <-in:
			if err := c.Feed(b); err != nil {
				fmt.Println(err)
				return
			}
		}
	}
	fmt.Printf("%q\n", c.Buffered())
	c.Discard(len(c.Buffered()))
	fmt.Println(m.Stats().Accepted)

	c.Close()
	ours.Close()
	for range in { // let the reader finish
	}
	// Output:
	// "OPTIONS sip:localhost SIP/2.0\r\n\r\n"
	// 1
}
