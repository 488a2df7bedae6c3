package loadgen

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/sipcm/sipcm/sipparse"
)

func TestRequestParses(t *testing.T) {
	tests := []struct {
		host, transport, local string
		seq                    uint32
	}{
		{"127.0.0.1", "TCP", "127.0.0.1:40000", 1},
		{"[::1]", "TCP", "[::1]:40000", 4294967295 >> 1},
		{"example.com", "TLS", "10.0.0.1:5061", 0},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			r := newRequest(tt.host, tt.transport, tt.local, "tok")
			b := r.Append(nil, tt.seq)
			if len(b) > r.Len() {
				t.Errorf("len %d > Len %d", len(b), r.Len())
			}
			var f sipparse.Framer
			n, kind, err := f.Next(b)
			if err != nil || kind != sipparse.FrameMessage || n != len(b) {
				t.Fatalf("Framer.Next = %d, %v, %v; want %d, message", n, kind, err, len(b))
			}
			var m sipparse.Message
			if err := m.Parse(b); err != nil {
				t.Fatalf("Parse: %v\n%s", err, b)
			}
			seq := strconv.FormatUint(uint64(tt.seq), 10)
			if m.Method != sipparse.MethodOptions || m.CSeq.Num != tt.seq {
				t.Errorf("method %v cseq %d", m.Method, m.CSeq.Num)
			}
			if got, want := string(m.Bytes(m.CallID)), "tok."+seq+"@sipcm-bench"; got != want {
				t.Errorf("Call-ID %q, want %q", got, want)
			}
			if got, want := string(m.Bytes(m.Vias[0].Branch)), "z9hG4bKtok."+seq; got != want {
				t.Errorf("branch %q, want %q", got, want)
			}
		})
	}
}

func TestRequestAppendAllocs(t *testing.T) {
	r := newRequest("127.0.0.1", "TCP", "127.0.0.1:1", "tok")
	buf := make([]byte, 0, r.Len())
	seq := uint32(0)
	if n := testing.AllocsPerRun(1000, func() {
		seq++
		buf = r.Append(buf[:0], seq)
	}); n != 0 {
		t.Errorf("Append allocates %v times", n)
	}
}

// TestHandleAllocs shows the reader's path for one response (parse, match,
// record, free the slot) allocates nothing at steady state.
func TestHandleAllocs(t *testing.T) {
	g, err := New(Config{Addr: "127.0.0.1:1", Pipeline: 4})
	if err != nil {
		t.Fatal(err)
	}
	c := g.clients[0]
	c.lat = make([]int64, 0, latBatch)
	resp := []byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKx\r\n" +
		"From: <sip:a@b>;tag=1\r\nTo: <sip:b@c>;tag=2\r\nCall-ID: x\r\nCSeq: 6 OPTIONS\r\n" +
		"Content-Length: 0\r\n\r\n")
	const slot = 6 % 4
	<-c.free
	run := func() {
		c.slots[slot].seq.Store(6)
		c.slots[slot].sentAt.Store(1)
		c.handle(resp, 10)
		<-c.free
	}
	run()
	if n := testing.AllocsPerRun(1000, run); n != 0 {
		t.Errorf("handle allocates %v times", n)
	}
	if c.ok != 1002 || c.answered.Load() != 1002 {
		t.Errorf("ok %d answered %d, want 1002 (AllocsPerRun warms up once)", c.ok, c.answered.Load())
	}
}

func BenchmarkRequestAppend(b *testing.B) {
	r := newRequest("127.0.0.1", "TCP", "127.0.0.1:1", "tok")
	buf := make([]byte, 0, r.Len())
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = r.Append(buf[:0], uint32(i))
	}
}

// TestSeqWrap shows the CSeq numbers of a slot stay below 2**31 (RFC 3261
// §8.1.1.5) and keep naming the slot when they wrap, whatever the
// pipeline, and that a response to a number of the previous lap is late.
func TestSeqWrap(t *testing.T) {
	for _, p := range []uint32{1, 3, 7, 16, 1000, MaxPipeline} {
		g, err := New(Config{Addr: "127.0.0.1:1", Pipeline: int(p)})
		if err != nil {
			t.Fatal(err)
		}
		c := g.clients[0]
		for _, s := range []uint32{0, p / 2, p - 1} {
			// Two numbers before the last one of the lap.
			c.gen[s] = (maxSeq-s)/p - 2
			var seqs []uint32
			for range 4 {
				seq := c.nextSeq(s, p)
				if seq > maxSeq || seq%p != s {
					t.Fatalf("pipeline %d slot %d: CSeq %d", p, s, seq)
				}
				seqs = append(seqs, seq)
			}
			if seqs[1] <= seqs[0] || seqs[2] != p+s || seqs[3] != 2*p+s || maxSeq-seqs[1] >= p {
				t.Errorf("pipeline %d slot %d: CSeq %v across the wrap", p, s, seqs)
			}
		}
	}
	// A response to the last number of a lap, read after the slot wrapped.
	g, err := New(Config{Addr: "127.0.0.1:1", Pipeline: 4})
	if err != nil {
		t.Fatal(err)
	}
	c := g.clients[0]
	c.lat = make([]int64, 0, latBatch)
	const s = 3
	<-c.free
	c.gen[s] = (maxSeq-s)/4 - 1
	old := c.nextSeq(s, 4)
	cur := c.nextSeq(s, 4)
	c.slots[s].seq.Store(cur)
	c.slots[s].sentAt.Store(1)
	resp := func(seq uint32) []byte {
		return fmt.Appendf(nil, "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKx\r\n"+
			"From: <sip:a@b>;tag=1\r\nTo: <sip:b@c>;tag=2\r\nCall-ID: x\r\nCSeq: %d OPTIONS\r\n"+
			"Content-Length: 0\r\n\r\n", seq)
	}
	c.handle(resp(old), 10)
	if c.late != 1 || c.answered.Load() != 0 {
		t.Errorf("response to CSeq %d of the last lap: late %d answered %d", old, c.late, c.answered.Load())
	}
	c.handle(resp(cur), 10)
	if c.late != 1 || c.answered.Load() != 1 {
		t.Errorf("response to CSeq %d: late %d answered %d", cur, c.late, c.answered.Load())
	}
}
