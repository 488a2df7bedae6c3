package tlsbridge

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/sipcm/sipcm/internal/testcert"
)

// TestStdPeer runs our server against a crypto/tls client and our client
// against a crypto/tls server, TLS 1.2 and 1.3, with mutual TLS.
func TestStdPeer(t *testing.T) {
	ca := testcert.MustCA(t, "test CA")
	ours := ca.MustIssue(t, testcert.Both("localhost"))
	theirs := ca.MustIssue(t, testcert.Both("localhost"))
	msg := bytes.Repeat([]byte("INVITE sip:bob@localhost SIP/2.0\r\n"), 100) // 3.4 KB
	for _, v := range tlsVersions {
		t.Run(v.name+"/our-server", func(t *testing.T) {
			m := serverManager(t, ca, ours, true, nil)
			s := newSide(t).accept(t, m)
			cfg := stdClientConfig(ca, "localhost", &theirs.TLS)
			cfg.MaxVersion = v.max
			p := newStdPeer(s, false, cfg)
			errS, errP := handshakeStd(testCtx(t), s, p)
			if errS != nil || errP != nil {
				t.Fatalf("ours %v, theirs %v", errS, errP)
			}
			stdExchange(t, s, p, msg)
			if s.c.PeerIdentity() != "localhost" {
				t.Errorf("peer %q", s.c.PeerIdentity())
			}
			closeStd(t, s, p)
		})
		t.Run(v.name+"/our-client", func(t *testing.T) {
			m := serverManager(t, ca, ours, true, nil)
			s := newSide(t).connect(m, Outbound{Host: "localhost"})
			cfg := &tls.Config{
				Certificates: []tls.Certificate{theirs.TLS},
				ClientAuth:   tls.RequireAndVerifyClientCert,
				ClientCAs:    ca.Pool(),
				MaxVersion:   v.max,
			}
			p := newStdPeer(s, true, cfg)
			errS, errP := handshakeStd(testCtx(t), s, p)
			if errS != nil || errP != nil {
				t.Fatalf("ours %v, theirs %v", errS, errP)
			}
			if n := len(p.tc.ConnectionState().PeerCertificates); n != 1 {
				t.Fatalf("we presented %d certificates, want 1", n)
			}
			stdExchange(t, s, p, msg)
			closeStd(t, s, p)
		})
	}
}

// TestClientManagerPresentsNone: a crypto/tls server that asks for a
// certificate gets none from the client manager.
func TestClientManagerPresentsNone(t *testing.T) {
	ca := testcert.MustCA(t, "test CA")
	theirs := ca.MustIssue(t, testcert.Both("localhost"))
	s := newSide(t).connect(clientManager(t, ca), Outbound{Host: "localhost"})
	p := newStdPeer(s, true, &tls.Config{
		Certificates: []tls.Certificate{theirs.TLS},
		ClientAuth:   tls.RequestClientCert,
	})
	errS, errP := handshakeStd(testCtx(t), s, p)
	if errS != nil || errP != nil {
		t.Fatalf("ours %v, theirs %v", errS, errP)
	}
	if n := len(p.tc.ConnectionState().PeerCertificates); n != 0 {
		t.Fatalf("client manager presented %d certificates", n)
	}
	closeStd(t, s, p)
}

func stdExchange(t *testing.T, s *side, p *stdPeer, msg []byte) {
	t.Helper()
	if _, err := p.tc.Write(msg); err != nil {
		t.Fatal(err)
	}
	if got := s.recvN(t, len(msg)); !bytes.Equal(got, msg) {
		t.Fatal("our side got a different message")
	}
	if err := s.write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(p.tc, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("peer got a different message")
	}
}

// closeStd sends our close_notify, checks the peer reads EOF, and the
// other way round.
func closeStd(t *testing.T, s *side, p *stdPeer) {
	t.Helper()
	s.loop.do(func() {
		if err := s.c.CloseNotify(); err != nil {
			t.Error(err)
		}
	})
	if _, err := p.tc.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("peer read after close_notify: %v", err)
	}
	if err := p.tc.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if err := s.waitErr(t); err != io.EOF {
		t.Errorf("our Feed after peer's close_notify: %v", err)
	}
	s.loop.do(func() { s.c.Close() })
	p.mc.Close()
}

