package sipparse

import (
	"errors"
	"strconv"
)

// Sentinel errors. A [ParseError] or [FrameError] wraps one of them, so
// errors.Is(err, ErrBadVia) works on what Parse and Next return.
var (
	// ErrNeedMore means the buffer does not yet hold a whole message or
	// keep-alive; it is returned as is, never wrapped.
	ErrNeedMore = errors.New("sipparse: need more data")

	ErrHeaderTooLarge        = errors.New("sipparse: header section too large")
	ErrMessageTooLarge       = errors.New("sipparse: message too large")
	ErrTooManyHeaders        = errors.New("sipparse: too many header fields")
	ErrTooManyValues         = errors.New("sipparse: too many header values")
	ErrNoContentLength       = errors.New("sipparse: missing Content-Length on a stream")
	ErrBadContentLength      = errors.New("sipparse: malformed Content-Length")
	ErrContentLengthConflict = errors.New("sipparse: conflicting Content-Length values")
	ErrShortBody             = errors.New("sipparse: body shorter than Content-Length")
	ErrNotSIP                = errors.New("sipparse: not a SIP start line")
	ErrBadStartLine          = errors.New("sipparse: malformed start line")
	ErrBadVersion            = errors.New("sipparse: unsupported SIP version")
	ErrBadMethod             = errors.New("sipparse: malformed method")
	ErrBadStatus             = errors.New("sipparse: malformed status code")
	ErrBadRequestURI         = errors.New("sipparse: malformed Request-URI")
	ErrBadHeader             = errors.New("sipparse: malformed header field")
	ErrBadURI                = errors.New("sipparse: malformed URI")
	ErrBadAddress            = errors.New("sipparse: malformed name-addr")
	ErrBadParam              = errors.New("sipparse: malformed parameter")
	ErrBadVia                = errors.New("sipparse: malformed Via")
	ErrBadCSeq               = errors.New("sipparse: malformed CSeq")
	ErrCSeqMismatch          = errors.New("sipparse: CSeq method does not match the request method")
	ErrBadMaxForwards        = errors.New("sipparse: malformed Max-Forwards")
	ErrBadCallID             = errors.New("sipparse: malformed Call-ID")
	ErrMissingHeader         = errors.New("sipparse: missing mandatory header field")
	ErrDuplicateHeader       = errors.New("sipparse: single-valued header field repeated")
)

// ParseError describes why [Message.Parse] refused a message. It is returned
// as a pointer into the Message, so producing it allocates nothing; it stays
// valid until the next Parse.
type ParseError struct {
	Err    error    // one of the sentinel errors
	Off    int      // offset in the message where the problem was found
	Header HeaderID // header field concerned, HdrOther when none or unknown
	// Status is the response code a server should answer a request with:
	// 400 in general, 505 for an unsupported version, 501 for an unknown
	// method with a mismatched CSeq, 513 for a message too large.
	Status int
}

// Error describes the error; it allocates, so call it off the hot path.
func (e *ParseError) Error() string {
	s := e.Err.Error() + " at offset " + strconv.Itoa(e.Off)
	if e.Header != HdrOther {
		s += " (" + e.Header.String() + ")"
	}
	return s
}

// Unwrap returns the sentinel error.
func (e *ParseError) Unwrap() error { return e.Err }

// FrameError describes why a [Framer] could not frame the next message.
type FrameError struct {
	Err error // one of the sentinel errors
	Off int   // offset in the buffer where the problem was found
	// Fatal means the framing of the stream is lost: close the connection.
	Fatal bool
	// HeaderLen is set for a refused oversize message whose header section
	// is intact (Err is ErrMessageTooLarge and Fatal is false): buf[:HeaderLen]
	// is the header section, which may be parsed to answer 513.
	HeaderLen int
}

// Error describes the error; it allocates, so call it off the hot path.
func (e *FrameError) Error() string {
	s := e.Err.Error() + " at offset " + strconv.Itoa(e.Off)
	if e.Fatal {
		s += " (stream cannot continue)"
	}
	return s
}

// Unwrap returns the sentinel error.
func (e *FrameError) Unwrap() error { return e.Err }
