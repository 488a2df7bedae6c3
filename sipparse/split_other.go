//go:build !amd64 || purego

package sipparse

// splitLines is splitLinesGo where there is no assembly for it.
func splitLines(b []byte, pos, hmax int, out []lineRec) (next, n int, end bool) {
	return splitLinesGo(b, pos, hmax, out)
}
