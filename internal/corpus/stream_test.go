package corpus

import (
	"bytes"
	"fmt"
	"testing"
)

func TestStream(t *testing.T) {
	msgs := Messages()
	for _, n := range []int{0, 1, 4, 5, 7, StreamLen} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			stream, ends := Stream(n)
			if len(ends) != n {
				t.Fatalf("%d ends, want %d", len(ends), n)
			}
			if n == 0 {
				if len(stream) != 0 {
					t.Fatal("non-empty stream for n=0")
				}
				return
			}
			if ends[n-1] != len(stream) {
				t.Fatalf("last end %d, stream is %d bytes", ends[n-1], len(stream))
			}
			count := map[string]int{}
			prev := 0
			for i, end := range ends {
				one := stream[prev:end]
				found := false
				for _, m := range msgs {
					if bytes.Equal(one, m.Bytes) {
						count[m.Name]++
						found = true
					}
				}
				if !found {
					t.Fatalf("message %d (bytes %d..%d) is not a corpus message", i, prev, end)
				}
				prev = end
			}
			// Every run of len(msgs) messages holds each message once.
			full := n / len(msgs)
			for _, m := range msgs {
				if c := count[m.Name]; c < full || c > full+1 {
					t.Errorf("%s appears %d times in %d messages", m.Name, c, n)
				}
			}
		})
	}
}

func TestStreamDeterministicAndMixed(t *testing.T) {
	a, ea := Stream(StreamLen)
	b, eb := Stream(StreamLen)
	if !bytes.Equal(a, b) || fmt.Sprint(ea) != fmt.Sprint(eb) {
		t.Fatal("Stream is not deterministic")
	}
	// The order must not simply repeat the corpus order.
	var plain []byte
	for range StreamLen / len(Names()) {
		for _, m := range Messages() {
			plain = append(plain, m.Bytes...)
		}
	}
	if bytes.Equal(a, plain) {
		t.Error("Stream does not mix the corpus order")
	}
}

func TestCut(t *testing.T) {
	stream, _ := Stream(StreamLen)
	for _, tc := range []struct {
		seed uint64
		max  int
	}{{1, 1}, {2, 7}, {3, 100}, {4, 1500}, {5, 1 << 20}, {6, 0}, {7, -3}} {
		t.Run(fmt.Sprintf("seed%d/max%d", tc.seed, tc.max), func(t *testing.T) {
			chunks := Cut(stream, tc.seed, tc.max)
			maxChunk := max(tc.max, 1)
			var joined []byte
			for i, c := range chunks {
				if len(c) < 1 || len(c) > maxChunk {
					t.Fatalf("chunk %d has %d bytes, want 1..%d", i, len(c), maxChunk)
				}
				if cap(c) != len(c) {
					t.Fatalf("chunk %d has spare capacity %d", i, cap(c)-len(c))
				}
				joined = append(joined, c...)
			}
			if !bytes.Equal(joined, stream) {
				t.Fatal("joined chunks differ from the stream")
			}
			again := Cut(stream, tc.seed, tc.max)
			if len(again) != len(chunks) {
				t.Fatal("Cut is not deterministic")
			}
			for i := range again {
				if len(again[i]) != len(chunks[i]) {
					t.Fatal("Cut is not deterministic")
				}
			}
		})
	}
	a, b := Cut(stream, 1, 64), Cut(stream, 2, 64)
	same := len(a) == len(b)
	for i := 0; same && i < len(a); i++ {
		same = len(a[i]) == len(b[i])
	}
	if same {
		t.Error("different seeds gave the same cuts")
	}
	if c := Cut(nil, 1, 10); len(c) != 0 {
		t.Errorf("Cut(nil) gave %d chunks", len(c))
	}
}
