package sipparse

import (
	"testing"

	"github.com/sipcm/sipcm/internal/corpus"
)

func TestParseCorpusZeroAlloc(t *testing.T) {
	for _, msg := range corpus.Messages() {
		t.Run(msg.Name, func(t *testing.T) {
			var m Message
			if err := m.Parse(msg.Bytes); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if n := testing.AllocsPerRun(100, func() { _ = m.Parse(msg.Bytes) }); n != 0 {
				t.Errorf("Parse allocates %v times per message", n)
			}
			full := func() {
				if m.Parse(msg.Bytes) != nil || m.ParseAll() != nil {
					t.Fatal("parse failed")
				}
			}
			if n := testing.AllocsPerRun(100, full); n != 0 {
				t.Errorf("Parse+ParseAll allocates %v times per message", n)
			}
		})
	}
}

func TestParseErrorZeroAlloc(t *testing.T) {
	for _, name := range []string{"badinv01", "badvers", "insuf", "scalar02", "quotbal"} {
		b := readTorture(t, name)
		var m Message
		if m.Parse(b) == nil {
			t.Fatalf("%s: Parse succeeded", name)
		}
		if n := testing.AllocsPerRun(100, func() { _ = m.Parse(b) }); n != 0 {
			t.Errorf("%s: Parse error path allocates %v times", name, n)
		}
	}
}

func TestFrameZeroAlloc(t *testing.T) {
	stream, _ := corpus.Stream(corpus.StreamLen)
	chunks := corpus.Cut(stream, 1, 700)
	var f Framer
	frame := func() {
		// Deliver the chunks as a connection's buffer grows and drains.
		buf := stream[:0]
		start := 0
		for _, c := range chunks {
			buf = stream[start : len(buf)+start+len(c)]
			for {
				n, _, err := f.Next(buf)
				if err != nil {
					break
				}
				buf = buf[n:]
				start += n
			}
			buf = stream[start : start+len(buf)]
		}
	}
	if n := testing.AllocsPerRun(20, frame); n != 0 {
		t.Errorf("framing allocates %v times per stream", n)
	}
}

func TestAppendResponseZeroAlloc(t *testing.T) {
	msg, _ := corpus.Lookup(corpus.Options)
	var m Message
	if err := m.Parse(msg.Bytes); err != nil {
		t.Fatal(err)
	}
	m.SetSource([]byte("192.0.2.7"), 5099)
	dst := make([]byte, 0, 2048)
	tag := []byte("abc123")
	if n := testing.AllocsPerRun(100, func() { dst = AppendResponse(dst[:0], &m, 200, "OK", tag) }); n != 0 {
		t.Errorf("AppendResponse allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { dst = AppendForward(dst[:0], &m, []byte("192.0.2.7"), 5099) }); n != 0 {
		t.Errorf("AppendForward allocates %v times", n)
	}
}
