// Package relaytest provides a scriptable SIP upstream over TCP and a SIP
// client connection, for the tests of package relay and of sipcm relay.
// Everything listens and dials on loopback.
package relaytest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipcm/sipcm/sipparse"
)

// Mode says how an Upstream treats the requests it reads.
type Mode int32

// Modes.
const (
	// Answer answers every request but ACK with 200 OK and a small body;
	// an INVITE gets 180 Ringing first.
	Answer Mode = iota
	// Silent reads requests and never answers.
	Silent
	// CloseAfterEach answers each request but ACK, then closes the
	// connection (and drops whatever else it read on it).
	CloseAfterEach
	// Hold keeps the requests until Release answers them (or Ring rings
	// the INVITEs).
	Hold
	// Ring answers an INVITE 180 Ringing and keeps it; a CANCEL with the
	// branch of a kept INVITE gets 200 and the INVITE 487 (RFC 3261 §9.2),
	// another CANCEL 481; other requests but ACK get 200.
	Ring
	// Reject answers an INVITE 180 Ringing then 486 Busy Here, and the
	// other requests but ACK 200 OK.
	Reject
)

// ResponseBody is the body of the upstream's 200 responses.
const ResponseBody = "hello"

// Upstream is a SIP server over TCP that records what it reads. Its
// methods may be called from any goroutine.
type Upstream struct {
	addr string
	tls  *tls.Config // nil for TCP
	mode atomic.Int32

	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]struct{}
	requests [][]byte // copies, in the order read (at most keep)
	sources  []string // the remote address of the connection of each
	methods  map[string]int
	held     []held
	wg       sync.WaitGroup

	accepted atomic.Int64
	read     atomic.Int64
}

// held is a request kept by Hold, with the connection it came on.
type held struct {
	c   net.Conn
	req []byte
}

// Release answers the requests held so far (Hold) with 200 OK, on the
// connections they came on, and returns how many it answered.
func (u *Upstream) Release() int { return u.ReleaseMethod("") }

// ReleaseMethod is Release for the held requests of one method only
// (all when method is empty).
func (u *Upstream) ReleaseMethod(method string) int {
	var msg sipparse.Message
	var out []held
	u.mu.Lock()
	keep := u.held[:0]
	for _, h := range u.held {
		if msg.Parse(h.req) == nil && (method == "" || string(msg.Bytes(msg.MethodName)) == method) {
			out = append(out, h)
		} else {
			keep = append(keep, h)
		}
	}
	u.held = keep
	u.mu.Unlock()
	for _, h := range out {
		if msg.Parse(h.req) == nil {
			_, _ = h.c.Write(AppendOK(nil, &msg))
		}
	}
	return len(out)
}

// Ring answers 180 Ringing to the INVITEs held so far, which stay held:
// with mode Ring, a CANCEL then ends them. It returns how many it rang.
func (u *Upstream) Ring() int {
	u.mu.Lock()
	hs := append([]held(nil), u.held...)
	u.mu.Unlock()
	var msg sipparse.Message
	n := 0
	for _, h := range hs {
		if msg.Parse(h.req) == nil && msg.Method == sipparse.MethodInvite {
			_, _ = h.c.Write(sipparse.AppendResponse(nil, &msg, 180, "Ringing", []byte("up")))
			n++
		}
	}
	return n
}

// cancel answers the CANCEL m read on c as Ring says.
func (u *Upstream) cancel(c net.Conn, m *sipparse.Message) {
	branch := m.Bytes(m.Vias[0].Branch)
	var inv sipparse.Message
	var found *held
	u.mu.Lock()
	for i, h := range u.held {
		if inv.Parse(h.req) == nil && inv.Method == sipparse.MethodInvite && bytes.Equal(inv.Bytes(inv.Vias[0].Branch), branch) {
			found = &held{h.c, h.req}
			u.held = append(u.held[:i], u.held[i+1:]...)
			break
		}
	}
	u.mu.Unlock()
	if found == nil {
		_, _ = c.Write(sipparse.AppendResponse(nil, m, 481, "Call/Transaction Does Not Exist", []byte("up")))
		return
	}
	_, _ = c.Write(sipparse.AppendResponse(nil, m, 200, "OK", []byte("up")))
	_ = inv.Parse(found.req)
	_, _ = found.c.Write(sipparse.AppendResponse(nil, &inv, 487, "Request Terminated", []byte("up")))
}

// keep bounds the requests an Upstream records.
const keep = 4096

