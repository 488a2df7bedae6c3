// Command gnetbare is the limit of sipcm's transport path: a bare gnet
// server that frames each SIP request on a TCP stream with sipparse.Framer
// (Peek and Discard, no copies) and answers it with a fixed 200 OK. It does
// not parse requests, keep timers or count anything.
//
// The answer is fixed except for its CSeq line, copied from the request:
// sipcm bench matches responses to requests by CSeq number, and a response
// must carry Via, From, To, Call-ID and CSeq to parse at all. Finding the CSeq
// line is one bytes.Index over the frame; the other header fields are
// constants. It is a measuring device for bench/compare/run.sh, not a SIP
// server.
//
// Usage:
//
//	gnetbare [-addr 127.0.0.1:5090] [-loops N]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/sipcm/sipcm/sipparse"
)

// Fixed parts of the answer: everything before and after the CSeq line.
var (
	head = []byte("SIP/2.0 200 OK\r\n" +
		"Via: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKgnetbare\r\n" +
		"From: <sip:gnetbare@127.0.0.1>;tag=gnetbare\r\n" +
		"To: <sip:gnetbare@127.0.0.1>;tag=gnetbare\r\n" +
		"Call-ID: gnetbare\r\n")
	tail        = []byte("\r\nContent-Length: 0\r\n\r\n")
	cseqName    = []byte("\nCSeq:")
	defaultCSeq = []byte("CSeq: 1 OPTIONS")
	crlf        = []byte("\r\n")
)

// conn is the state of one connection: its framer and its answer buffer.
type conn struct {
	framer sipparse.Framer
	out    []byte
}

// server is the gnet.EventHandler.
type server struct {
	gnet.BuiltinEventEngine
	addr string
}

func (s *server) OnBoot(gnet.Engine) gnet.Action {
	fmt.Printf("listening tcp %s\n", s.addr)
	return gnet.None
}

func (s *server) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	c.SetContext(&conn{out: make([]byte, 0, 4096)})
	return nil, gnet.None
}

// OnTraffic frames what the connection has buffered and answers each
// request; the answers of one read go out in one write.
func (s *server) OnTraffic(c gnet.Conn) gnet.Action {
	st := c.Context().(*conn)
	buf, _ := c.Peek(-1)
	out := st.out[:0]
	action := gnet.None
	off := 0
	for off < len(buf) {
		n, kind, err := st.framer.Next(buf[off:])
		if err != nil {
			if err == sipparse.ErrNeedMore {
				break
			}
			var fe *sipparse.FrameError
			if !errors.As(err, &fe) || fe.Fatal {
				action = gnet.Close
				break
			}
			// An oversize message: skipped, not answered.
		} else {
			switch kind {
			case sipparse.FrameMessage:
				out = appendAnswer(out, buf[off:off+n])
			case sipparse.FramePing:
				out = append(out, crlf...)
			}
		}
		off += n
	}
	if off > 0 {
		_, _ = c.Discard(off)
	}
	if len(out) > 0 {
		_, _ = c.Write(out)
	}
	st.out = out[:0]
	return action
}

// appendAnswer appends the fixed 200 OK with the CSeq line of req.
func appendAnswer(dst, req []byte) []byte {
	dst = append(dst, head...)
	cseq := defaultCSeq
	if i := bytes.Index(req, cseqName); i >= 0 {
		line := req[i+1:]
		if j := bytes.IndexByte(line, '\r'); j >= 0 {
			cseq = line[:j]
		}
	}
	dst = append(dst, cseq...)
	return append(dst, tail...)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:5090", "TCP listening address")
	loops := flag.Int("loops", 0, "event loops (0: one per CPU)")
	flag.Parse()

	opts := []gnet.Option{gnet.WithMulticore(true), gnet.WithTCPNoDelay(gnet.TCPNoDelay)}
	if *loops > 0 {
		opts = append(opts, gnet.WithNumEventLoop(*loops))
	}
	proto := "tcp://" + *addr
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = gnet.Stop(ctx, proto)
	}()
	if err := gnet.Run(&server{addr: *addr}, proto, opts...); err != nil {
		log.Fatalf("gnetbare: %v", err)
	}
}
