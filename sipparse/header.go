package sipparse

// HeaderID identifies a header field known to the parser. Compact forms map to
// the same ID as their long form (RFC 3261 §7.3.3 and the IANA SIP header
// field registry).
type HeaderID uint8

// Known header fields.
const (
	HdrOther HeaderID = iota // not known to the parser
	HdrVia
	HdrFrom
	HdrTo
	HdrCallID
	HdrCSeq
	HdrMaxForwards
	HdrContentLength
	HdrContentType
	HdrContact
	HdrRoute
	HdrRecordRoute
	HdrExpires
	HdrAcceptContact      // a
	HdrReferredBy         // b
	HdrRequestDisposition // d
	HdrContentEncoding    // e
	HdrRejectContact      // j
	HdrSupported          // k
	HdrIdentityInfo       // n
	HdrEvent              // o
	HdrReferTo            // r
	HdrSubject            // s
	HdrAllowEvents        // u
	HdrSessionExpires     // x
	HdrIdentity           // y
	HdrRequire
	HdrProxyRequire
	HdrAllow
	HdrPath
	numHeaderIDs
)

var headerNames = [numHeaderIDs]string{
	HdrOther:              "",
	HdrVia:                "Via",
	HdrFrom:               "From",
	HdrTo:                 "To",
	HdrCallID:             "Call-ID",
	HdrCSeq:               "CSeq",
	HdrMaxForwards:        "Max-Forwards",
	HdrContentLength:      "Content-Length",
	HdrContentType:        "Content-Type",
	HdrContact:            "Contact",
	HdrRoute:              "Route",
	HdrRecordRoute:        "Record-Route",
	HdrExpires:            "Expires",
	HdrAcceptContact:      "Accept-Contact",
	HdrReferredBy:         "Referred-By",
	HdrRequestDisposition: "Request-Disposition",
	HdrContentEncoding:    "Content-Encoding",
	HdrRejectContact:      "Reject-Contact",
	HdrSupported:          "Supported",
	HdrIdentityInfo:       "Identity-Info",
	HdrEvent:              "Event",
	HdrReferTo:            "Refer-To",
	HdrSubject:            "Subject",
	HdrAllowEvents:        "Allow-Events",
	HdrSessionExpires:     "Session-Expires",
	HdrIdentity:           "Identity",
	HdrRequire:            "Require",
	HdrProxyRequire:       "Proxy-Require",
	HdrAllow:              "Allow",
	HdrPath:               "Path",
}

// String returns the canonical long name of the header field, or "" for
// HdrOther.
func (h HeaderID) String() string {
	if h < numHeaderIDs {
		return headerNames[h]
	}
	return ""
}

// compact maps the lower-case compact form letter to its header field.
var compact = [256]HeaderID{
	'a': HdrAcceptContact, 'b': HdrReferredBy, 'c': HdrContentType,
	'd': HdrRequestDisposition, 'e': HdrContentEncoding, 'f': HdrFrom,
	'i': HdrCallID, 'j': HdrRejectContact, 'k': HdrSupported,
	'l': HdrContentLength, 'm': HdrContact, 'n': HdrIdentityInfo,
	'o': HdrEvent, 'r': HdrReferTo, 's': HdrSubject, 't': HdrTo,
	'u': HdrAllowEvents, 'v': HdrVia, 'x': HdrSessionExpires,
	'y': HdrIdentity,
	'A': HdrAcceptContact, 'B': HdrReferredBy, 'C': HdrContentType,
	'D': HdrRequestDisposition, 'E': HdrContentEncoding, 'F': HdrFrom,
	'I': HdrCallID, 'J': HdrRejectContact, 'K': HdrSupported,
	'L': HdrContentLength, 'M': HdrContact, 'N': HdrIdentityInfo,
	'O': HdrEvent, 'R': HdrReferTo, 'S': HdrSubject, 'T': HdrTo,
	'U': HdrAllowEvents, 'V': HdrVia, 'X': HdrSessionExpires,
	'Y': HdrIdentity,
}

// byLenFirst maps (length, first letter) of a long name to the one or two
// known header fields with that shape, so a lookup compares at most twice.
// split_amd64.s reads it, nameWords, nameMasks and compact by their shapes
// as declared here; TestSplitLines fails if they change without it.
var byLenFirst = func() (t [24][26][2]HeaderID) {
	for id := HdrVia; id < numHeaderIDs; id++ {
		n := headerNames[id]
		c := lower(n[0]) - 'a'
		if t[len(n)][c][0] == HdrOther {
			t[len(n)][c][0] = id
		} else if t[len(n)][c][1] == HdrOther {
			t[len(n)][c][1] = id
		} else {
			panic("sipparse: three header names of one shape")
		}
	}
	return t
}()