// TestSplitRecords feeds records from a crypto/tls peer cut at every byte,
// byte by byte, and several records with a partial one in one Feed.
func TestSplitRecords(t *testing.T) {
	ca := testcert.MustCA(t, "test CA")
	for _, v := range tlsVersions {
		t.Run(v.name, func(t *testing.T) {
			m := serverManager(t, ca, ca.MustIssue(t, testcert.Server("localhost")), false, nil)
			s := newSide(t).accept(t, m)
			cfg := stdClientConfig(ca, "localhost", nil)
			cfg.MaxVersion = v.max
			p := newStdPeer(s, false, cfg)
			if errS, errP := handshakeStd(testCtx(t), s, p); errS != nil || errP != nil {
				t.Fatalf("ours %v, theirs %v", errS, errP)
			}
			p.setCapture(true)
			msg := []byte("OPTIONS sip:localhost SIP/2.0\r\nContent-Length: 0\r\n\r\n")
			record := func() []byte {
				t.Helper()
				if _, err := p.tc.Write(msg); err != nil {
					t.Fatal(err)
				}
				return p.take()
			}
			// The first record whole, to learn the record size (records
			// carry implicit sequence numbers: none may be skipped).
			first := record()
			n := len(first)
			if errs := feedSplit(s, first, -1, msg); errs != "" {
				t.Fatal(errs)
			}
			// Every cut point: nothing before the record is whole.
			for i := 1; i < n; i++ {
				if errs := feedSplit(s, record(), i, msg); errs != "" {
					t.Fatal(errs)
				}
			}
			// Byte by byte.
			if errs := feedSplit(s, record(), 0, msg); errs != "" {
				t.Fatal(errs)
			}
			// Three records and half of a fourth in one Feed; partial
			// consumption by the framer in between.
			var many []byte
			for range 4 {
				many = append(many, record()...)
			}
			cut := len(many) - n/2
			s.loop.do(func() { // t.Error only: t.Fatal would end the loop goroutine
				if err := s.c.Feed(many[:cut]); err != nil {
					t.Error(err)
					return
				}
				if want := bytes.Repeat(msg, 3); !bytes.Equal(s.c.Buffered(), want) {
					t.Errorf("got %d bytes, want %d", len(s.c.Buffered()), len(want))
				}
				s.c.Discard(len(msg) + 5)
				if err := s.c.Feed(many[cut:]); err != nil {
					t.Error(err)
					return
				}
				if want := bytes.Repeat(msg, 4)[len(msg)+5:]; !bytes.Equal(s.c.Buffered(), want) {
					t.Errorf("after partial discard: got %q", s.c.Buffered())
				}
				s.c.Discard(1 << 20)
				if s.c.plain != nil || s.c.Buffered() != nil {
					t.Error("buffer kept after discarding all")
				}
			})
			// A corrupt record is fatal, and stays so.
			bad := record()
			bad[len(bad)-1] ^= 1
			s.loop.do(func() {
				if err := s.c.Feed(bad); err == nil {
					t.Error("corrupt record accepted")
				}
				if err := s.c.Feed(nil); err == nil {
					t.Error("error not sticky")
				}
				s.c.Close()
			})
			p.mc.Close()
		})
	}
}

// feedSplit feeds rec on s's loop cut at byte cut (-1: whole, 0: byte by
// byte) and checks that exactly msg comes out once the record is whole.
// It returns a description of what went wrong, or "".
func feedSplit(s *side, rec []byte, cut int, msg []byte) (problem string) {
	s.loop.do(func() {
		var parts [][]byte
		switch cut {
		case -1:
			parts = [][]byte{rec}
		case 0:
			for i := range rec {
				parts = append(parts, rec[i:i+1])
			}
		default:
			parts = [][]byte{rec[:cut], rec[cut:]}
		}
		for i, p := range parts {
			if err := s.c.Feed(p); err != nil {
				problem = fmt.Sprintf("cut %d part %d: %v", cut, i, err)
				return
			}
			if i < len(parts)-1 && len(s.c.Buffered()) != 0 {
				problem = fmt.Sprintf("cut %d part %d: plaintext before the record is whole", cut, i)
				return
			}
		}
		if !bytes.Equal(s.c.Buffered(), msg) {
			problem = fmt.Sprintf("cut %d: got %q", cut, s.c.Buffered())
			return
		}
		s.c.Discard(len(msg))
		if s.c.plain != nil {
			problem = fmt.Sprintf("cut %d: empty plaintext buffer kept", cut)
		}
	})
	return problem
}

