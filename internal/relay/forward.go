package relay

import (
	"strconv"

	"github.com/sipcm/sipcm/sipparse"
)

// DefaultMaxForwards is the Max-Forwards a request without one is given
// before it is decremented (RFC 3261 §8.1.1.6, §16.6 step 3).
const DefaultMaxForwards = 70

// maxForwardsLine is the header field line added to a request without
// Max-Forwards: DefaultMaxForwards already decremented.
const maxForwardsLine = "Max-Forwards: 69\r\n"

// AppendRequest appends to dst the request m as the relay forwards it
// (RFC 3261 §16.6): received and rport added to its top Via for the source
// host and port (sipparse.AppendForward), Max-Forwards decremented, or
// "Max-Forwards: 69" added as the last header field line when m has none.
// Every other byte is copied unchanged. The caller refuses a request whose
// Max-Forwards is 0 (483) before calling it. It allocates nothing when dst
// has room. Called by the goroutine that owns m.
func AppendRequest(dst []byte, m *sipparse.Message, host []byte, port int) []byte {
	start := len(dst)
	dst = sipparse.AppendForward(dst, m, host, port)
	// AppendForward edits only inside the top via-parm: bytes before it
	// keep their offsets, bytes after it move by delta.
	delta := len(dst) - start - len(m.Buf())
	viaEnd := -1
	if len(m.Vias) > 0 {
		viaEnd = m.Vias[0].Raw.End()
	}
	at := func(off int) int {
		if viaEnd >= 0 && off >= viaEnd {
			off += delta
		}
		return start + off
	}
	if m.MaxForwards < 0 {
		return insertAt(dst, at(m.HeaderLen-2), maxForwardsLine)
	}
	v, ok := m.Header(sipparse.HdrMaxForwards)
	if !ok || m.MaxForwards == 0 {
		return dst
	}
	var num [20]byte
	n := strconv.AppendInt(num[:0], int64(m.MaxForwards-1), 10)
	off, old := at(int(v.Off)), int(v.Len)
	// The decremented value never has more digits than the value read.
	copy(dst[off:], n)
	if len(n) < old {
		copy(dst[off+len(n):], dst[off+old:])
		dst = dst[:len(dst)-(old-len(n))]
	}
	return dst
}

// insertAt inserts s into b at offset off.
func insertAt(b []byte, off int, s string) []byte {
	n := len(b)
	b = append(b, s...)
	copy(b[off+len(s):], b[off:n])
	copy(b[off:], s)
	return b
}

// AppendResponse appends to dst the response m without its top via-parm,
// the relay's own (RFC 3261 §16.7 step 3): the whole Via line when it holds
// only that via-parm, else the via-parm and the comma after it. Every other
// byte is copied unchanged. A response without a Via is copied whole. It
// allocates nothing when dst has room. Called by the goroutine that owns m.
func AppendResponse(dst []byte, m *sipparse.Message) []byte {
	buf := m.Buf()
	if len(m.Vias) == 0 || int(m.Vias[0].Header) >= len(m.Headers) {
		return append(dst, buf...)
	}
	v := &m.Vias[0]
	h := &m.Headers[v.Header]
	if v.Raw.Off == h.Value.Off && v.Raw.End() == h.Value.End() {
		// The line holds only our via-parm: drop it with its CRLF.
		end := h.Value.End()
		for end+1 < len(buf) && !(buf[end] == '\r' && buf[end+1] == '\n') {
			end++
		}
		dst = append(dst, buf[:h.Name.Off]...)
		return append(dst, buf[min(end+2, len(buf)):]...)
	}
	// Our via-parm comes first in a line of several: drop it, the comma
	// and the white space (line folds included) before the next one.
	i := v.Raw.End()
	for i < len(buf) && buf[i] != ',' {
		i++
	}
	for i++; i < len(buf); i++ {
		if c := buf[i]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			break
		}
	}
	dst = append(dst, buf[:v.Raw.Off]...)
	return append(dst, buf[i:]...)
}

// appendStatus appends the response tmpl (built by sipparse.AppendResponse)
// with its status line replaced by status and reason.
func appendStatus(dst, tmpl []byte, status int, reason string) []byte {
	eol := 0
	for eol+1 < len(tmpl) && !(tmpl[eol] == '\r' && tmpl[eol+1] == '\n') {
		eol++
	}
	dst = append(dst, "SIP/2.0 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, reason...)
	return append(dst, tmpl[eol:]...)
}
