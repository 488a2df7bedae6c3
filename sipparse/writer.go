package sipparse

import (
	"bytes"
	"strconv"
)

// SetSource records the address a request came from (host is an IP address
// in text form, without brackets), so that [AppendResponse] and
// [AppendForward] add received and rport to the top Via (RFC 3261 §18.2.1,
// RFC 3581). host is kept, not copied, until the next Parse.
func (m *Message) SetSource(host []byte, port int) {
	m.srcHost, m.srcPort = host, port
}

// AppendResponse appends to dst a response to the request m, built as RFC
// 3261 §8.2.6 says: the status line, every Via header field in order (the top
// one with received/rport when [Message.SetSource] was called), From, To (with
// ";tag=" and toTag added when To has no tag, toTag is not empty and the
// status is not 100), Call-ID, CSeq, and "Content-Length: 0". It copies the
// raw header values, so it also answers a request that Parse refused. It
// allocates nothing when dst has room.
func AppendResponse(dst []byte, m *Message, status int, reason string, toTag []byte) []byte {
	buf := m.buf
	dst = append(dst, "SIP/2.0 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, reason...)
	dst = append(dst, "\r\n"...)
	topVia := true
	for i := range m.Headers {
		h := &m.Headers[i]
		switch h.ID {
		case HdrVia, HdrFrom, HdrTo, HdrCallID, HdrCSeq:
		default:
			continue
		}
		dst = append(dst, h.ID.String()...)
		dst = append(dst, ": "...)
		if h.ID == HdrVia && topVia {
			topVia = false
			if len(m.Vias) > 0 && m.Vias[0].Header == uint16(i) && m.srcHost != nil {
				dst = appendViaWithSource(dst, buf, int(h.Value.Off), h.Value.End(), &m.Vias[0], m.srcHost, m.srcPort)
				dst = append(dst, "\r\n"...)
				continue
			}
		}
		dst = append(dst, h.Value.Bytes(buf)...)
		if h.ID == HdrTo && status != 100 && len(toTag) > 0 && m.To.Tag.Empty() && m.seen&(1<<HdrTo) != 0 {
			if _, hasTag := LookupParam(buf, m.To.Params, "tag"); !hasTag {
				dst = append(dst, ";tag="...)
				dst = append(dst, toTag...)
			}
		}
		dst = append(dst, "\r\n"...)
	}
	return append(dst, "Content-Length: 0\r\n\r\n"...)
}

// AppendForward appends to dst the message m with received and rport added to
// its top Via as RFC 3261 §18.2.1 and RFC 3581 §4 say, for host and port the
// address the request came from: received when host differs from the sent-by
// host or rport is present, and the rport value when rport is present without
// one. Every other byte is copied unchanged. It allocates nothing when dst has
// room.
func AppendForward(dst []byte, m *Message, host []byte, port int) []byte {
	buf := m.buf
	if len(m.Vias) == 0 {
		return append(dst, buf...)
	}
	v := &m.Vias[0]
	dst = append(dst, buf[:v.Raw.Off]...)
	dst = appendViaWithSource(dst, buf, int(v.Raw.Off), v.Raw.End(), v, host, port)
	return append(dst, buf[v.Raw.End():]...)
}

// appendViaWithSource appends buf[start:end], which holds the via-parm v and
// possibly more via-parms after it, with received and rport set in v. It
// edits around the spans Parse recorded, without scanning the parameters
// again: an existing received value is replaced, or ";received=HOST" is added
// at the end of the via-parm; an rport without a value gets "=PORT".
func appendViaWithSource(dst, buf []byte, start, end int, v *Via, host []byte, port int) []byte {
	if v.Raw.Empty() || int(v.Raw.Off) < start || v.Raw.End() > end {
		return append(dst, buf[start:end]...) // not the via-parm parsed here
	}
	fillRPort := v.HasRPort && v.RPort.Empty()
	needReceived := v.HasRPort || !bytes.Equal(stripBrackets(v.Host.Bytes(buf)), host)
	if needReceived && bytes.Equal(v.Received.Bytes(buf), host) {
		needReceived = false
	}
	if !needReceived && !fillRPort {
		return append(dst, buf[start:end]...)
	}
	// At most two edits, applied in the order of their offsets.
	recvAt, recvEnd := v.Raw.End(), v.Raw.End() // insert ";received=" there
	if !v.Received.Empty() {
		recvAt, recvEnd = int(v.Received.Off), v.Received.End() // replace the value
	}
	rportAt := int(v.RPort.Off)
	p := start
	if fillRPort && (!needReceived || rportAt <= recvAt) {
		dst = append(dst, buf[p:rportAt]...)
		dst = appendPort(dst, port)
		p = rportAt
		fillRPort = false
	}
	if needReceived {
		dst = append(dst, buf[p:recvAt]...)
		if v.Received.Empty() {
			dst = append(dst, ";received="...)
		}
		dst = append(dst, host...)
		p = recvEnd
	}
	if fillRPort {
		dst = append(dst, buf[p:rportAt]...)
		dst = appendPort(dst, port)
		p = rportAt
	}
	return append(dst, buf[p:end]...)
}

func appendPort(dst []byte, port int) []byte {
	dst = append(dst, '=')
	return strconv.AppendInt(dst, int64(port), 10)
}

func stripBrackets(h []byte) []byte {
	if len(h) >= 2 && h[0] == '[' && h[len(h)-1] == ']' {
		return h[1 : len(h)-1]
	}
	return h
}