// Start starts an upstream in mode on 127.0.0.1 and a free port.
func Start(mode Mode) (*Upstream, error) { return StartTLS(mode, nil) }

// StartTLS is Start for SIP over TLS with cfg (over TCP when cfg is nil).
func StartTLS(mode Mode, cfg *tls.Config) (*Upstream, error) {
	u := &Upstream{tls: cfg, conns: map[net.Conn]struct{}{}, methods: map[string]int{}}
	u.mode.Store(int32(mode))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u.addr = ln.Addr().String()
	u.serve(ln)
	return u, nil
}

// Addr returns the listening address, "127.0.0.1:port".
func (u *Upstream) Addr() string { return u.addr }

// SetMode changes the mode for the requests read from now on.
func (u *Upstream) SetMode(m Mode) { u.mode.Store(int32(m)) }

// Accepted returns the number of connections accepted so far.
func (u *Upstream) Accepted() int64 { return u.accepted.Load() }

// Read returns the number of requests read so far.
func (u *Upstream) Read() int64 { return u.read.Load() }

// Open returns the number of connections open now.
func (u *Upstream) Open() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.conns)
}

// Requests returns copies of the requests read (the first 4096).
func (u *Upstream) Requests() [][]byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([][]byte(nil), u.requests...)
}

// Sources returns the remote address ("host:port") of the connection each
// request of Requests came on.
func (u *Upstream) Sources() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.sources...)
}

// Methods returns how many requests of each method were read.
func (u *Upstream) Methods() map[string]int {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make(map[string]int, len(u.methods))
	for k, v := range u.methods {
		out[k] = v
	}
	return out
}

// Kill closes the listener and every connection, and waits for the
// upstream's goroutines: the upstream is down until Restart.
func (u *Upstream) Kill() {
	u.mu.Lock()
	ln := u.ln
	u.ln = nil
	for c := range u.conns {
		_ = c.Close()
	}
	u.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	u.wg.Wait()
}

// Restart listens again on the same address (Go's listeners reuse the
// address, so the port is free again at once after Kill).
func (u *Upstream) Restart() error {
	ln, err := net.Listen("tcp", u.addr)
	if err != nil {
		return err
	}
	u.serve(ln)
	return nil
}

// Close is Kill.
func (u *Upstream) Close() { u.Kill() }

func (u *Upstream) serve(ln net.Listener) {
	if u.tls != nil {
		ln = tls.NewListener(ln, u.tls)
	}
	u.mu.Lock()
	u.ln = ln
	u.mu.Unlock()
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.mu.Lock()
			if u.ln != ln { // killed meanwhile
				u.mu.Unlock()
				_ = c.Close()
				return
			}
			u.conns[c] = struct{}{}
			u.wg.Add(1)
			u.mu.Unlock()
			u.accepted.Add(1)
			go u.handle(c)
		}
	}()
}

// handle reads requests from c and treats them as the mode says.
func (u *Upstream) handle(c net.Conn) {
	defer u.wg.Done()
	defer func() {
		u.mu.Lock()
		delete(u.conns, c)
		u.mu.Unlock()
		_ = c.Close()
	}()
	r := NewReader(c)
	var msg sipparse.Message
	var out []byte
	for {
		b, err := r.Next()
		if err != nil {
			return
		}
		if msg.Parse(b) != nil || !msg.Request {
			continue
		}
		u.read.Add(1)
		u.mu.Lock()
		if len(u.requests) < keep {
			u.requests = append(u.requests, bytes.Clone(b))
			u.sources = append(u.sources, c.RemoteAddr().String())
		}
		u.methods[string(msg.Bytes(msg.MethodName))]++
		u.mu.Unlock()
		mode := Mode(u.mode.Load())
		if mode == Silent || msg.Method == sipparse.MethodAck {
			continue
		}
		if mode == Hold || (mode == Ring && msg.Method == sipparse.MethodInvite) {
			u.mu.Lock()
			u.held = append(u.held, held{c, bytes.Clone(b)})
			u.mu.Unlock()
			if mode == Ring {
				_, _ = c.Write(sipparse.AppendResponse(out[:0], &msg, 180, "Ringing", []byte("up")))
			}
			continue
		}
		if mode == Ring && msg.Method == sipparse.MethodCancel {
			u.cancel(c, &msg)
			continue
		}
		out = out[:0]
		if msg.Method == sipparse.MethodInvite {
			out = sipparse.AppendResponse(out, &msg, 180, "Ringing", []byte("up"))
		}
		if mode == Reject && msg.Method == sipparse.MethodInvite {
			out = sipparse.AppendResponse(out, &msg, 486, "Busy Here", []byte("up"))
		} else {
			out = AppendOK(out, &msg)
		}
		if _, err := c.Write(out); err != nil || mode == CloseAfterEach {
			return
		}
	}
}

