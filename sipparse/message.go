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
// have grown to the sizes seen, parsing allocates nothing.
//
// Parsing has two tiers, as in the fastest SIP servers. [Message.Parse] does
// what a transport needs for every message: it checks the start line and the
// header section, indexes every header field line, and parses the top Via,
// From and To (display name, parameters, tag; their URIs are left as spans),
// Call-ID, CSeq, Max-Forwards, Content-Length, Content-Type and Expires.
// [Message.ParseURI], [Message.ParseVias] and [Message.ParseAddrs] parse the
// rest on demand, once: the Request-URI, the other via-parms, the URIs of From
// and To, and Contact, Route and Record-Route; [Message.ParseAll] does all
// three. RFC 3261 §16.3 asks a proxy to validate only what it uses and to pass
// other components unchanged, which is what the tiers allow.
//
// A Message belongs to one goroutine at a time.
type Message struct {
	// Limits bounds what Parse accepts; zero fields select defaults.
	Limits Limits

	Request    bool   // a request (else a response)
	Method     Method // request method, MethodUnknown when not a known one
	MethodName Span   // request method as written
	// RequestURI: Raw is set by Parse, the rest by ParseURI.
	RequestURI URI
	StatusCode int  // response status code
	Reason     Span // response reason phrase, may be empty
	StartLine  Span // the start line without its CRLF

	Headers []Header // every header field line, in order
	// Vias holds the via-parms of the message, top first: after Parse only
	// the top one, after ParseVias all of them.
	Vias []Via
	// From and To: after Parse all but URI, of which only URI.Raw is set;
	// ParseAddrs parses the URI.
	From, To    Addr
	CallID      Span
	CSeq        CSeq
	MaxForwards int  // -1 when absent
	ContentLen  int  // Content-Length value, -1 when absent
	ContentType Span // Content-Type value
	Expires     int  // Expires value, -1 when absent; malformed means 3600 (RFC 3261 §20.19)
	Body        Span // the body: Content-Length bytes, or the rest of a datagram without one
	HeaderLen   int  // length of the start line and header section, empty line included

	// Filled by ParseAddrs.
	Contacts     []Addr
	Routes       []Addr
	RecordRoutes []Addr

	buf     []byte
	lines   []lineRec // header lines found by headers, kept for reuse
	own     []byte    // buffer owned after Detach or CopyTo
	srcHost []byte
	srcPort int
	seen    uint32 // bit per HeaderID seen (IDs below 32)
	done    uint8  // tier-2 parts parsed
	err     ParseError
	err2    ParseError // first tier-2 error
}

const (
	doneURI uint8 = 1 << iota
	doneVias
	doneAddrs
)

// Buf returns the buffer the message was parsed from.
func (m *Message) Buf() []byte { return m.buf }

// Bytes returns the bytes of s in the message's buffer.
func (m *Message) Bytes(s Span) []byte { return s.Bytes(m.buf) }

// Has reports whether the message has a header field line with the given ID
// (below HdrPath).
func (m *Message) Has(id HeaderID) bool { return id < 32 && m.seen&(1<<id) != 0 }

// Header returns the value of the first header field line with the given ID
// and whether there is one.
func (m *Message) Header(id HeaderID) (Span, bool) {
	if id < 32 && m.seen&(1<<id) == 0 {
		return Span{}, false
	}
	for i := range m.Headers {
		if m.Headers[i].ID == id {
			return m.Headers[i].Value, true
		}
	}
	return Span{}, false
}

// Answerable reports whether a server can answer the message with a
// response: it is a request (even one Parse refused) with at least one Via
// header field line, and not an ACK.
func (m *Message) Answerable() bool {
	return m.Request && m.Method != MethodAck && !m.StartLine.Empty() && m.seen&(1<<HdrVia) != 0
}

