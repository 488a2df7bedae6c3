package sipparse

import (
	"math/rand/v2"
	"testing"

	"github.com/sipcm/sipcm/internal/corpus"
)

// splitters lists the implementations of splitLines to check against
// splitLinesGo; split_amd64_test.go adds the assembly ones.
var splitters = map[string]func(b []byte, pos, hmax int, out []lineRec) (int, int, bool){
	"splitLines": splitLines,
}

// splitInputs returns header sections made to stop the splitter in every
// way: folds, bare CR and LF, names without a colon or with white space
// before it, empty values, lines cut by hmax or by the end of the buffer,
// and long lines across chunks.
func splitInputs() [][]byte {
	r := rand.New(rand.NewPCG(3, 4))
	pieces := []string{
		"Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n", "To:x\r\n", "a: b\r\n",
		"Long: " + string(make([]byte, 40)) + "\r\n", " folded\r\n", "\tfolded\r\n",
		"NoColon\r\n", "Sp : x\r\n", "Tab\t: x\r\n", ":empty\r\n", "E:\r\n",
		"V:  \t spaced \t \r\n", "bare\nLF: x\r\n", "bare\rCR: x\r\n", "\r\n",
		"x", ":", "\r", "\n", " ", "\t", "k: " + string(make([]byte, 70)) + "v\r\n",
		"CALL-id: c\r\n", "Content-Length: 0\r\n", "content-lengtx: 1\r\n", "RECORD-ROUTE: <r>\r\n",
		"Accept-Contact: a\r\n", "Request-Disposition: p\r\n", "1abc: d\r\n", "T: x\r\n", "\xc0: y\r\n",
		"Max\rForwards: 1\r\n", "Call\rID: x\r\n", "Vi\ra: x\r\n",
	}
	var in [][]byte
	for _, msg := range corpus.Messages() {
		in = append(in, msg.Bytes)
	}
	for range 3000 {
		b := []byte("S\r\n")
		for range r.IntN(12) {
			b = append(b, pieces[r.IntN(len(pieces))]...)
		}
		in = append(in, b)
	}
	return in
}

