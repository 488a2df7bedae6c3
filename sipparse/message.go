package sipparse

import "bytes"

// CSeq is a view of the CSeq header field.
type CSeq struct {
	Num        uint32
	Method     Method
	MethodName Span
}

// Message is a parsed SIP request or response: a view of offsets into the
// buffer given to Parse. Reuse one Message for many messages; once its slices
// have grown to the sizes seen, Parse allocates nothing.
//
// A Message belongs to one goroutine at a time.
type Message struct {
	// Limits bounds what Parse accepts; zero fields select defaults.
	Limits Limits

	Request    bool   // a request (else a response)
	Method     Method // request method, MethodUnknown when not a known one
	MethodName Span   // request method as written
	RequestURI URI
	StatusCode int  // response status code
	Reason     Span // response reason phrase, may be empty
	StartLine  Span // the start line without its CRLF

	Headers      []Header // every header field line, in order
	Vias         []Via    // every via-parm of every Via line, top first
	From, To     Addr
	CallID       Span
	CSeq         CSeq
	MaxForwards  int // -1 when absent
	ContentLen   int // Content-Length value, -1 when absent
	ContentType  Span
	Contacts     []Addr
	Routes       []Addr
	RecordRoutes []Addr
	Expires      int  // Expires value, -1 when absent; malformed means 3600 (RFC 3261 §20.19)
	Body         Span // the body: Content-Length bytes, or the rest of a datagram without one
	HeaderLen    int  // length of the start line and header section, empty line included

	buf     []byte
	own     []byte // buffer owned after Detach or CopyTo
	srcHost []byte
	srcPort int
	seen    uint32 // bit per single-valued HeaderID already seen
	err     ParseError
}

// Buf returns the buffer the message was parsed from.
func (m *Message) Buf() []byte { return m.buf }

// Bytes returns the bytes of s in the message's buffer.
func (m *Message) Bytes(s Span) []byte { return s.Bytes(m.buf) }

// Answerable reports whether a server can answer the message with a
// response: it is a request (even one Parse refused) with at least one Via
// header field line. ACK is never answered.
func (m *Message) Answerable() bool {
	if !m.Request || m.Method == MethodAck || m.StartLine.Empty() {
		return false
	}
	for i := range m.Headers {
		if m.Headers[i].ID == HdrVia {
			return true
		}
	}
	return false
}

func (m *Message) reset(buf []byte) {
	lim := m.Limits.withDefaults()
	if m.Headers == nil {
		m.Headers = make([]Header, 0, min(lim.MaxHeaders, 64))
		m.Vias = make([]Via, 0, min(lim.MaxValues, 8))
		m.Contacts = make([]Addr, 0, min(lim.MaxValues, 4))
		m.Routes = make([]Addr, 0, min(lim.MaxValues, 8))
		m.RecordRoutes = make([]Addr, 0, min(lim.MaxValues, 8))
	}
	*m = Message{
		Limits:       m.Limits,
		Headers:      m.Headers[:0],
		Vias:         m.Vias[:0],
		Contacts:     m.Contacts[:0],
		Routes:       m.Routes[:0],
		RecordRoutes: m.RecordRoutes[:0],
		MaxForwards:  -1,
		ContentLen:   -1,
		Expires:      -1,
		buf:          buf,
		own:          m.own,
	}
}

// fail records the first error found.
func (m *Message) fail(err error, off int, h HeaderID) {
	if m.err.Err != nil {
		return
	}
	status := 400
	switch err {
	case ErrBadVersion:
		status = 505
	case ErrMessageTooLarge, ErrHeaderTooLarge:
		status = 513
	case ErrCSeqMismatch:
		if m.Method == MethodUnknown {
			status = 501
		}
	}
	m.err = ParseError{Err: err, Off: off, Header: h, Status: status}
}