func (m *Message) reset(buf []byte, lim *Limits) {
	if m.Headers == nil {
		m.Headers = make([]Header, 0, min(lim.MaxHeaders, 64))
		m.Vias = make([]Via, 0, min(lim.MaxValues, 8))
		m.lines = make([]lineRec, 0, min(lim.MaxHeaders+1, 64))
	}
	// Zeroing in place and restoring the kept fields is cheaper than
	// assigning a composite literal, which is built aside and copied.
	lims, hdrs, vias, own, lines := m.Limits, m.Headers[:0], m.Vias[:0], m.own, m.lines[:0]
	cs, rs, rrs := m.Contacts[:0], m.Routes[:0], m.RecordRoutes[:0]
	*m = Message{}
	m.Limits, m.Headers, m.Vias, m.own, m.lines = lims, hdrs, vias, own, lines
	m.Contacts, m.Routes, m.RecordRoutes = cs, rs, rrs
	m.MaxForwards, m.ContentLen, m.Expires = -1, -1, -1
	m.buf = buf
}

// fail records the first error found by Parse. It stays out of line so
// that the parsing loops that call it keep their registers.
//
//go:noinline
func (m *Message) fail(err error, off int, h HeaderID) {
	if m.err.Err == nil {
		m.err = m.newError(err, off, h)
	}
}

func (m *Message) newError(err error, off int, h HeaderID) ParseError {
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
	return ParseError{Err: err, Off: off, Header: h, Status: status}
}

// Parse parses buf, which holds one whole message: what a [Framer] framed on
// a stream, or a datagram. On success the Message is a view of buf, valid
// while buf is unchanged. On failure it returns a *[ParseError]; the header
// lines found stay usable to answer the request (see [Message.Answerable] and
// [AppendResponse]).
//
// Parse checks the start line (the Request-URI only for white space and
// brackets; [Message.ParseURI] parses it), that every header line is well
// formed, the values of the header fields it parses (see [Message]), that
// Via, From, To, Call-ID and CSeq are present, that the single-valued ones are
// not repeated, and that the CSeq method equals the request method. A body
// longer than Content-Length is cut to it (datagram noise, RFC 3261 §18.3).
// Parse does not allocate once the Message has been used.
func (m *Message) Parse(buf []byte) error {
	lim := m.Limits.withDefaults()
	m.reset(buf, &lim)
	if len(buf) > lim.MaxMessageBytes {
		m.fail(ErrMessageTooLarge, lim.MaxMessageBytes, HdrOther)
		return &m.err
	}
	sl := bytes.IndexByte(buf, '\n')
	if sl < 1 || buf[sl-1] != '\r' {
		m.fail(ErrBadStartLine, max(sl, 0), HdrOther)
		return &m.err
	}
	m.StartLine = span(0, sl-1)
	m.parseStartLine(buf, sl-1)

	hmax := min(lim.MaxHeaderBytes, len(buf))
	pos, lines, ok := m.headers(buf, sl+1, hmax, &lim)
	// Every line ended with CRLF; a CR anywhere else is refused, since
	// another element could take it for a line end and see header fields we
	// did not, Content-Length above all. Counting is one vector pass.
	if ok && bytes.Count(buf[:pos], crByte) != lines+1 {
		if off := bareCR(buf[:pos]); m.err.Err == nil || off < m.err.Off {
			m.err = m.newError(ErrBadHeader, off, HdrOther)
		}
	}
	// The errors of splitting and of the fields are merged by offset, so
	// that the first in the message is the one reported. A name holding a
	// CR is refused so even where the splitter took it for a known one.
	split := m.err
	m.err = ParseError{}
	m.fields(buf, &lim)
	if split.Err != nil && (m.err.Err == nil || split.Off <= m.err.Off) {
		m.err = split
	}
	if !ok {
		return &m.err
	}
	m.HeaderLen = pos

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

	const mandatory = 1<<HdrVia | 1<<HdrFrom | 1<<HdrTo | 1<<HdrCallID | 1<<HdrCSeq
	if m.seen&mandatory != mandatory {
		m.fail(ErrMissingHeader, pos, missing(m.seen))
	}
	if m.Request && !m.CSeq.MethodName.Empty() && !m.MethodName.Empty() &&
		string(m.CSeq.MethodName.Bytes(buf)) != string(m.MethodName.Bytes(buf)) {
		m.fail(ErrCSeqMismatch, int(m.CSeq.MethodName.Off), HdrCSeq)
	}
	if m.err.Err != nil {
		return &m.err
	}
	return nil
}