// TestDataDuringHandshake: application data that the peer sends right
// behind its last handshake flight, before Activate, is not lost.
func TestDataDuringHandshake(t *testing.T) {
	ca := testcert.MustCA(t, "test CA")
	m := serverManager(t, ca, ca.MustIssue(t, testcert.Server("localhost")), false, nil)
	s := newSide(t).accept(t, m)
	p := newStdPeer(s, false, stdClientConfig(ca, "localhost", nil))
	msg := []byte("early data after Finished")
	done := make(chan error, 1)
	go func() {
		// TLS 1.3: the client's Write follows its Finished at once.
		if err := p.tc.Handshake(); err != nil {
			done <- err
			return
		}
		_, err := p.tc.Write(msg)
		done <- err
	}()
	if err := s.c.Handshake(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The message has been fed before Activate (the loop ran the feeds
	// queued before this task).
	if err := s.activate(); err != nil {
		t.Fatal(err)
	}
	if got := s.recvN(t, len(msg)); !bytes.Equal(got, msg) {
		t.Fatalf("got %q", got)
	}
	s.loop.do(func() { s.c.Close() })
	p.mc.Close()
}

// TestLoopbackTCP runs the bridge over real loopback sockets against
// crypto/tls, both ways: a reader goroutine feeds the fake loop, and the
// transport writes to the socket from the loop.
func TestLoopbackTCP(t *testing.T) {
	ca := testcert.MustCA(t, "test CA")
	leaf := ca.MustIssue(t, testcert.Both("localhost"))
	msg := []byte("OPTIONS sip:localhost SIP/2.0\r\nContent-Length: 0\r\n\r\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, ourServer := range []bool{true, false} {
		name := "our-client"
		if ourServer {
			name = "our-server"
		}
		t.Run(name, func(t *testing.T) {
			var wg sync.WaitGroup
			peerErr := make(chan error, 1)
			wg.Add(1)
			var ourConn net.Conn
			if ourServer {
				go func() { // crypto/tls client
					defer wg.Done()
					c, err := tls.Dial("tcp", ln.Addr().String(), stdClientConfig(ca, "localhost", nil))
					if err == nil {
						err = echo(c, len(msg))
					}
					peerErr <- err
				}()
				ourConn, err = ln.Accept()
			} else {
				go func() { // crypto/tls server
					defer wg.Done()
					c, err := ln.Accept()
					if err == nil {
						err = echo(tls.Server(c, &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}), len(msg))
					}
					peerErr <- err
				}()
				ourConn, err = net.Dial("tcp", ln.Addr().String())
			}
			if err != nil {
				t.Fatal(err)
			}
			m := serverManager(t, ca, leaf, false, nil)
			s := newSide(t)
			s.tr.setSink(func(b []byte) { _, _ = ourConn.Write(b) })
			if ourServer {
				s.accept(t, m)
			} else {
				s.connect(m, Outbound{Host: "localhost"})
			}
			wg.Add(1)
			go func() { // the loop's reads
				defer wg.Done()
				for {
					b := make([]byte, 4096)
					n, err := ourConn.Read(b)
					if n > 0 {
						s.loop.post(func() { s.feed(b[:n]) })
					}
					if err != nil {
						return
					}
				}
			}()
			if err := s.c.Handshake(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			if err := s.activate(); err != nil {
				t.Fatal(err)
			}
			if err := s.write(msg); err != nil {
				t.Fatal(err)
			}
			if got := s.recvN(t, len(msg)); !bytes.Equal(got, msg) {
				t.Fatalf("echo %q", got)
			}
			if err := <-peerErr; err != nil {
				t.Fatal(err)
			}
			s.loop.do(func() { s.c.Close() })
			ourConn.Close()
			wg.Wait()
		})
	}
}

// echo reads n bytes from c, writes them back and closes c.
func echo(c net.Conn, n int) error {
	defer c.Close()
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		return err
	}
	_, err := c.Write(b)
	return err
}

// TestNotActive: Write and CloseNotify before Activate are refused, and
// Activate before the handshake returned.
func TestNotActive(t *testing.T) {
	ca := testcert.MustCA(t, "test CA")
	m := serverManager(t, ca, ca.MustIssue(t, testcert.Server("localhost")), false, nil)
	s := newSide(t).accept(t, m)
	s.loop.do(func() { // t.Error only: t.Fatal would end the loop goroutine
		if _, err := s.c.Write([]byte("x")); !errors.Is(err, ErrNotActive) {
			t.Errorf("Write: %v", err)
		}
		if err := s.c.CloseNotify(); !errors.Is(err, ErrNotActive) {
			t.Errorf("CloseNotify: %v", err)
		}
		if err := s.c.Activate(); !errors.Is(err, ErrHandshakeRunning) {
			t.Errorf("Activate: %v", err)
		}
		if s.c.Outgoing() || s.c.PeerIdentity() != "" || s.c.PeerCertificate() != nil {
			t.Error("state before handshake")
		}
		s.c.Close()
	})
	if _, err := clientManager(t, ca).Accept(s.tr, nil); !errors.Is(err, ErrClientManager) {
		t.Errorf("client manager Accept: %v", err)
	}
}
