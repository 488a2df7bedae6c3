package bench

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/sipcm/sipcm/sipparse"
)

// loadWindow is the number of requests each load connection keeps
// outstanding.
const loadWindow = 32

// loadTimeout bounds one run of a load connection, so that a stalled
// server fails the benchmark instead of hanging it. It is a safety net,
// not a timing assertion.
const loadTimeout = 5 * time.Minute

// loadRequest is the OPTIONS a load connection sends. Each copy gets a
// unique branch and Call-ID: the connection number replaces cccc and a
// per-connection sequence number replaces the n's (sipgo's transaction
// layer would take a repeated branch for a retransmission).
const loadRequest = "OPTIONS sip:bench@127.0.0.1 SIP/2.0\r\n" +
	"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-cccc-nnnnnnnnnnnn;rport\r\n" +
	"Max-Forwards: 70\r\n" +
	"From: <sip:load@127.0.0.1>;tag=load\r\n" +
	"To: <sip:bench@127.0.0.1>\r\n" +
	"Call-ID: cccc-nnnnnnnnnnnn@bench\r\n" +
	"CSeq: 1 OPTIONS\r\n" +
	"Content-Length: 0\r\n\r\n"

const (
	connMark = "cccc"
	seqMark  = "nnnnnnnnnnnn"
)

var status200 = []byte("SIP/2.0 200 ")

// errBadResponse reports a response other than 200.
var errBadResponse = errors.New("bench: response is not 200")

// loadConn is one pipelined client connection. It keeps up to loadWindow
// requests outstanding, frames the responses with a sipparse.Framer, and
// sends as many new requests as responses arrived after each read. At
// steady state it allocates nothing, so the allocations counted while it
// runs are the server's.
type loadConn struct {
	nc    net.Conn // TCP, or crypto/tls over TCP (tls_test.go)
	req   []byte   // loadWindow requests back to back
	size  int      // length of one request
	marks []int    // offsets of the sequence numbers in req
	seq   uint64
	buf   []byte // responses read, framed from buf[r:w]
	r, w  int
	fr    sipparse.Framer
}

// dialLoad connects a load connection, numbered id, to addr.
func dialLoad(addr string, id int) (*loadConn, error) {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	return newLoadConn(nc, id), nil
}

// newLoadConn makes a load connection, numbered id, over nc.
func newLoadConn(nc net.Conn, id int) *loadConn {
	one := strings.ReplaceAll(loadRequest, connMark, fmt.Sprintf("%04x", id&0xffff))
	c := &loadConn{
		nc:   nc,
		req:  []byte(strings.Repeat(one, loadWindow)),
		size: len(one),
		buf:  make([]byte, 64<<10),
	}
	for i := range loadWindow {
		slot := c.req[i*c.size : (i+1)*c.size]
		for off := 0; ; {
			j := bytes.Index(slot[off:], []byte(seqMark))
			if j < 0 {
				break
			}
			c.marks = append(c.marks, i*c.size+off+j)
			off += j + len(seqMark)
		}
	}
	return c
}

// send writes the first k requests of the window, each with a new sequence
// number.
func (c *loadConn) send(k int) error {
	per := len(c.marks) / loadWindow
	for i := range k {
		c.seq++
		for _, off := range c.marks[i*per : (i+1)*per] {
			putHex(c.req[off:off+len(seqMark)], c.seq)
		}
	}
	_, err := c.nc.Write(c.req[:k*c.size])
	return err
}

// putHex writes v into dst as fixed-width lower-case hexadecimal.
func putHex(dst []byte, v uint64) {
	const digits = "0123456789abcdef"
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = digits[v&0xf]
		v >>= 4
	}
}

// arm sets the safety deadline of the next run. It is separate from run
// because setting a deadline may allocate.
func (c *loadConn) arm() error { return c.nc.SetDeadline(time.Now().Add(loadTimeout)) }

// run sends n requests, keeping up to loadWindow outstanding, and returns
// when all n responses, each a 200, have been read.
func (c *loadConn) run(n int) error {
	sent := min(n, loadWindow)
	if sent > 0 {
		if err := c.send(sent); err != nil {
			return err
		}
	}
	for recv := 0; recv < n; {
		if c.w == len(c.buf) {
			if c.r == 0 {
				return errors.New("bench: response larger than the read buffer")
			}
			c.w = copy(c.buf, c.buf[c.r:c.w])
			c.r = 0
		}
		nr, err := c.nc.Read(c.buf[c.w:])
		if err != nil {
			return err
		}
		c.w += nr
		got := 0
		for {
			fn, kind, err := c.fr.Next(c.buf[c.r:c.w])
			if err == sipparse.ErrNeedMore {
				break
			}
			if err != nil {
				return err
			}
			if kind == sipparse.FrameMessage {
				if !bytes.HasPrefix(c.buf[c.r:c.r+fn], status200) {
					return errBadResponse
				}
				got++
			}
			c.r += fn
		}
		if c.r == c.w {
			c.r, c.w = 0, 0
		}
		recv += got
		if k := min(got, n-sent); k > 0 {
			if err := c.send(k); err != nil {
				return err
			}
			sent += k
		}
	}
	return nil
}

func (c *loadConn) close() error { return c.nc.Close() }
