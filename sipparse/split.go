package sipparse

import (
	"bytes"
	"encoding/binary"
)

// The common header line is split by splitLines, in assembly where there is
// one: a Go loop keeps too many values live to hold them in registers, and
// spills them on every line. A line is common when its name runs from the
// line start to the first ':', with no SP or HT right before it, and it ends
// with CRLF with no fold after it. splitLines stops at the first other line,
// which headerLine takes, and at the empty line.

// lineRec is one header line found by the splitter: the offsets of its name
// start and end, of its value start and end without surrounding white
// space, and its HeaderID, or noID when the splitter left that to fields.
type lineRec [5]uint32

// noID marks a lineRec whose name the splitter did not look up: one of 16
// bytes or more, or too near the end of the buffer to read 16 bytes.
const noID = 0xff

// splitLinesGo is the portable splitLines, and the one the assembly must
// agree with (TestSplitLines): from the line at b[pos:] it records common
// lines in out until out is full or a line is not common or not within
// hmax. It returns where it stopped, how many lines it recorded, and whether
// it stopped just past the empty line. A line never starts at 0 (the start
// line is before it); pos 0 records nothing.
func splitLinesGo(b []byte, pos, hmax int, out []lineRec) (next, n int, end bool) {
	if pos < 1 || hmax > len(b) {
		return pos, 0, false
	}
	for n < len(out) && pos+2 <= hmax {
		if b[pos] == '\r' && b[pos+1] == '\n' {
			return pos + 2, n, true
		}
		nl := bytes.IndexByte(b[pos:], '\n')
		if nl < 0 {
			break
		}
		nl += pos
		colon := bytes.IndexByte(b[pos:nl], ':')
		if colon >= 0 {
			colon += pos
		}
		if nl+1 >= hmax || b[nl-1] != '\r' || isSPHT(b[nl+1]) || colon <= pos || isSPHT(b[colon-1]) {
			break
		}
		vs, ve := colon+1, nl-1
		for vs < ve && isSPHT(b[vs]) {
			vs++
		}
		for ve > vs && isSPHT(b[ve-1]) {
			ve--
		}
		id := HeaderID(noID)
		if k := colon - pos; k == 1 {
			id = compact[b[pos]]
		} else if k < 16 && pos+16 <= len(b) {
			// lookupShort takes a CR for a '-', so a name holding one,
			// never a known one, is left to LookupHeader.
			if c := b[pos] | 0x20; c < 'a' || c > 'z' {
				id = HdrOther
			} else if bytes.IndexByte(b[pos:colon], '\r') < 0 {
				id = lookupShort(binary.LittleEndian.Uint64(b[pos:]), binary.LittleEndian.Uint64(b[pos+8:]), k, b[pos])
			}
		}
		out[n] = lineRec{uint32(pos), uint32(colon), uint32(vs), uint32(ve), uint32(id)}
		n++
		pos = nl + 1
	}
	return pos, n, false
}

func isSPHT(c byte) bool { return c == ' ' || c == '\t' }
