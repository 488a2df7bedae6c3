package sipparse

import "bytes"

// FrameKind says what the bytes a [Framer] reports are.
type FrameKind uint8

// Frame kinds.
const (
	// FrameMessage: buf[:n] is one whole message.
	FrameMessage FrameKind = iota + 1
	// FramePing: buf[:n] was a double-CRLF keep-alive ping, to be answered
	// with a single CRLF (RFC 5626 §4.4.1, §5.4).
	FramePing
	// FrameSkip: buf[:n] is to be discarded: a CRLF before a start line
	// (RFC 3261 §7.5; a single CRLF is also the pong of RFC 5626) or body
	// bytes of a refused oversize message.
	FrameSkip
)

// Framer finds message boundaries on a stream transport. The zero value is
// ready to use with default limits; a connection keeps one Framer for its
// whole life, since it remembers how far it has scanned.
//
// Call Next with all buffered bytes; after consuming the n bytes it reports,
// call it again with the bytes that follow them. It must be called by one
// goroutine at a time.
type Framer struct {
	// Limits bounds the sizes it accepts; zero fields select defaults.
	Limits Limits

	scanned int // bytes already searched for the end of the header section
	msgLen  int // length of the message being framed, once known
	skip    int // body bytes still to skip after a refused oversize message
	err     FrameError
}

var crlfcrlf = []byte("\r\n\r\n")

// Next reports the length and kind of the next frame at the start of buf.
// It returns ErrNeedMore (with n 0) when buf does not yet hold a whole frame;
// buf must then grow by appending, keeping its start. Any other error is a
// *[FrameError]: if it is Fatal the stream must be closed; otherwise it
// refuses an oversize message whose header section is buf[:n] (to parse and
// answer with 513), and the following calls skip its body with FrameSkip.
//
// The Framer requires Content-Length (RFC 3261 §18.3), in long or compact
// form; a missing, malformed or conflicting one is fatal. Next does not
// allocate.
func (f *Framer) Next(buf []byte) (n int, kind FrameKind, err error) {
	if f.skip > 0 {
		n = min(f.skip, len(buf))
		if n == 0 {
			return 0, 0, ErrNeedMore
		}
		f.skip -= n
		return n, FrameSkip, nil
	}
	if f.msgLen > 0 {
		if len(buf) < f.msgLen {
			return 0, 0, ErrNeedMore
		}
		n = f.msgLen
		f.msgLen, f.scanned = 0, 0
		return n, FrameMessage, nil
	}
	if len(buf) == 0 {
		return 0, 0, ErrNeedMore
	}
	switch buf[0] {
	case '\r':
		// CRLFs before a start line: "\r\n\r\n" is a ping, a lone "\r\n" is
		// skipped (it is also a pong).
		if len(buf) < 4 {
			if bytes.HasPrefix(crlfcrlf, buf) {
				return 0, 0, ErrNeedMore
			}
		} else if bytes.Equal(buf[:4], crlfcrlf) {
			return 4, FramePing, nil
		}
		if len(buf) >= 2 && buf[1] == '\n' {
			return 2, FrameSkip, nil
		}
		return 0, 0, f.fatal(ErrNotSIP, 0)
	case '\n':
		return 1, FrameSkip, nil
	}
	lim := f.Limits.withDefaults()
	from := max(f.scanned-3, 0)
	end := bytes.Index(buf[from:], crlfcrlf)
	if end < 0 {
		f.scanned = len(buf)
		if len(buf) > lim.MaxHeaderBytes {
			return 0, 0, f.fatal(ErrHeaderTooLarge, lim.MaxHeaderBytes)
		}
		if nl := bytes.IndexByte(buf, '\n'); nl >= 0 && !looksSIP(buf[:nl]) {
			return 0, 0, f.fatal(ErrNotSIP, 0)
		}
		return 0, 0, ErrNeedMore
	}
	hlen := from + end + 4
	if hlen > lim.MaxHeaderBytes {
		return 0, 0, f.fatal(ErrHeaderTooLarge, lim.MaxHeaderBytes)
	}
	if nl := bytes.IndexByte(buf, '\n'); !looksSIP(buf[:nl]) {
		return 0, 0, f.fatal(ErrNotSIP, 0)
	}
	clen, off, cerr := contentLength(buf[:hlen])
	if cerr != nil {
		return 0, 0, f.fatal(cerr, off)
	}
	if hlen+clen > lim.MaxMessageBytes {
		if clen > lim.MaxSkipBytes {
			return 0, 0, f.fatal(ErrMessageTooLarge, hlen)
		}
		f.scanned = 0
		f.skip = clen
		f.err = FrameError{Err: ErrMessageTooLarge, Off: hlen, HeaderLen: hlen}
		return hlen, 0, &f.err
	}
	f.scanned = 0
	if len(buf) < hlen+clen {
		f.msgLen = hlen + clen
		return 0, 0, ErrNeedMore
	}
	return hlen + clen, FrameMessage, nil
}

// Reset forgets any partial frame, for a Framer reused on a new stream.
func (f *Framer) Reset() { *f = Framer{Limits: f.Limits} }

func (f *Framer) fatal(err error, off int) error {
	f.scanned, f.msgLen, f.skip = 0, 0, 0
	f.err = FrameError{Err: err, Off: off, Fatal: true}
	return &f.err
}

// looksSIP reports whether line (up to its LF) can be a SIP start line: a
// status line starts with "SIP/", a request line holds " SIP/" (maybe with
// a version Parse refuses with 505, or extra spaces it refuses with 400).
func looksSIP(line []byte) bool {
	if len(line) >= 4 && string(line[:4]) == "SIP/" {
		return true
	}
	return bytes.Contains(line, []byte(" SIP/")) || bytes.Contains(line, []byte(" sip/"))
}

// contentLength finds the Content-Length of the header section hdr (which
// ends with the empty line). It returns the offset of the problem on error.
func contentLength(hdr []byte) (clen, off int, err error) {
	clen = -1
	pos := bytes.IndexByte(hdr, '\n') + 1
	for pos < len(hdr)-2 {
		k := bytes.IndexByte(hdr[pos:], '\n')
		le := pos + k // index of '\n'
		c := hdr[pos]
		if c == 'l' || c == 'L' || c == 'c' || c == 'C' {
			colon := bytes.IndexByte(hdr[pos:le], ':')
			if colon > 0 {
				ne := pos + colon
				for ne > pos && (hdr[ne-1] == ' ' || hdr[ne-1] == '\t') {
					ne--
				}
				if LookupHeader(hdr[pos:ne]) == HdrContentLength {
					// the value may continue on folded lines
					ve := le
					for ve+1 < len(hdr) && (hdr[ve+1] == ' ' || hdr[ve+1] == '\t') {
						ve += 1 + bytes.IndexByte(hdr[ve+1:], '\n')
					}
					vs := skipLWS(hdr, pos+colon+1, ve)
					n, ok := parseUint(hdr, vs, trimLWSRight(hdr, vs, ve), 1<<31-1)
					if !ok {
						return 0, vs, ErrBadContentLength
					}
					if clen >= 0 && clen != int(n) {
						return 0, vs, ErrContentLengthConflict
					}
					clen = int(n)
					le = ve
				}
			}
		}
		pos = le + 1
	}
	if clen < 0 {
		return 0, 0, ErrNoContentLength
	}
	return clen, 0, nil
}
