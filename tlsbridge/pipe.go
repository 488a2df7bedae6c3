package tlsbridge

import (
	"io"
	"net"
	"time"
)

// wouldBlock is what the connection under crypto/tls returns from Read in
// loop mode when every fed byte has been consumed. crypto/tls checks
// err.(net.Error).Temporary() with a plain type assertion and, when true,
// returns the error without keeping it (conn.go, readRecordOrCCS), leaving
// a partial record in its input buffer for the next Read. So it must be
// returned as is, never wrapped.
type wouldBlock struct{}

func (wouldBlock) Error() string   { return "tlsbridge: would block" }
func (wouldBlock) Timeout() bool   { return false }
func (wouldBlock) Temporary() bool { return true }

var errWouldBlock net.Error = wouldBlock{}

// maxHandshakeInput bounds the ciphertext queued while a handshake runs.
// crypto/tls accepts handshake messages up to 256 KiB (certificate
// chains); anything past twice that is a misbehaving peer.
const maxHandshakeInput = 512 << 10

// pipe is the net.Conn that crypto/tls runs over: the same memory as
// Conn, seen through the methods crypto/tls calls.
//
// Handshake mode (Conn.loop false): Read blocks on the handshake
// goroutine until the loop feeds bytes or the pipe closes; Write copies
// and hands the bytes to Transport.AsyncWrite.
//
// Loop mode: Read returns the bytes of the current Feed, then
// errWouldBlock; Write passes the record to Transport.Write. Both run on
// the loop only.
type pipe Conn

func (p *pipe) Read(b []byte) (int, error) {
	c := (*Conn)(p)
	if c.loop {
		if len(c.src) == 0 {
			return 0, errWouldBlock // never (0, nil): bytes.Buffer.ReadFrom would spin
		}
		n := copy(b, c.src)
		c.rec.scan(c.src[:n])
		c.src = c.src[n:]
		return n, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.hsOff == len(c.hsIn) && !c.closed {
		c.cond.Wait()
	}
	if c.closed {
		return 0, net.ErrClosed
	}
	// At most the rest of the current record: crypto/tls then never
	// holds a byte past the handshake's last record, and what follows
	// it stays in hsIn for the record layer (Activate).
	avail := c.hsIn[c.hsOff:]
	n := copy(b, avail[:c.rec.rest(avail)])
	c.rec.scan(c.hsIn[c.hsOff : c.hsOff+n])
	c.hsOff += n
	if c.hsOff == len(c.hsIn) {
		c.hsIn, c.hsOff = c.hsIn[:0], 0
	}
	return n, nil
}

func (p *pipe) Write(b []byte) (int, error) {
	c := (*Conn)(p)
	if c.loop {
		n, err := c.t.Write(b)
		if err == nil && n < len(b) {
			err = io.ErrShortWrite // crypto/tls would lose the rest silently
		}
		return n, err
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return 0, net.ErrClosed
	}
	buf := make([]byte, len(b)) // crypto/tls reuses b; the transport keeps buf
	copy(buf, b)
	if err := c.t.AsyncWrite(buf); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Close is called by crypto/tls: from HandshakeContext's context watcher
// (any goroutine) when the context ends, and from tls.Conn.Close. It wakes
// a blocked handshake Read.
func (p *pipe) Close() error {
	c := (*Conn)(p)
	c.mu.Lock()
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
	return nil
}

// records follows the TLS record framing of the bytes handed to
// crypto/tls, so that the loop knows when crypto/tls holds no complete
// record and need not be asked: asking costs a would-block Read, and every
// Read that reaches the underlying conn allocates (readFromUntil's
// atLeastReader escapes). Used by the goroutine that runs pipe.Read: the
// handshake goroutine, then the loop.
type records struct {
	hdr    [5]byte
	hdrN   int // header bytes seen of the current record
	left   int // body bytes still to come, once hdrN == 5
	curLen int // body length of the current record, once hdrN == 5
	// ready is an upper bound on the complete records crypto/tls holds
	// unread: counted up here, down by one per Read that returned
	// plaintext. Records it consumes silently (post-handshake messages,
	// empty records) leave it too high, which only costs one would-block
	// Read, after which resync sets it to the truth: zero.
	ready int
	// maxLen is the longest record body handed since the last resync;
	// plaintext is shorter, so a read buffer with maxLen free bytes
	// takes any pending record whole.
	maxLen int
}

// scan follows b, the next bytes handed to crypto/tls.
func (r *records) scan(b []byte) {
	for len(b) > 0 {
		if r.hdrN < recordHeaderLen {
			k := copy(r.hdr[r.hdrN:], b)
			r.hdrN += k
			b = b[k:]
			if r.hdrN < recordHeaderLen {
				return
			}
			r.curLen = bodyLen(r.hdr[:])
			r.left = r.curLen
			r.maxLen = max(r.maxLen, r.curLen)
		}
		k := min(r.left, len(b))
		r.left -= k
		b = b[k:]
		if r.left > 0 {
			return
		}
		r.ready++
		r.hdrN = 0
	}
}

// rest returns how many bytes of b, the next bytes to hand over, belong
// to the current record: at least one when b is not empty.
func (r records) rest(b []byte) int {
	if r.hdrN == recordHeaderLen {
		return min(len(b), r.left)
	}
	need := recordHeaderLen - r.hdrN
	if len(b) < need {
		return len(b)
	}
	copy(r.hdr[r.hdrN:], b[:need])
	return min(len(b), need+bodyLen(r.hdr[:]))
}

// peekMax returns the longest record body among those handed already and
// those that b, the bytes still to hand over, starts or holds.
func (r records) peekMax(b []byte) int {
	m := r.maxLen
	for len(b) > 0 {
		if r.hdrN < recordHeaderLen {
			k := copy(r.hdr[r.hdrN:], b)
			r.hdrN += k
			b = b[k:]
			if r.hdrN < recordHeaderLen {
				break
			}
			r.left = bodyLen(r.hdr[:])
			m = max(m, r.left)
		}
		k := min(r.left, len(b))
		r.left -= k
		b = b[k:]
		if r.left == 0 {
			r.hdrN = 0
		}
	}
	return m
}

// resync records that crypto/tls returned would-block: it holds no
// complete record.
func (r *records) resync() {
	r.ready = 0
	r.maxLen = 0
	if r.hdrN == recordHeaderLen {
		r.maxLen = r.curLen
	}
}

type noAddr struct{}

func (noAddr) Network() string { return "tlsbridge" }
func (noAddr) String() string  { return "unknown" }

func (p *pipe) LocalAddr() net.Addr { return noAddr{} }

func (p *pipe) RemoteAddr() net.Addr {
	if p.remote != nil {
		return p.remote
	}
	return noAddr{}
}

// Deadlines are not supported: timeouts come from the handshake context
// and the engine's timing wheel. crypto/tls calls SetWriteDeadline when
// sending close_notify, so these succeed and do nothing.
func (p *pipe) SetDeadline(time.Time) error      { return nil }
func (p *pipe) SetReadDeadline(time.Time) error  { return nil }
func (p *pipe) SetWriteDeadline(time.Time) error { return nil }