var lowerNames = func() (t [numHeaderIDs]string) {
	for id := range t {
		b := []byte(headerNames[id])
		for i := range b {
			b[i] = lower(b[i])
		}
		t[id] = string(b)
	}
	return t
}()

// nameWords holds each long name in lower case as little-endian words, the
// form lookupShort (and the splitter in split_amd64.s) compares against;
// rows past the last ID stay zero.
var nameWords = func() (t [32][3]uint64) {
	for id := range numHeaderIDs {
		n := lowerNames[id]
		for i := 0; i < len(n); i++ {
			t[id][i/8] |= uint64(n[i]) << (8 * (i % 8))
		}
	}
	return t
}()

// nameMasks[n] keeps the first n bytes of two little-endian words.
var nameMasks = func() (t [17][2]uint64) {
	for n := range t {
		for i := 0; i < n; i++ {
			t[n][i/8] |= 0xff << (8 * (i % 8))
		}
	}
	return t
}()

// LookupHeader returns the ID of the header field named name, long or compact
// form, ignoring case; HdrOther when the parser does not know it.
func LookupHeader(name []byte) HeaderID {
	if len(name) == 1 {
		return compact[name[0]]
	}
	if len(name) >= len(byLenFirst) || len(name) == 0 {
		return HdrOther
	}
	c := name[0] | 0x20
	if c < 'a' || c > 'z' {
		return HdrOther
	}
	cand := &byLenFirst[len(name)][c-'a']
	if id := cand[0]; id != HdrOther && equalFold(name, lowerNames[id]) {
		return id
	}
	if id := cand[1]; id != HdrOther && equalFold(name, lowerNames[id]) {
		return id
	}
	return HdrOther
}

// Header is one header field line (with its folded continuation lines).
type Header struct {
	ID    HeaderID
	Name  Span // the name as written
	Value Span // the value without surrounding white space; may hold line folds
}

// Method identifies a request method. Methods the parser does not know are
// MethodUnknown; their name is in [Message.MethodName].
type Method uint8

// Request methods of RFC 3261 and its extensions.
const (
	MethodUnknown Method = iota
	MethodInvite
	MethodAck
	MethodBye
	MethodCancel
	MethodOptions
	MethodRegister
	MethodPrack
	MethodSubscribe
	MethodNotify
	MethodPublish
	MethodInfo
	MethodRefer
	MethodMessage
	MethodUpdate
	numMethods
)

var methodNames = [numMethods]string{
	"", "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK",
	"SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE",
}

// String returns the method name, or "" for MethodUnknown.
func (m Method) String() string {
	if m < numMethods {
		return methodNames[m]
	}
	return ""
}

// LookupMethod returns the Method named b (method names are case-sensitive,
// RFC 3261 §7.1), or MethodUnknown.
func LookupMethod(b []byte) Method {
	switch len(b) {
	case 3:
		if string(b) == "ACK" {
			return MethodAck
		}
		if string(b) == "BYE" {
			return MethodBye
		}
	case 4:
		if string(b) == "INFO" {
			return MethodInfo
		}
	case 5:
		if string(b) == "PRACK" {
			return MethodPrack
		}
		if string(b) == "REFER" {
			return MethodRefer
		}
	case 6:
		switch string(b) {
		case "INVITE":
			return MethodInvite
		case "CANCEL":
			return MethodCancel
		case "NOTIFY":
			return MethodNotify
		case "UPDATE":
			return MethodUpdate
		}
	case 7:
		switch string(b) {
		case "OPTIONS":
			return MethodOptions
		case "PUBLISH":
			return MethodPublish
		case "MESSAGE":
			return MethodMessage
		}
	case 8:
		if string(b) == "REGISTER" {
			return MethodRegister
		}
	case 9:
		if string(b) == "SUBSCRIBE" {
			return MethodSubscribe
		}
	}
	return MethodUnknown
}

// lookupShort is LookupHeader for a name of n bytes, 1 to 15, that starts
// with c and is the low n bytes of w0 then w1 (little-endian words); no
// white space or control octet is in the name. OR-ing 0x20 lower-cases
// letters and changes no other byte that a known name holds (the name is a
// token, so no CR becomes '-').
func lookupShort(w0, w1 uint64, n int, c byte) HeaderID {
	c |= 0x20
	if n == 1 {
		return compact[c]
	}
	if c < 'a' || c > 'z' {
		return HdrOther
	}
	const lc = 0x2020202020202020
	mk := &nameMasks[n&15]
	x0 := (w0 | lc) & mk[0]
	x1 := (w1 | lc) & mk[1]
	cand := &byLenFirst[n&15][(c-'a')%26]
	if id := cand[0]; x0 == nameWords[id&31][0] && x1 == nameWords[id&31][1] {
		return id
	}
	if id := cand[1]; x0 == nameWords[id&31][0] && x1 == nameWords[id&31][1] {
		return id
	}
	return HdrOther
}