// Parse parses buf, which holds one whole message: what a [Framer] framed on
// a stream, or a datagram. On success the Message is a view of buf, valid
// while buf is unchanged. On failure it returns a *[ParseError]; the fields
// parsed so far, the header lines above all, stay usable to answer the request
// (see [Message.Answerable] and [AppendResponse]).
//
// Parse checks the syntax of the start line and of the header fields it knows
// (every other header field is kept as an opaque value), that Via, From, To,
// Call-ID and CSeq are present, that the single-valued ones are not repeated,
// and that the CSeq method equals the request method. A body longer than
// Content-Length is cut to it (datagram noise, RFC 3261 §18.3).
func (m *Message) Parse(buf []byte) error {
	m.reset(buf)
	lim := m.Limits.withDefaults()
	if len(buf) > lim.MaxMessageBytes {
		m.fail(ErrMessageTooLarge, lim.MaxMessageBytes, HdrOther)
		return &m.err
	}
	nl := bytes.IndexByte(buf, '\n')
	if nl < 1 || buf[nl-1] != '\r' {
		m.fail(ErrBadStartLine, max(nl, 0), HdrOther)
		return &m.err
	}
	m.StartLine = span(0, nl-1)
	m.parseStartLine(buf, nl-1)

	pos := nl + 1
	for {
		if pos > lim.MaxHeaderBytes {
			m.fail(ErrHeaderTooLarge, pos, HdrOther)
			return &m.err
		}
		k := bytes.IndexByte(buf[pos:], '\n')
		if k < 0 {
			m.fail(ErrBadHeader, len(buf), HdrOther) // no empty line
			return &m.err
		}
		nl = pos + k
		if k == 0 || buf[nl-1] != '\r' {
			m.fail(ErrBadHeader, nl, HdrOther) // bare LF
			pos = nl + 1
			continue
		}
		le := nl - 1
		if le == pos {
			pos = nl + 1
			break
		}
		if bytes.IndexByte(buf[pos:le], '\r') >= 0 {
			m.fail(ErrBadHeader, pos, HdrOther) // bare CR
		}
		m.headerLine(buf, pos, le, lim)
		pos = nl + 1
	}
	m.HeaderLen = pos
	if pos > lim.MaxHeaderBytes {
		m.fail(ErrHeaderTooLarge, pos, HdrOther)
		return &m.err
	}

	for i := range m.Headers {
		m.headerValue(buf, i, lim)
	}

	if m.ContentLen >= 0 {
		if pos+m.ContentLen > len(buf) {
			m.fail(ErrShortBody, len(buf), HdrContentLength)
			m.Body = span(pos, len(buf))
		} else {
			m.Body = span(pos, pos+m.ContentLen)
		}
	} else {
		m.Body = span(pos, len(buf))
	}

	const mandatory = 1<<HdrFrom | 1<<HdrTo | 1<<HdrCallID | 1<<HdrCSeq
	if m.seen&mandatory != mandatory || !m.hasVia() {
		m.fail(ErrMissingHeader, pos, missing(m.seen, m.hasVia()))
	}
	if m.Request && m.seen&(1<<HdrCSeq) != 0 && !m.CSeq.MethodName.Empty() && !m.MethodName.Empty() &&
		!bytes.Equal(m.CSeq.MethodName.Bytes(buf), m.MethodName.Bytes(buf)) {
		m.fail(ErrCSeqMismatch, int(m.CSeq.MethodName.Off), HdrCSeq)
	}
	if m.err.Err != nil {
		return &m.err
	}
	return nil
}

func (m *Message) hasVia() bool {
	for i := range m.Headers {
		if m.Headers[i].ID == HdrVia {
			return true
		}
	}
	return false
}

func missing(seen uint32, via bool) HeaderID {
	if !via {
		return HdrVia
	}
	for _, h := range [...]HeaderID{HdrFrom, HdrTo, HdrCallID, HdrCSeq} {
		if seen&(1<<h) == 0 {
			return h
		}
	}
	return HdrOther
}