func missing(seen uint32) HeaderID {
	for _, h := range [...]HeaderID{HdrVia, HdrFrom, HdrTo, HdrCallID, HdrCSeq} {
		if seen&(1<<h) == 0 {
			return h
		}
	}
	return HdrOther
}

var crByte = []byte{'\r'}

// bareCR returns the offset of the first CR not followed by LF in b.
func bareCR(b []byte) int {
	for i := 0; i < len(b); i++ {
		if b[i] == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
			return i
		}
	}
	return 0
}

// addHeader records the header line buf[pos:le] (without its CRLF, with its
// folds) in m.lines, unless headers has recorded as many as it keeps.
func (m *Message) addHeader(buf []byte, pos, le int, lim *Limits) {
	colon := bytes.IndexByte(buf[pos:le], ':')
	if colon <= 0 {
		m.fail(ErrBadHeader, pos, HdrOther)
		return
	}
	colon += pos
	ne := colon
	for buf[ne-1] == ' ' || buf[ne-1] == '\t' {
		if ne--; ne == pos {
			m.fail(ErrBadHeader, pos, HdrOther)
			return
		}
	}
	if len(m.lines) > lim.MaxHeaders {
		return
	}
	vs := skipLWS(buf, colon+1, le)
	m.lines = append(m.lines, lineRec{uint32(pos), uint32(ne), uint32(vs), uint32(trimLWSRight(buf, vs, le)), noID})
}

// fields identifies each header line that headers recorded, appends it to
// m.Headers and parses its value when Parse knows the field, in order.
func (m *Message) fields(buf []byte, lim *Limits) {
	for i := range m.lines {
		// Word by word: the splitter stored them so, and a wider load
		// from narrower stores waits for them to reach the cache.
		l := &m.lines[i]
		pos, ne, vs, ve := int(l[0]), int(l[1]), int(l[2]), int(l[3])
		id := HeaderID(l[4])
		if id == noID {
			id = LookupHeader(buf[pos:ne])
		}
		if id == HdrOther {
			if j := pos + spanClass(buf[pos:ne], cToken); j != ne {
				m.fail(ErrBadHeader, j, HdrOther)
				continue
			}
		}
		if len(m.Headers) >= lim.MaxHeaders {
			m.fail(ErrTooManyHeaders, pos, HdrOther)
			continue
		}
		m.Headers = append(m.Headers, Header{ID: id, Name: span(pos, ne), Value: span(vs, ve)})
		if id != HdrOther {
			m.value(buf, id, pos, vs, ve)
		}
	}
}

// value parses the value buf[vs:ve] of the known header field id, whose line
// starts at pos and was just appended to m.Headers.
func (m *Message) value(buf []byte, id HeaderID, pos, vs, ve int) {
	bit := uint32(1) << id
	if single&bit != 0 && m.seen&bit != 0 {
		m.fail(ErrDuplicateHeader, pos, id)
		return
	}
	first := m.seen&bit == 0
	m.seen |= bit
	switch id {
	case HdrVia:
		if first {
			m.Vias = append(m.Vias, Via{})
			v := &m.Vias[0]
			if j, err := parseVia(buf, vs, ve, v); err != nil {
				m.Vias = m.Vias[:0]
				m.fail(err, j, id)
			} else {
				v.Header = uint16(len(m.Headers) - 1)
			}
		}
	case HdrFrom:
		if j, err := scanAddr(buf, vs, ve, &m.From, false); err != nil {
			m.fail(err, j, id)
		}
	case HdrTo:
		if j, err := scanAddr(buf, vs, ve, &m.To, false); err != nil {
			m.fail(err, j, id)
		}
	case HdrCallID:
		if vs == ve || findCtlSpace(buf, vs, ve) >= 0 {
			m.fail(ErrBadCallID, vs, id)
		}
		m.CallID = span(vs, ve)
	case HdrCSeq:
		m.parseCSeq(buf, vs, ve)
	case HdrMaxForwards:
		n, ok := parseUint(buf, vs, ve, 255)
		if !ok {
			m.fail(ErrBadMaxForwards, vs, id)
		}
		m.MaxForwards = int(n)
	case HdrContentLength:
		n, ok := parseUint(buf, vs, ve, 1<<31-1)
		if !ok {
			m.fail(ErrBadContentLength, vs, id)
		} else if m.ContentLen >= 0 && m.ContentLen != int(n) {
			m.fail(ErrContentLengthConflict, vs, id)
		} else {
			m.ContentLen = int(n)
		}
	case HdrContentType:
		m.ContentType = span(vs, ve)
	case HdrExpires:
		n, ok := parseUint(buf, vs, ve, 1<<32-1)
		if !ok {
			n = 3600
		}
		m.Expires = int(n)
	}
}

