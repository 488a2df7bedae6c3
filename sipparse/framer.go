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

	scanned int // start of the first header line not yet scanned; 0: none
	clen    int // Content-Length seen so far in the scanned lines, -1: none
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
		f.msgLen = 0
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
	hlen, err := f.header(buf, &lim)
	if err != nil {
		return 0, 0, err
	}
	clen := f.clen
	f.scanned, f.clen = 0, -1
	if hlen+clen > lim.MaxMessageBytes {
		if clen > lim.MaxSkipBytes {
			return 0, 0, f.fatal(ErrMessageTooLarge, hlen)
		}
		f.skip = clen
		f.err = FrameError{Err: ErrMessageTooLarge, Off: hlen, HeaderLen: hlen}
		return hlen, 0, &f.err
	}
	if len(buf) < hlen+clen {
		f.msgLen = hlen + clen
		return 0, 0, ErrNeedMore
	}
	return hlen + clen, FrameMessage, nil
}

// header scans the header section line by line from where the last call
// stopped, noting Content-Length, and returns its length (empty line
// included) once it has it all. One vector IndexByte per line finds the
// lines; the start line must look like SIP and the section must fit the
// limit before more of it is waited for.
func (f *Framer) header(buf []byte, lim *Limits) (int, error) {
	pos := f.scanned
	if pos == 0 {
		nl := bytes.IndexByte(buf, '\n')
		if nl < 0 {
			if len(buf) > lim.MaxHeaderBytes {
				return 0, f.fatal(ErrHeaderTooLarge, lim.MaxHeaderBytes)
			}
			return 0, ErrNeedMore
		}
		if !looksSIP(buf[:nl]) {
			return 0, f.fatal(ErrNotSIP, 0)
		}
		pos, f.clen = nl+1, -1
	}
	for {
		if pos > lim.MaxHeaderBytes {
			return 0, f.fatal(ErrHeaderTooLarge, lim.MaxHeaderBytes)
		}
		k := bytes.IndexByte(buf[pos:], '\n')
		if k < 0 {
			f.scanned = pos
			if len(buf) > lim.MaxHeaderBytes {
				return 0, f.fatal(ErrHeaderTooLarge, lim.MaxHeaderBytes)
			}
			return 0, ErrNeedMore
		}
		nl := pos + k
		if k == 1 && buf[pos] == '\r' { // the empty line
			if nl+1 > lim.MaxHeaderBytes {
				return 0, f.fatal(ErrHeaderTooLarge, lim.MaxHeaderBytes)
			}
			if f.clen < 0 {
				return 0, f.fatal(ErrNoContentLength, 0)
			}
			return nl + 1, nil
		}
		if c := buf[pos] | 0x20; (c == 'l' && nameEnds(buf, pos+1, nl)) || (c == 'c' && nameEnds(buf, pos+14, nl)) {
			// A Content-Length value may go on over folded lines: wait
			// until the line after it has begun.
			end := nl
			for {
				if end+1 >= len(buf) {
					return 0, f.needMore(pos, buf, lim)
				}
				if c := buf[end+1]; c != ' ' && c != '\t' {
					break
				}
				k := bytes.IndexByte(buf[end+1:], '\n')
				if k < 0 {
					return 0, f.needMore(pos, buf, lim)
				}
				end += 1 + k
			}
			if off, err := f.contentLength(buf, pos, end); err != nil {
				return 0, f.fatal(err, off)
			}
			nl = end
		}
		pos = nl + 1
	}
}

// nameEnds reports whether a header name can end at buf[i], before the LF
// at nl: "l" and "Content-Length" (14 bytes) are followed by white space or
// ':', so Call-ID, CSeq, Contact and Content-Type lines need no lookup.
func nameEnds(buf []byte, i, nl int) bool {
	if i >= nl {
		return false
	}
	c := buf[i]
	return c == ':' || c == ' ' || c == '\t'
}

// needMore waits for the rest of a Content-Length line that started at pos,
// within the header limit.
func (f *Framer) needMore(pos int, buf []byte, lim *Limits) error {
	if len(buf) > lim.MaxHeaderBytes {
		return f.fatal(ErrHeaderTooLarge, lim.MaxHeaderBytes)
	}
	f.scanned = pos
	return ErrNeedMore
}

// contentLength notes the value of buf[pos:end] when it is a Content-Length
// header line.
func (f *Framer) contentLength(buf []byte, pos, end int) (int, error) {
	colon := bytes.IndexByte(buf[pos:end], ':')
	if colon <= 0 {
		return 0, nil
	}
	ne := pos + colon
	for ne > pos && (buf[ne-1] == ' ' || buf[ne-1] == '\t') {
		ne--
	}
	if LookupHeader(buf[pos:ne]) != HdrContentLength {
		return 0, nil
	}
	vs := skipLWS(buf, pos+colon+1, end)
	n, ok := parseUint(buf, vs, trimLWSRight(buf, vs, end), 1<<31-1)
	if !ok {
		return vs, ErrBadContentLength
	}
	if f.clen >= 0 && f.clen != int(n) {
		return vs, ErrContentLengthConflict
	}
	f.clen = int(n)
	return 0, nil
}

// Reset forgets any partial frame, for a Framer reused on a new stream.
func (f *Framer) Reset() { *f = Framer{Limits: f.Limits} }

func (f *Framer) fatal(err error, off int) error {
	f.scanned, f.msgLen, f.skip, f.clen = 0, 0, 0, -1
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
