package dispatch

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/sipcm/sipcm/sipparse"
)

// branchCookie is the magic cookie of RFC 3261 §8.1.1.7. Our branches are
// cookie + 8 random hex digits fixed per dispatcher + "." + a counter in
// hex, so a response's branch maps to its entry without a string key.
const branchCookie = "z9hG4bK"

const maxBufCap = 64 << 10 // larger send buffers are not pooled

// Send sends the request req for endpoint e to dst and routes its responses
// to fn (see ResponseFunc). req is a whole request (request line, header
// fields with Content-Length, body) without the dispatcher's Via: Send
// inserts "Via: SIP/2.0/<transport> <sent-by>;branch=z9hG4bK<unique>" right
// after the request line, so it becomes the top Via. req is copied and may
// be reused when Send returns.
//
// The connection comes from the Transport (Transport.Conn(e, dst), which
// may dial and block). An ACK gets a branch but no correlation entry and no
// responses (fn may be nil). For any other method, a throttled endpoint
// that has Config.ThrottleLimit requests outstanding on that connection
// gets ErrThrottled at once and nothing is sent; the entry ends on a final
// response, after Config.Timeout (ErrTimeout), when the connection closes
// (ErrConnBroken), or when the write fails (ErrSendFailed), and each end
// releases its slot.
//
// When Send returns an error nothing was sent and fn is never called; when
// it returns nil, fn is called at least once: with the final response or
// the error that ended the request. Any goroutine, but Transport.Conn may
// block: on an event loop, get the connection without blocking (the
// engine's TryConnFor) and call SendOn.
func (d *Dispatcher) Send(e *Endpoint, dst Dest, req []byte, fn ResponseFunc) error {
	if _, _, err := d.check(e, dst.Transport, req, fn); err != nil {
		return err
	}
	trp := d.tr.Load()
	if trp == nil {
		return ErrNoTransport
	}
	c, err := (*trp).Conn(e, dst)
	if err != nil {
		return fmt.Errorf("dispatch: no connection to %s port %d: %w", dst.Host, dst.Port, err)
	}
	return d.SendOn(e, c, dst.Transport, req, fn)
}

// check makes the checks of Send that need no connection and returns the
// end of req's request line and its method.
func (d *Dispatcher) check(e *Endpoint, transport string, req []byte, fn ResponseFunc) (int, sipparse.Method, error) {
	if d.closed.Load() {
		return 0, 0, ErrClosed
	}
	if e.owner.Load() != d {
		return 0, 0, ErrNotAdded
	}
	sp := bytes.IndexByte(req, ' ')
	eol := bytes.Index(req, []byte("\r\n"))
	if sp <= 0 || eol < sp {
		return 0, 0, ErrBadRequest
	}
	if !validTransport(transport) {
		return 0, 0, fmt.Errorf("%w: transport %q", ErrBadRequest, transport)
	}
	method := sipparse.LookupMethod(req[:sp])
	if fn == nil && method != sipparse.MethodAck {
		return 0, 0, ErrNilFunc
	}
	return eol, method, nil
}

// SendOn is Send on the connection c, which the caller got from the
// transport for e (transport is the Via transport, as Dest.Transport). It
// does not block. Any goroutine, event loops included.
func (d *Dispatcher) SendOn(e *Endpoint, c Conn, transport string, req []byte, fn ResponseFunc) error {
	eol, method, err := d.check(e, transport, req, fn)
	if err != nil {
		return err
	}
	ack := method == sipparse.MethodAck
	key := d.seq.Add(1)
	bp := d.bufs.Get().(*[]byte)
	*bp = d.appendRequest((*bp)[:0], req, eol, transport, c, key)

	if ack {
		if err := c.Send(*bp, func(error) { d.putBuf(bp) }); err != nil {
			d.putBuf(bp)
			return fmt.Errorf("%w: %w", ErrSendFailed, err)
		}
		d.stats.sentACK.Add(1)
		return nil
	}

	t := &tx{key: key, ep: e, fn: fn, c: c, connID: c.ID(), method: method}
	t.timer.Value = t
	if err := d.link(t); err != nil {
		d.putBuf(bp)
		d.stats.throttled.Add(1)
		return err
	}
	d.insert(t)
	if c.Closed() { // closed before HandleClose could see t
		d.putBuf(bp)
		if d.end(t) {
			d.stats.broken.Add(1)
			return ErrConnBroken
		}
		return nil // HandleClose ended it and told fn
	}
	err = c.Send(*bp, func(err error) {
		d.putBuf(bp)
		if err != nil && d.end(t) {
			d.stats.sendErrors.Add(1)
			t.fn(c, nil, fmt.Errorf("%w: %w", ErrSendFailed, err))
		}
	})
	if err != nil {
		d.putBuf(bp)
		if d.end(t) {
			d.stats.sendErrors.Add(1)
			return fmt.Errorf("%w: %w", ErrSendFailed, err)
		}
		return nil // ended meanwhile, and fn told
	}
	d.stats.sent.Add(1)
	return nil
}

