//go:build amd64 && !purego

package sipparse

import "golang.org/x/sys/cpu"

// useAVX2 selects the splitter that reads 32 bytes at a time; the other
// reads 16 with SSE2, which every amd64 processor has.
var useAVX2 = cpu.X86.HasAVX2

// splitLines is splitLinesGo in assembly. Offsets fit in 32 bits, as in
// every Span.
func splitLines(b []byte, pos, hmax int, out []lineRec) (next, n int, end bool) {
	if len(out) == 0 || pos < 1 || pos+2 > hmax || hmax > len(b) {
		return pos, 0, false
	}
	if useAVX2 {
		return splitLinesAVX2(&b[0], len(b), pos, hmax, &out[0], len(out))
	}
	return splitLinesSSE2(&b[0], len(b), pos, hmax, &out[0], len(out))
}

//go:noescape
func splitLinesSSE2(b *byte, blen, pos, hmax int, out *lineRec, nout int) (next, n int, end bool)

//go:noescape
func splitLinesAVX2(b *byte, blen, pos, hmax int, out *lineRec, nout int) (next, n int, end bool)