// TestSplitLines checks every splitter against splitLinesGo from every
// line start, with every hmax near the end and with little room in out.
// Each input ends before a page that may not be read (guarded).
func TestSplitLines(t *testing.T) {
	for name, split := range splitters {
		for _, in := range splitInputs() {
			b := guarded(t, in)
			for pos := 1; pos < len(b); pos++ {
				if b[pos-1] != '\n' {
					continue
				}
				for _, hmax := range []int{len(b), len(b) - 1, len(b) - 3, (pos + len(b)) / 2} {
					if hmax < pos {
						continue
					}
					for _, room := range []int{1, 2, 64} {
						want := make([]lineRec, room+1)
						got := make([]lineRec, room+1)
						want[room], got[room] = lineRec{7}, lineRec{7}
						wn, wk, we := splitLinesGo(b, pos, hmax, want[:room])
						gn, gk, ge := split(b, pos, hmax, got[:room])
						if gn != wn || gk != wk || ge != we {
							t.Fatalf("%s(%q, %d, %d, room %d) = %d, %d, %v; want %d, %d, %v",
								name, b, pos, hmax, room, gn, gk, ge, wn, wk, we)
						}
						for i := range want {
							if got[i] != want[i] {
								t.Fatalf("%s(%q, %d, %d): line %d = %v, want %v", name, b, pos, hmax, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestSplitLinesGo pins what the reference records and where it stops.
func TestSplitLinesGo(t *testing.T) {
	tests := []struct {
		in    string
		n     int
		next  int
		end   bool
		first lineRec
	}{
		{"S\r\nA: b\r\nC:d \r\n\r\nbody", 2, 17, true, lineRec{3, 4, 6, 7, uint32(HdrAcceptContact)}},
		{"S\r\nvIA: b\r\n\r\n0123456789", 1, 13, true, lineRec{3, 6, 8, 9, uint32(HdrVia)}},
		{"S\r\nMax-Forwards: 7\r\n\r\n", 1, 22, true, lineRec{3, 15, 17, 18, uint32(HdrMaxForwards)}},
		{"S\r\nMax-Forwards-Ext: 7\r\n\r\n", 1, 26, true, lineRec{3, 19, 21, 22, noID}},
		{"S\r\nMax-Forwarded: 7\r\n\r\n", 1, 23, true, lineRec{3, 16, 18, 19, uint32(HdrOther)}},
		{"S\r\nX-Any: 7\r\n\r\n01234567", 1, 15, true, lineRec{3, 8, 10, 11, uint32(HdrOther)}},
		{"S\r\nVia: 7\r\n\r\n", 1, 13, true, lineRec{3, 6, 8, 9, noID}}, // 16 bytes not readable
		{"S\r\nCall\rID: 7\r\n\r\n01234", 1, 17, true, lineRec{3, 10, 12, 13, noID}},
		{"S\r\nA: b\r\n folded\r\n\r\n", 0, 3, false, lineRec{}},
		{"S\r\nA: b\r\nB : c\r\n\r\n", 1, 9, false, lineRec{3, 4, 6, 7, uint32(HdrAcceptContact)}},
		{"S\r\nA: b\nB: c\r\n\r\n", 0, 3, false, lineRec{}},
		{"S\r\nNoColon\r\n\r\n", 0, 3, false, lineRec{}},
		{"S\r\n:v\r\n\r\n", 0, 3, false, lineRec{}},
		{"S\r\nE:\r\n\r\n", 1, 9, true, lineRec{3, 4, 5, 5, uint32(HdrContentEncoding)}},
		{"S\r\nA: b\r\n", 0, 3, false, lineRec{}}, // its LF is the last byte: no fold check
	}
	for _, tc := range tests {
		out := make([]lineRec, 8)
		next, n, end := splitLinesGo([]byte(tc.in), 3, len(tc.in), out)
		if n != tc.n || next != tc.next || end != tc.end || out[0] != tc.first {
			t.Errorf("%q: %d lines to %d (end %v), first %v; want %d to %d (%v), %v",
				tc.in, n, next, end, out[0], tc.n, tc.next, tc.end, tc.first)
		}
	}
}

// BenchmarkSplitLines splits the header section of each corpus message with
// each splitter.
func BenchmarkSplitLines(b *testing.B) {
	for _, msg := range corpus.Messages() {
		buf := msg.Bytes
		pos := 0
		for buf[pos] != '\n' {
			pos++
		}
		pos++
		for _, name := range []string{"splitLines", "sse2", "avx2", "go"} {
			split := splitters[name]
			if name == "go" {
				split = splitLinesGo
			}
			if split == nil {
				continue
			}
			b.Run(msg.Name+"/"+name, func(b *testing.B) {
				out := make([]lineRec, 128)
				b.SetBytes(int64(len(buf)))
				for b.Loop() {
					split(buf, pos, len(buf), out)
				}
			})
		}
	}
}

// FuzzSplitLines checks every splitter against splitLinesGo from every line
// start of the input, with hmax at the end and just before it. The input
// ends before a page that may not be read (guarded), so that a read past it
// by the assembly faults.
func FuzzSplitLines(f *testing.F) {
	for _, b := range splitInputs()[:64] {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		b := guarded(t, in)
		out := make([]lineRec, 8)
		want := make([]lineRec, 8)
		for pos := 1; pos < len(b); pos++ {
			if b[pos-1] != '\n' {
				continue
			}
			for _, hmax := range []int{len(b), len(b) - 1} {
				wn, wk, we := splitLinesGo(b, pos, hmax, want)
				for name, split := range splitters {
					gn, gk, ge := split(b, pos, hmax, out)
					if gn != wn || gk != wk || ge != we || string(lineBytes(out[:gk])) != string(lineBytes(want[:wk])) {
						t.Fatalf("%s(%q, %d, %d) = %d, %d, %v, %v; want %d, %d, %v, %v",
							name, b, pos, hmax, gn, gk, ge, out[:gk], wn, wk, we, want[:wk])
					}
				}
			}
		}
	})
}

// lineBytes flattens lines for comparison.
func lineBytes(ls []lineRec) []byte {
	var b []byte
	for _, l := range ls {
		for _, v := range l {
			b = append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
		}
	}
	return b
}
