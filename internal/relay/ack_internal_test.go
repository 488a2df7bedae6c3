package relay

import (
	"fmt"
	"testing"
	"time"
)

// TestAckTable: an entry is taken once, by its branch only, until ackWait
// has passed; the table forgets its oldest entries past maxAwaitingACK and
// reuses them.
func TestAckTable(t *testing.T) {
	var tb ackTable
	branch := func(i int) []byte { return fmt.Appendf(nil, "z9hG4bK%d", i) }
	via := func(i int) []byte { return fmt.Appendf(nil, "SIP/2.0/TCP 127.0.0.1:%d;branch=z9hG4bKr.%x", 40000+i, i) }

	tb.add(branch(1), via(1), nil, 0)
	tb.add(branch(2), via(2), nil, time.Second)
	if e := tb.take([]byte("z9hG4bK3"), time.Second); e != nil {
		t.Errorf("took %q for another branch", e.branch)
	}
	if e := tb.take(branch(1), ackWait-1); e == nil || string(e.via) != string(via(1)) {
		t.Fatalf("take in time: %+v", e)
	}
	if e := tb.take(branch(1), ackWait-1); e != nil {
		t.Errorf("taken twice")
	}
	if e := tb.take(branch(2), time.Second+ackWait); e != nil {
		t.Errorf("taken after ackWait")
	}
	if len(tb.m) != 0 {
		t.Errorf("%d entries indexed", len(tb.m))
	}

	// Past the bound the oldest go; taken and expired entries are reused.
	now := 2 * ackWait
	for i := range maxAwaitingACK + 10 {
		tb.add(branch(100+i), via(100+i), nil, now)
	}
	if tb.n != maxAwaitingACK || len(tb.m) != maxAwaitingACK {
		t.Fatalf("%d entries, %d indexed, want %d", tb.n, len(tb.m), maxAwaitingACK)
	}
	if e := tb.take(branch(100+9), now); e != nil {
		t.Errorf("entry 9 not forgotten")
	}
	if e := tb.take(branch(100+10), now); e == nil {
		t.Errorf("entry 10 forgotten")
	}
	// Once every entry has expired, one add empties the FIFO into the
	// free list.
	tb.add(branch(1), via(1), nil, now+ackWait)
	if tb.n != 1 || len(tb.m) != 1 || tb.free == nil {
		t.Errorf("after expiry: %d entries, %d indexed", tb.n, len(tb.m))
	}
	b2, v2 := branch(2), via(2)
	if allocs := testing.AllocsPerRun(100, func() {
		tb.add(b2, v2, nil, now+2*ackWait)
		tb.take(b2, now+2*ackWait)
	}); allocs != 0 {
		t.Errorf("add and take allocate %v times", allocs)
	}
}