// AppendOK appends the upstream's 200 OK to the request m: every Via,
// From, To with a tag, Call-ID, CSeq, a Content-Type and ResponseBody.
func AppendOK(dst []byte, m *sipparse.Message) []byte {
	dst = sipparse.AppendResponse(dst, m, 200, "OK", []byte("up"))
	dst = dst[:len(dst)-len("Content-Length: 0\r\n\r\n")]
	dst = append(dst, "Content-Type: text/plain\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(ResponseBody)), 10)
	dst = append(dst, "\r\n\r\n"...)
	return append(dst, ResponseBody...)
}

// Reader reads whole SIP messages from a stream.
type Reader struct {
	r      io.Reader
	f      sipparse.Framer
	buf    []byte
	start  int // start of the unread bytes
	end    int // end of the bytes read
	closed bool
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader { return &Reader{r: r, buf: make([]byte, 64<<10)} }

// Next returns the next whole message (keep-alives skipped); it is valid
// until the next call.
func (r *Reader) Next() ([]byte, error) {
	for {
		if r.end > r.start {
			n, kind, err := r.f.Next(r.buf[r.start:r.end])
			switch {
			case err == nil && kind == sipparse.FrameMessage:
				b := r.buf[r.start : r.start+n]
				r.start += n
				return b, nil
			case err == nil:
				r.start += n
				continue
			case !errors.Is(err, sipparse.ErrNeedMore):
				return nil, err
			}
		}
		if r.start > 0 {
			r.end = copy(r.buf, r.buf[r.start:r.end])
			r.start = 0
		}
		if r.end == len(r.buf) {
			return nil, fmt.Errorf("relaytest: message larger than %d bytes", len(r.buf))
		}
		n, err := r.r.Read(r.buf[r.end:])
		r.end += n
		if err != nil && n == 0 {
			return nil, err
		}
	}
}

// Client is a SIP client connection over TCP.
type Client struct {
	net.Conn
	*Reader
	msg sipparse.Message
}

// Dial connects a client to addr; every read and write must end by
// deadline.
func Dial(addr string, deadline time.Time) (*Client, error) {
	c, err := net.DialTimeout("tcp", addr, time.Until(deadline))
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(deadline)
	return &Client{Conn: c, Reader: NewReader(c)}, nil
}

// Response reads the next message, which must be a response, and returns
// its bytes (valid until the next read) and status code.
func (c *Client) Response() ([]byte, int, error) {
	b, err := c.Next()
	if err != nil {
		return nil, 0, err
	}
	if err := c.msg.Parse(b); err != nil {
		return b, 0, err
	}
	if c.msg.Request {
		return b, 0, fmt.Errorf("relaytest: got a request: %q", c.msg.Bytes(c.msg.StartLine))
	}
	return b, c.msg.StatusCode, nil
}

// Request returns a request of method with a Via of sent-by
// "192.0.2.7:5099" (so that the relay adds received), the given branch,
// CSeq number, Max-Forwards (negative: none) and body.
func Request(method, branch string, cseq, maxForwards int, body string) []byte {
	b := make([]byte, 0, 512)
	b = append(b, method...)
	b = append(b, " sip:alice@example.com SIP/2.0\r\n"...)
	b = append(b, "Via: SIP/2.0/TCP 192.0.2.7:5099;branch=z9hG4bK"...)
	b = append(b, branch...)
	b = append(b, ";rport\r\nFrom: <sip:bob@example.com>;tag=b1\r\nTo: <sip:alice@example.com>\r\n"...)
	b = append(b, "Call-ID: "...)
	b = append(b, branch...)
	b = append(b, "@relaytest\r\nCSeq: "...)
	b = strconv.AppendInt(b, int64(cseq), 10)
	b = append(b, ' ')
	b = append(b, method...)
	b = append(b, "\r\n"...)
	if maxForwards >= 0 {
		b = append(b, "Max-Forwards: "...)
		b = strconv.AppendInt(b, int64(maxForwards), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "X-Test: keep me ; as is\r\n"...)
	if body != "" {
		b = append(b, "Content-Type: text/plain\r\n"...)
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, body...)
}
