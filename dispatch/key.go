package dispatch

import (
	"errors"

	"github.com/sipcm/sipcm/sipparse"
)

// Lookup keys. Every key is built the same way for a configured URI and for
// a request, into a stack buffer on the routing path:
//
//	AOR:   user "@" host          user %HH-decoded, host in lower case
//	GRUU:  AOR key 0x00 gr        gr value in lower case (empty: temporary GRUU)
//	token: token                  in lower case
//	dialog: Call-ID 0x00 local tag
//
// User parts compare case-sensitively and other URI parts ignoring case
// (RFC 3261 §19.1.4).

// keyBuf is the size of the stack buffers keys are built in; longer keys
// spill to the heap.
const keyBuf = 256

var errNotSIP = errors.New("not a sip or sips URI")

// parseConfigURI parses a configured URI with sipparse, so that it is read
// exactly as a Request-URI is. It returns the URI and the buffer its spans
// refer to.
func parseConfigURI(s string) (sipparse.URI, []byte, error) {
	const head = "OPTIONS "
	const tail = " SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\n" +
		"To: <sip:a@h>\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return sipparse.URI{}, nil, errors.New("white space or control character in URI")
		}
	}
	buf := []byte(head + s + tail)
	var m sipparse.Message
	if err := m.Parse(buf); err != nil {
		return sipparse.URI{}, nil, err
	}
	if err := m.ParseURI(); err != nil {
		return sipparse.URI{}, nil, err
	}
	u := m.RequestURI
	if u.Scheme != sipparse.SchemeSIP && u.Scheme != sipparse.SchemeSIPS {
		return sipparse.URI{}, nil, errNotSIP
	}
	return u, buf, nil
}

// appendAORKey appends the AOR key of user and host.
func appendAORKey(dst, user, host []byte) []byte {
	dst = appendUnescaped(dst, user)
	dst = append(dst, '@')
	return appendLower(dst, host)
}

// appendGRUUKey appends the GRUU key of user, host and gr value.
func appendGRUUKey(dst, user, host, gr []byte) []byte {
	dst = appendAORKey(dst, user, host)
	dst = append(dst, 0)
	return appendLower(dst, gr)
}

// appendDialogKey appends the dialog key of a Call-ID and a local tag.
func appendDialogKey(dst, callID, tag []byte) []byte {
	dst = append(dst, callID...)
	dst = append(dst, 0)
	return append(dst, tag...)
}

func appendLower(dst, b []byte) []byte {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// appendUnescaped appends b with its %HH escapes decoded; a malformed
// escape is kept as is.
func appendUnescaped(dst, b []byte) []byte {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '%' && i+2 < len(b) {
			h, ok1 := unhex(b[i+1])
			l, ok2 := unhex(b[i+2])
			if ok1 && ok2 {
				dst = append(dst, h<<4|l)
				i += 2
				continue
			}
		}
		dst = append(dst, c)
	}
	return dst
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