// parseStartLine parses buf[:end] as a request or status line.
func (m *Message) parseStartLine(buf []byte, end int) {
	line := buf[:end]
	if len(line) >= 4 && string(line[:4]) == "SIP/" {
		m.parseStatusLine(buf, end)
		return
	}
	m.Request = true
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		m.fail(ErrBadStartLine, 0, HdrOther)
		return
	}
	for i := 0; i < sp; i++ {
		if !is(buf[i], cToken) {
			m.fail(ErrBadMethod, i, HdrOther)
			return
		}
	}
	m.MethodName = span(0, sp)
	m.Method = LookupMethod(buf[:sp])
	last := bytes.LastIndexByte(line, ' ')
	version := line[last+1:]
	if !equalFold(version, "sip/2.0") {
		if len(version) > 4 && equalFold(version[:4], "sip/") {
			m.fail(ErrBadVersion, last+1, HdrOther)
		} else {
			m.fail(ErrBadStartLine, last+1, HdrOther)
		}
		return
	}
	us := sp + 1
	if last <= us || bytes.IndexByte(line[us:last], ' ') >= 0 {
		m.fail(ErrBadRequestURI, us, HdrOther)
		return
	}
	if off, err := parseURI(buf, us, last, &m.RequestURI, uriRequestLine); err != nil {
		m.fail(ErrBadRequestURI, off, HdrOther)
	}
}

func (m *Message) parseStatusLine(buf []byte, end int) {
	sp := bytes.IndexByte(buf[:end], ' ')
	if sp < 0 {
		m.fail(ErrBadStartLine, end, HdrOther)
		return
	}
	if !equalFold(buf[:sp], "sip/2.0") {
		m.fail(ErrBadVersion, 0, HdrOther)
		return
	}
	i := sp + 1
	if end-i < 3 || (end-i > 3 && buf[i+3] != ' ') {
		m.fail(ErrBadStatus, i, HdrOther)
		return
	}
	code, ok := parseUint(buf, i, i+3, 699)
	if !ok || code < 100 {
		m.fail(ErrBadStatus, i, HdrOther)
		return
	}
	m.StatusCode = int(code)
	if end > i+3 {
		m.Reason = span(i+4, end)
	} else {
		m.Reason = span(end, end)
	}
}

// headerLine records the header line buf[pos:le] (without CRLF), or extends
// the previous one when it is a continuation line.
func (m *Message) headerLine(buf []byte, pos, le int, lim Limits) {
	if c := buf[pos]; c == ' ' || c == '\t' {
		if len(m.Headers) == 0 {
			m.fail(ErrBadHeader, pos, HdrOther)
			return
		}
		h := &m.Headers[len(m.Headers)-1]
		vs := skipWS(buf, pos, le)
		ve := trimLWSRight(buf, vs, le)
		if ve > vs {
			if h.Value.Empty() {
				h.Value = span(vs, ve)
			} else {
				h.Value = span(int(h.Value.Off), ve)
			}
		}
		return
	}
	colon := bytes.IndexByte(buf[pos:le], ':')
	if colon < 0 {
		m.fail(ErrBadHeader, pos, HdrOther)
		return
	}
	colon += pos
	ne := colon
	for ne > pos && (buf[ne-1] == ' ' || buf[ne-1] == '\t') {
		ne--
	}
	for i := pos; i < ne; i++ {
		if !is(buf[i], cToken) {
			m.fail(ErrBadHeader, i, HdrOther)
			return
		}
	}
	if ne == pos {
		m.fail(ErrBadHeader, pos, HdrOther)
		return
	}
	if len(m.Headers) >= lim.MaxHeaders {
		m.fail(ErrTooManyHeaders, pos, HdrOther)
		return
	}
	vs := skipWS(buf, colon+1, le)
	ve := trimLWSRight(buf, vs, le)
	m.Headers = append(m.Headers, Header{
		ID:    LookupHeader(buf[pos:ne]),
		Name:  span(pos, ne),
		Value: span(vs, ve),
	})
}

