// Package tlsbase is the baseline of sipcm's TLS benchmarks: crypto/tls
// over net.Conn with a goroutine per connection, running the server logic
// of the engine's default handler (sipparse.Framer, Message.Parse,
// AppendResponse 200 to every request, one write per read batch). The
// in-process benchmarks of package bench and the out-of-process comparison
// of bench/compare/tls.sh (through bench/cmd/tlsbaseline) both run it, so
// they measure the same baseline.
package tlsbase

import (
	"crypto/tls"
	"net"
	"sync"

	"github.com/sipcm/sipcm/sipparse"
)

// toTag is the To tag of the answers.
var toTag = []byte("baseline")

// Server answers SIP over TLS: 200 to every request, CRLF to every
// keep-alive ping.
type Server struct {
	ln   net.Listener
	conf *tls.Config
	wg   sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// Listen starts a Server on ln with conf (which must hold a certificate)
// and its accept goroutine. It may be called from any goroutine.
func Listen(ln net.Listener, conf *tls.Config) *Server {
	s := &Server{ln: ln, conf: conf, conns: make(map[net.Conn]struct{})}
	s.wg.Add(1)
	go s.accept()
	return s
}

// Addr returns the listening address. It may be called from any goroutine.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[nc] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(nc)
	}
}

// serve is the goroutine of one connection: read, frame, parse, answer
// 200 to every request, one write per read.
func (s *Server) serve(nc net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, nc)
		s.mu.Unlock()
		_ = nc.Close()
	}()
	var host []byte
	port := 0
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		host, port = ap.Addr().Unmap().AppendTo(nil), int(ap.Port())
	}
	tc := tls.Server(nc, s.conf)
	var (
		fr  sipparse.Framer
		msg sipparse.Message
		buf = make([]byte, 64<<10)
		out = make([]byte, 0, 64<<10)
		r   int
		w   int
	)
	for {
		if w == len(buf) {
			if r == 0 {
				return // message larger than the buffer
			}
			w = copy(buf, buf[r:w])
			r = 0
		}
		n, err := tc.Read(buf[w:])
		if err != nil {
			return
		}
		w += n
		out = out[:0]
		for r < w {
			fn, kind, err := fr.Next(buf[r:w])
			if err == sipparse.ErrNeedMore {
				break
			}
			if err != nil {
				return
			}
			switch kind {
			case sipparse.FrameMessage:
				if msg.Parse(buf[r:r+fn]) == nil && msg.Request {
					msg.SetSource(host, port)
					out = sipparse.AppendResponse(out, &msg, 200, "OK", toTag)
				}
			case sipparse.FramePing:
				out = append(out, "\r\n"...)
			}
			r += fn
		}
		if r == w {
			r, w = 0, 0
		}
		if len(out) > 0 {
			if _, err := tc.Write(out); err != nil {
				return
			}
		}
	}
}

// Close stops accepting, closes every connection and waits for their
// goroutines. It may be called from any goroutine, once.
func (s *Server) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	for nc := range s.conns {
		_ = nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}
