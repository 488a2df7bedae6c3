//go:build amd64 && !purego

package sipparse

import "golang.org/x/sys/cpu"

func init() {
	splitters["sse2"] = func(b []byte, pos, hmax int, out []lineRec) (int, int, bool) {
		if len(out) == 0 || pos < 1 || pos+2 > hmax || hmax > len(b) {
			return pos, 0, false
		}
		return splitLinesSSE2(&b[0], len(b), pos, hmax, &out[0], len(out))
	}
	if cpu.X86.HasAVX2 {
		splitters["avx2"] = func(b []byte, pos, hmax int, out []lineRec) (int, int, bool) {
			if len(out) == 0 || pos < 1 || pos+2 > hmax || hmax > len(b) {
				return pos, 0, false
			}
			return splitLinesAVX2(&b[0], len(b), pos, hmax, &out[0], len(out))
		}
	}
}
