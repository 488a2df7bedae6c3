package bench

import (
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sipcm/sipcm/engine"
)

// TestHostileNoReader pipelines OPTIONS on a connection that never reads
// its answers. Once the socket buffers are full the server's outbound
// buffer fills to the high-water mark (serve's default, 1 MiB) and the
// answers past it are refused and counted: the server's heap stays within
// a bound however long the client sends. Every request read is either
// answered or counted, and once the client reads again the connection
// works.
func TestHostileNoReader(t *testing.T) {
	const (
		batch   = 64              // requests per write
		maxTime = 3 * time.Second // bounds the load
		// The outbound buffer holds at most WriteHighWater plus one
		// gathered flush (32 KiB); the rest is the slack of the heap
		// measure.
		bound = engine.DefaultWriteHighWater + 3<<20
	)
	s := startHostile(t, engine.Config{}, false)
	c := dialSIP(t, s.addr, netip.Addr{})
	c.mustAnswer(t, "noreader", 0, 200)

	var b strings.Builder
	for i := range batch {
		b.WriteString(hostileOptions("noreader", i+1))
	}
	load := []byte(b.String())

	// Phase 1 sends until the first refusal; phase 2 sends twice as much
	// again: the heap must not grow between the two.
	base := heapInuse()
	var peak uint64
	var ms runtime.MemStats
	sent := 0
	start := time.Now()
	send := func(until func() bool) {
		for i := 0; !until() && time.Since(start) < maxTime; i++ {
			_ = c.nc.SetWriteDeadline(time.Now().Add(hostileWait))
			if _, err := c.nc.Write(load); err != nil {
				t.Fatalf("after %d requests: %v", sent, err)
			}
			sent += batch
			if i%64 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
		waitFor(t, "the server to read every request", func() bool { return s.Stats().MessagesIn == uint64(sent)+1 })
	}
	send(func() bool { return s.Stats().Backpressure > 0 })
	sent1, heap1 := sent, int64(heapInuse())-int64(base)
	send(func() bool { return sent >= 3*sent1 })
	elapsed := time.Since(start)
	heap2 := int64(heapInuse()) - int64(base)
	st := s.Stats()
	if st.Backpressure == 0 {
		t.Fatalf("%d requests in %v never reached the high-water mark: %+v", sent, elapsed, st)
	}
	if heap2 > bound || heap2-heap1 > 512<<10 || int64(peak)-int64(base) > 4*bound {
		t.Errorf("heap grew by %d bytes at the first refusal, %d after %d requests more (peak %d), bound %d",
			heap1, heap2, sent-sent1, int64(peak)-int64(base), bound)
	}

	// Read what was answered, then talk again.
	ci, _ := s.connInfo(c.nc)
	if ci.MessagesIn != ci.MessagesOut+st.Backpressure {
		t.Errorf("connection read %d requests, answered %d, refused %d: some were lost",
			ci.MessagesIn, ci.MessagesOut, st.Backpressure)
	}
	_ = c.nc.SetDeadline(time.Now().Add(hostileWait))
	for n := uint64(1); n < ci.MessagesOut; n++ { // the first was read
		if status, msg, err := c.read(); err != nil || status != 200 {
			t.Fatalf("answer %d of %d: %d %v %q", n, ci.MessagesOut, status, err, msg)
		}
	}
	c.mustAnswer(t, "noreader", sent+1, 200)
	t.Logf("client sent %d requests in %v without reading: %d answered (%d bytes), %d refused by backpressure; "+
		"server heap +%d KiB at the first refusal (after %d requests), +%d KiB at the end, +%d KiB peak "+
		"(high-water mark %d KiB); all answers read afterwards",
		sent, elapsed.Round(time.Millisecond), ci.MessagesOut-1, ci.BytesOut, st.Backpressure,
		heap1>>10, sent1, heap2>>10, (int64(peak)-int64(base))>>10, engine.DefaultWriteHighWater>>10)
}
