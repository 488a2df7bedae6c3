// Package sipgoref parses SIP messages with github.com/emiago/sipgo, the Go
// peer sipcm is measured against, and extracts the fields that the
// differential tests compare with sipparse.
//
// It is test support: it allocates freely and is never on a hot path.
package sipgoref

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// ErrRejected is wrapped by the error [Parser.Parse] returns when sipgo
// rejects a message.
var ErrRejected = errors.New("sipgoref: sipgo rejected the message")

// ErrPanic is wrapped by the error [Parser.Parse] returns when sipgo panicked
// on a message. A differential fuzz target counts it as a rejection, so that
// a sipgo defect is not reported as a sipcm failure.
var ErrPanic = errors.New("sipgoref: sipgo panicked")

// Fields are the values of a message that sipgo and sipparse must agree on.
// Strings are copies as sipgo returns them; see each field for what sipgo
// normalises.
type Fields struct {
	// Request is true for a request, false for a response.
	Request bool

	// Method is the request method as sipgo stores it: sipgo upper-cases
	// the start-line method (SIP methods are case-sensitive, RFC 3261
	// §7.1), so compare it case-insensitively. Empty for responses.
	Method string
	// RequestURI is the Request-URI text sipgo parsed: the start-line bytes
	// between the first and the second SP, exactly as on the wire.
	RequestURI string
	// RequestURIString is sipgo's re-serialisation of the parsed
	// Request-URI. It may differ from RequestURI in form (parameter order
	// and spelling, an empty port, IPv6 brackets) but not in meaning.
	RequestURIString string
	// SIPVersion is the start-line version; sipgo does not check it.
	SIPVersion string
	// StatusCode is the response status code; 0 for requests.
	StatusCode int

	// HasCallID reports whether sipgo found a Call-ID.
	HasCallID bool
	// CallID is the Call-ID value with surrounding whitespace trimmed.
	// With several Call-ID fields sipgo keeps the last one.
	CallID string

	// HasCSeq reports whether sipgo found a CSeq.
	HasCSeq bool
	// CSeqNum is the CSeq sequence number. sipgo rejects numbers above
	// 2^31-1.
	CSeqNum uint32
	// CSeqMethod is the CSeq method. sipgo keeps any whitespace after the
	// first one; it is trimmed here.
	CSeqMethod string

	// ViaCount is the number of Via values (comma-separated values count
	// one each).
	ViaCount int
	// TopBranch is the branch parameter of the top Via value; empty when
	// absent.
	TopBranch string

	// HasFrom reports whether sipgo found a From. With several From fields
	// sipgo keeps the last one.
	HasFrom bool
	// FromTag is the From tag parameter; empty when absent.
	FromTag string
	// HasTo reports whether sipgo found a To; with several, the last one.
	HasTo bool
	// ToTag is the To tag parameter; empty when absent.
	ToTag string

	// BodyLen is the length of the body sipgo took: Content-Length bytes,
	// or the rest of the buffer when there is no Content-Length (sipgo
	// parses in datagram mode here). Bytes past Content-Length are ignored.
	BodyLen int
}

// Parser parses messages with one sipgo parser. Any goroutine may call its
// methods; sipgo's parser holds no per-message state.
type Parser struct {
	p *sip.Parser
}

// NewParser returns a Parser using sipgo's default header parsers.
func NewParser() *Parser {
	return &Parser{p: sip.NewParser()}
}

// Sipgo returns the underlying sipgo parser, for benchmarks that must measure
// sipgo alone.
func (p *Parser) Sipgo() *sip.Parser { return p.p }

// Parse parses msg as one whole message (datagram mode, as
// sip.Parser.ParseSIP does) and returns its fields. When sipgo rejects msg
// the error wraps [ErrRejected] and sipgo's error; when sipgo panics it wraps
// [ErrPanic].
func (p *Parser) Parse(msg []byte) (f Fields, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = Fields{}, fmt.Errorf("%w: %v", ErrPanic, r)
		}
	}()
	m, err := p.p.ParseSIP(msg)
	if err != nil {
		return Fields{}, fmt.Errorf("%w: %w", ErrRejected, err)
	}
	return extract(m, msg), nil
}

// extract copies the compared fields out of a message sipgo parsed from raw.
func extract(m sip.Message, raw []byte) Fields {
	var f Fields
	switch m := m.(type) {
	case *sip.Request:
		f.Request = true
		f.Method = string(m.Method)
		f.RequestURI = requestURIToken(raw)
		f.RequestURIString = m.Recipient.String()
		f.SIPVersion = m.SipVersion
	case *sip.Response:
		f.StatusCode = m.StatusCode
		f.SIPVersion = m.SipVersion
	}
	if h := m.CallID(); h != nil {
		f.HasCallID = true
		f.CallID = strings.TrimSpace(string(*h))
	}
	if h := m.CSeq(); h != nil {
		f.HasCSeq = true
		f.CSeqNum = h.SeqNo
		f.CSeqMethod = strings.TrimSpace(string(h.MethodName))
	}
	f.ViaCount = len(m.GetHeaders("via"))
	if h := m.Via(); h != nil {
		f.TopBranch, _ = param(h.Params, "branch")
	}
	if h := m.From(); h != nil {
		f.HasFrom = true
		f.FromTag, _ = param(h.Params, "tag")
	}
	if h := m.To(); h != nil {
		f.HasTo = true
		f.ToTag, _ = param(h.Params, "tag")
	}
	f.BodyLen = len(m.Body())
	return f
}

// param returns the value of parameter name. sipgo keeps parameter names and
// values as written, including whitespace around '=' (RFC 3261 allows LWS
// there) and case (parameter names are case-insensitive), so the lookup
// trims and folds case.
func param(params sip.HeaderParams, name string) (string, bool) {
	for _, kv := range params {
		if strings.EqualFold(strings.TrimSpace(kv.K), name) {
			return strings.TrimSpace(kv.V), true
		}
	}
	return "", false
}

// requestURIToken returns what sipgo takes as the Request-URI: the start line
// (up to the first CR) split at the first two SPs, middle part.
func requestURIToken(raw []byte) string {
	line := raw
	if i := bytes.IndexByte(line, '\r'); i >= 0 {
		line = line[:i]
	}
	_, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return ""
	}
	uri, _, ok := bytes.Cut(rest, []byte(" "))
	if !ok {
		return ""
	}
	return string(uri)
}