func (d *Dispatcher) putBuf(bp *[]byte) {
	if cap(*bp) <= maxBufCap {
		*bp = (*bp)[:0]
		d.bufs.Put(bp)
	}
}

func validTransport(s string) bool {
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '-':
		default:
			return false
		}
	}
	return true
}

// appendRequest appends req with our Via inserted after its request line,
// which ends at eol.
func (d *Dispatcher) appendRequest(dst, req []byte, eol int, transport string, c Conn, key uint64) []byte {
	dst = append(dst, req[:eol+2]...)
	dst = append(dst, "Via: "...)
	dst = d.appendSentBy(dst, c, transport)
	dst = append(dst, ";branch="...)
	dst = d.appendBranch(dst, key)
	dst = append(dst, "\r\n"...)
	return append(dst, req[eol+2:]...)
}

// AppendVia appends to dst the via-parm the dispatcher puts on top of the
// requests it sends on c over transport with the given branch:
// "SIP/2.0/<TRANSPORT> <sent-by>;branch=<branch>", the sent-by being
// Config.SentBy or c's local address. Given the branch of the top Via of a
// response to one of its requests, and the connection that request went
// on, it rebuilds that request's Via byte for byte (a response may carry
// it with parameters the peer added, such as received): the Via that the
// CANCEL of the request (RFC 3261 §9.1) and the ACK of a non-2xx final
// response to an INVITE (§17.1.1.3) must carry for the peer to match them
// to its transaction by branch and sent-by (§17.2.3). It allocates nothing
// when dst has room. Any goroutine.
func (d *Dispatcher) AppendVia(dst []byte, c Conn, transport string, branch []byte) []byte {
	dst = d.appendSentBy(dst, c, transport)
	dst = append(dst, ";branch="...)
	return append(dst, branch...)
}

// appendSentBy appends "SIP/2.0/<TRANSPORT> <sent-by>".
func (d *Dispatcher) appendSentBy(dst []byte, c Conn, transport string) []byte {
	dst = append(dst, "SIP/2.0/"...)
	if transport == "" {
		transport = "TCP"
	}
	for i := 0; i < len(transport); i++ {
		b := transport[i]
		if 'a' <= b && b <= 'z' {
			b -= 'a' - 'A'
		}
		dst = append(dst, b)
	}
	dst = append(dst, ' ')
	if d.cfg.SentBy != "" {
		dst = append(dst, d.cfg.SentBy...)
	} else if ap := c.LocalAddr(); ap.IsValid() {
		dst = ap.AppendTo(dst)
	} else {
		dst = append(dst, "0.0.0.0"...)
	}
	return dst
}

func (d *Dispatcher) appendBranch(dst []byte, key uint64) []byte {
	dst = append(dst, branchCookie...)
	dst = append(dst, d.magic[:]...)
	dst = append(dst, '.')
	return strconv.AppendUint(dst, key, 16)
}

// parseBranch returns the key of one of our branches.
func (d *Dispatcher) parseBranch(b []byte) (uint64, bool) {
	const pre = len(branchCookie) + len(d.magic) + 1
	if len(b) <= pre || len(b) > pre+16 || string(b[:len(branchCookie)]) != branchCookie ||
		!bytes.Equal(b[len(branchCookie):pre-1], d.magic[:]) || b[pre-1] != '.' {
		return 0, false
	}
	var key uint64
	for _, c := range b[pre:] {
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		default:
			return 0, false
		}
		key = key<<4 | uint64(v)
	}
	return key, true
}
