package sipparse

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// The header section is split line by line. The common line is taken in a
// few word-at-a-time steps: two words hold its name up to ':', and a short
// value ends in the next three; a longer one is left to bytes.IndexByte.

const (
	colons = ':' * lsb
	lfs    = '\n' * lsb
)

// headers parses the header field lines from buf[pos:] to the empty line.
// It returns the offset just past that line and how many LFs it passed. It
// reports false when the header section cannot be split.
//
// The loop takes the common line itself: a name of 1 to 15 bytes right
// before ':' (1 to 23 bytes when 24 are readable), and an LF after a CR,
// not followed by a fold, within hmax. Any other line goes to headerLine.
func (m *Message) headers(buf []byte, pos, hmax int, lim *Limits) (int, int, bool) {
	b := buf[:hmax]
	lines := 0
	for {
		if pos+2 > hmax {
			if hmax == lim.MaxHeaderBytes {
				m.fail(ErrHeaderTooLarge, pos, HdrOther)
			} else {
				m.fail(ErrBadHeader, len(buf), HdrOther) // no empty line
			}
			return pos, lines, false
		}
		if b[pos] == '\r' && b[pos+1] == '\n' {
			return pos + 2, lines + 1, true
		}
		var w0, w1 uint64
		var n, colon, nl, i int
		if uint(pos)+16 > uint(len(buf)) {
			goto slow
		}
		// The name: the first ':', white space or control octet in two
		// words must be a ':' after at least one byte.
		w0 = binary.LittleEndian.Uint64(buf[pos : pos+8])
		w1 = binary.LittleEndian.Uint64(buf[pos+8 : pos+16])
		if s := below(w0^colons, 1) | below(w0, 0x21); s != 0 {
			n = bits.TrailingZeros64(s) / 8
		} else if s = below(w1^colons, 1) | below(w1, 0x21); s != 0 {
			n = 8 + bits.TrailingZeros64(s)/8
		} else if uint(pos)+24 <= uint(len(buf)) {
			// A long name such as P-Asserted-Identity.
			w := binary.LittleEndian.Uint64(buf[pos+16 : pos+24])
			if s = below(w^colons, 1) | below(w, 0x21); s == 0 {
				goto slow
			}
			n = 16 + bits.TrailingZeros64(s)/8
		} else {
			goto slow
		}
		colon = pos + n
		if n == 0 || buf[colon] != ':' {
			goto slow
		}
		// The value ends at the first LF.
		i = colon + 1
		for k := 0; k < 3; k++ {
			if uint(i)+8 > uint(len(b)) {
				goto slow
			}
			if c := below(binary.LittleEndian.Uint64(b[i:i+8])^lfs, 1); c != 0 {
				nl = i + bits.TrailingZeros64(c)/8
				goto lf
			}
			i += 8
		}
		if k := bytes.IndexByte(b[i:], '\n'); k >= 0 {
			nl = i + k
			goto lf
		}
		goto slow
	lf:
		if uint(nl)+1 >= uint(len(b)) || b[nl-1] != '\r' || b[nl+1] == ' ' || b[nl+1] == '\t' {
			goto slow
		}
		lines++
		{
			var id HeaderID
			if n < 16 {
				id = lookupShort(w0, w1, n, buf[pos])
			} else {
				id = LookupHeader(buf[pos:colon])
			}
			if id == HdrOther {
				if j := pos + spanClass(buf[pos:colon], cToken); j != colon {
					m.fail(ErrBadHeader, j, HdrOther)
					pos = nl + 1
					continue
				}
			}
			m.addValue(buf, pos, colon, colon, nl-1, id, lim)
			pos = nl + 1
			continue
		}
	slow:
		next, k, ok := m.headerLine(buf, pos, hmax, lim)
		if !ok {
			return next, lines, false
		}
		pos, lines = next, lines+k
	}
}

// headerLine parses the header field line at buf[pos:], with its folded
// continuation lines, and returns where the next line starts and how many
// lines it took. It reports false when the header section cannot be split
// further.
func (m *Message) headerLine(buf []byte, pos, hmax int, lim *Limits) (next, lines int, ok bool) {
	i := pos
	for {
		k := bytes.IndexByte(buf[i:hmax], '\n')
		if k < 0 || i+k+1 >= hmax {
			if hmax < len(buf) {
				m.fail(ErrHeaderTooLarge, hmax, HdrOther)
			} else {
				m.fail(ErrBadHeader, len(buf), HdrOther)
			}
			return 0, 0, false
		}
		nl := i + k
		lines++
		if buf[nl-1] != '\r' {
			// An LF alone ends no line in SIP (see Parse on bare CR).
			m.fail(ErrBadHeader, nl, HdrOther)
			return nl + 1, lines, true
		}
		if c := buf[nl+1]; c == ' ' || c == '\t' {
			i = nl + 2 // folded line
			continue
		}
		m.addHeader(buf, pos, nl-1, lim)
		return nl + 1, lines, true
	}
}
