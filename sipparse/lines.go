package sipparse

import (
	"bytes"
	"slices"
)

// headers splits the header field lines from buf[pos:] to the empty line
// into m.lines, for fields to identify and parse. It returns the offset just
// past that line and how many LFs it passed. It reports false when the
// header section cannot be split.
//
// splitLines takes the common lines; a line it stops at goes to headerLine.
// At most MaxHeaders+1 lines are recorded: fields refuses the one past the
// limit, and the lines after it are only checked.
func (m *Message) headers(buf []byte, pos, hmax int, lim *Limits) (int, int, bool) {
	b := buf[:hmax]
	lines := 0
	keep := lim.MaxHeaders + 1
	for {
		if room := min(cap(m.lines), keep) - len(m.lines); room > 0 {
			ls := m.lines
			next, n, end := splitLines(buf, pos, hmax, ls[len(ls):len(ls)+room])
			m.lines = ls[:len(ls)+n]
			pos, lines = next, lines+n
			if end {
				return pos, lines + 1, true
			}
		} else if len(m.lines) < keep {
			m.lines = slices.Grow(m.lines, 1)
			continue
		}
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