// single marks the header fields that may appear once.
const single = 1<<HdrFrom | 1<<HdrTo | 1<<HdrCallID | 1<<HdrCSeq | 1<<HdrMaxForwards |
	1<<HdrContentType | 1<<HdrExpires

func (m *Message) parseCSeq(buf []byte, i, end int) {
	j := i
	for j < end && buf[j] >= '0' && buf[j] <= '9' {
		j++
	}
	n, ok := parseUint(buf, i, j, 1<<32-1)
	k := skipLWS(buf, j, end)
	if !ok || k == j || k == end {
		m.fail(ErrBadCSeq, i, HdrCSeq)
		return
	}
	if l := k + spanClass(buf[k:end], cToken); l != end {
		m.fail(ErrBadCSeq, l, HdrCSeq)
		return
	}
	m.CSeq = CSeq{Num: uint32(n), MethodName: span(k, end), Method: LookupMethod(buf[k:end])}
}

func skipWS(b []byte, i, end int) int {
	for i < end && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

// parseStartLine parses buf[:end] as a request or status line.
func (m *Message) parseStartLine(buf []byte, end int) {
	if end >= 8 && string(buf[:8]) == "SIP/2.0 " {
		m.parseStatusLine(buf, 8, end)
		return
	}
	if end >= 4 && equalFold(buf[:4], "sip/") {
		sp := findByte(buf, 0, end, ' ')
		if sp < 0 || !equalFold(buf[:sp], "sip/2.0") {
			m.fail(ErrBadVersion, 0, HdrOther)
			return
		}
		m.parseStatusLine(buf, sp+1, end)
		return
	}
	m.Request = true
	sp := spanClass(buf[:end], cToken)
	if sp == 0 || sp == end || buf[sp] != ' ' {
		if sp < end && buf[sp] != ' ' {
			m.fail(ErrBadMethod, sp, HdrOther)
		} else {
			m.fail(ErrBadStartLine, sp, HdrOther)
		}
		return
	}
	m.MethodName = span(0, sp)
	m.Method = LookupMethod(buf[:sp])
	// The version is the last word: " SIP/2.0" ends the line.
	last := end - 8
	if last <= sp || string(buf[last:end]) != " SIP/2.0" {
		last = lastSpace(buf, end)
		version := buf[last+1 : end]
		switch {
		case equalFold(version, "sip/2.0"):
		case len(version) > 4 && equalFold(version[:4], "sip/"):
			m.fail(ErrBadVersion, last+1, HdrOther)
			return
		default:
			m.fail(ErrBadStartLine, last+1, HdrOther)
			return
		}
	}
	us := sp + 1
	if last <= us || findByte(buf, us, last, ' ') >= 0 || buf[us] == '<' {
		m.fail(ErrBadRequestURI, us, HdrOther)
		return
	}
	m.RequestURI.Raw = span(us, last)
}

func lastSpace(b []byte, end int) int {
	for i := end - 1; i >= 0; i-- {
		if b[i] == ' ' {
			return i
		}
	}
	return -1
}

func (m *Message) parseStatusLine(buf []byte, i, end int) {
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