func skipWS(b []byte, i, end int) int {
	for i < end && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

// single marks the header fields that may appear once.
const single = 1<<HdrFrom | 1<<HdrTo | 1<<HdrCallID | 1<<HdrCSeq | 1<<HdrMaxForwards |
	1<<HdrContentType | 1<<HdrExpires

// headerValue parses the value of header i when the parser knows it.
func (m *Message) headerValue(buf []byte, idx int, lim Limits) {
	h := &m.Headers[idx]
	id := h.ID
	if id == HdrOther {
		return
	}
	if single&(1<<id) != 0 && m.seen&(1<<id) != 0 {
		m.fail(ErrDuplicateHeader, int(h.Name.Off), id)
		return
	}
	i, end := int(h.Value.Off), h.Value.End()
	switch id {
	case HdrVia:
		m.seen |= 1 << id
		m.Vias = m.list(buf, i, end, idx, m.Vias, lim)
	case HdrFrom, HdrTo:
		m.seen |= 1 << id
		a := &m.From
		if id == HdrTo {
			a = &m.To
		}
		if off, err := parseAddr(buf, i, end, a, false); err != nil {
			m.fail(err, off, id)
		}
	case HdrCallID:
		m.seen |= 1 << id
		if i == end {
			m.fail(ErrBadCallID, i, id)
			return
		}
		for j := i; j < end; j++ {
			if isLWS(buf[j]) || buf[j] < 0x21 || buf[j] == 0x7f {
				m.fail(ErrBadCallID, j, id)
				return
			}
		}
		m.CallID = h.Value
	case HdrCSeq:
		m.seen |= 1 << id
		j := i
		for j < end && buf[j] >= '0' && buf[j] <= '9' {
			j++
		}
		n, ok := parseUint(buf, i, j, 1<<32-1)
		k := skipLWS(buf, j, end)
		if !ok || k == j || k == end {
			m.fail(ErrBadCSeq, i, id)
			return
		}
		for l := k; l < end; l++ {
			if !is(buf[l], cToken) {
				m.fail(ErrBadCSeq, l, id)
				return
			}
		}
		m.CSeq = CSeq{Num: uint32(n), MethodName: span(k, end), Method: LookupMethod(buf[k:end])}
	case HdrMaxForwards:
		m.seen |= 1 << id
		n, ok := parseUint(buf, i, end, 255)
		if !ok {
			m.fail(ErrBadMaxForwards, i, id)
			return
		}
		m.MaxForwards = int(n)
	case HdrContentLength:
		n, ok := parseUint(buf, i, end, 1<<31-1)
		if !ok {
			m.fail(ErrBadContentLength, i, id)
			return
		}
		if m.ContentLen >= 0 && m.ContentLen != int(n) {
			m.fail(ErrContentLengthConflict, i, id)
			return
		}
		m.ContentLen = int(n)
	case HdrContentType:
		m.seen |= 1 << id
		m.ContentType = h.Value
	case HdrExpires:
		m.seen |= 1 << id
		n, ok := parseUint(buf, i, end, 1<<32-1)
		if !ok {
			n = 3600
		}
		m.Expires = int(n)
	case HdrContact:
		m.Contacts = m.addrList(buf, i, end, id, m.Contacts, lim)
	case HdrRoute:
		m.Routes = m.addrList(buf, i, end, id, m.Routes, lim)
	case HdrRecordRoute:
		m.RecordRoutes = m.addrList(buf, i, end, id, m.RecordRoutes, lim)
	}
}

// list parses the comma-separated via-parms of one Via line.
func (m *Message) list(buf []byte, i, end, idx int, vias []Via, lim Limits) []Via {
	for {
		if len(vias) >= lim.MaxValues {
			m.fail(ErrTooManyValues, i, HdrVia)
			return vias
		}
		vias = append(vias, Via{})
		v := &vias[len(vias)-1]
		j, err := parseVia(buf, i, end, v)
		if err != nil {
			m.fail(err, j, HdrVia)
			return vias[:len(vias)-1]
		}
		v.Header = uint16(idx)
		if j >= end {
			return vias
		}
		i = j + 1 // past ','
	}
}

// addrList parses the comma-separated addresses of one Contact, Route or
// Record-Route line.
func (m *Message) addrList(buf []byte, i, end int, id HeaderID, list []Addr, lim Limits) []Addr {
	for {
		if len(list) >= lim.MaxValues {
			m.fail(ErrTooManyValues, i, id)
			return list
		}
		list = append(list, Addr{})
		a := &list[len(list)-1]
		j, err := parseAddr(buf, i, end, a, true)
		if err != nil {
			m.fail(err, j, id)
			return list[:len(list)-1]
		}
		if a.Star && (id != HdrContact || j < end || len(list) > 1) {
			m.fail(ErrBadAddress, j, id)
		}
		if j >= end {
			return list
		}
		i = j + 1
	}
}
