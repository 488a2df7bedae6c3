package sipparse

import (
	"testing"

	"github.com/sipcm/sipcm/internal/corpus"
)

// BenchmarkFrame frames a 100-message stream delivered in random cuts.
func BenchmarkFrame(b *testing.B) {
	stream, _ := corpus.Stream(corpus.StreamLen)
	chunks := corpus.Cut(stream, 7, 1500)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	var f Framer
	for b.Loop() {
		start, have := 0, 0
		for _, c := range chunks {
			have += len(c)
			for {
				n, _, err := f.Next(stream[start : start+have])
				if err != nil {
					break
				}
				start += n
				have -= n
			}
		}
	}
}
