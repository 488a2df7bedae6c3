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

// BenchmarkParse parses each corpus message with a reused Message; it is
// bench.BenchmarkParse's sipcm side without sipgo, small enough to run
// under callgrind.
func BenchmarkParse(b *testing.B) {
	for _, msg := range corpus.Messages() {
		b.Run(msg.Name, func(b *testing.B) {
			var m Message
			b.SetBytes(int64(len(msg.Bytes)))
			b.ReportAllocs()
			for b.Loop() {
				if err := m.Parse(msg.Bytes); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
