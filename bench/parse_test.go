package bench

import (
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/sipcm/sipcm/internal/corpus"
	"github.com/sipcm/sipcm/sipparse"
)

// BenchmarkParse parses each corpus message with sipcm and with sipgo.
// Both reuse one parser; sipcm also reuses one Message, as a connection does.
func BenchmarkParse(b *testing.B) {
	for _, msg := range corpus.Messages() {
		buf := msg.Bytes
		b.Run(msg.Name, func(b *testing.B) {
			b.Run("sipcm", func(b *testing.B) {
				var m sipparse.Message
				if err := m.Parse(buf); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(buf)))
				b.ReportAllocs()
				for b.Loop() {
					if err := m.Parse(buf); err != nil {
						b.Fatal(err)
					}
				}
			})
			// Parse and every on-demand tier: the Request-URI, all Vias,
			// and the From/To/Contact/Route/Record-Route URIs, which is
			// the work sipgo does eagerly.
			b.Run("sipcm-all", func(b *testing.B) {
				var m sipparse.Message
				b.SetBytes(int64(len(buf)))
				b.ReportAllocs()
				for b.Loop() {
					if err := m.Parse(buf); err != nil {
						b.Fatal(err)
					}
					if err := m.ParseAll(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("sipgo", func(b *testing.B) {
				p := sip.NewParser()
				if _, err := p.ParseSIP(buf); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(buf)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := p.ParseSIP(buf); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
