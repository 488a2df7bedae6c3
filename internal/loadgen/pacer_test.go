package loadgen

import (
	"testing"
	"time"
)

// simulate drives the pacers of a run the way the writers do, on a clock
// of its own: each sends what is due, at most batch per write and at most
// free (the pipeline, answered at once) per wake-up, then sleeps as told.
// It returns the requests sent by end and the wake-ups per connection.
func simulate(t *testing.T, rate float64, conns, batch int, end time.Duration) (sent uint64, wakes []int) {
	t.Helper()
	wakes = make([]int, conns)
	for id := range conns {
		p := newPacer(rate, conns, id)
		var now time.Duration
		for now < end {
			d := p.due(now)
			if d == 0 {
				w := p.wait(now)
				if w < p.quantum {
					t.Fatalf("conn %d: wait %v below the quantum %v", id, w, p.quantum)
				}
				now += w
				wakes[id]++
				continue
			}
			p.add(int(min(d, uint64(batch))))
		}
		sent += p.sent - p.skipped
		if p.skipped != 0 {
			t.Errorf("conn %d: %d requests skipped while keeping up", id, p.skipped)
		}
	}
	return sent, wakes
}

func TestPacerRate(t *testing.T) {
	tests := []struct {
		name  string
		rate  float64
		conns int
		end   time.Duration
	}{
		{"soak serve", 418_000, 10, 10 * time.Second},
		{"soak relay", 78_000, 10, 10 * time.Second},
		{"slow", 10, 1, 10 * time.Second},
		{"fractional", 1.5, 1, 10 * time.Second},
		{"more conns than rate", 3, 8, 10 * time.Second},
		{"many conns", 200_000, 1000, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent, wakes := simulate(t, tt.rate, tt.conns, maxBatch, tt.end)
			// Each connection's count is floor(elapsed × share) + 1, so
			// the total is within one request per connection of the rate,
			// less what came due since the last wake-up: a quantum's worth
			// at most.
			q := newPacer(tt.rate, tt.conns, 0).quantum
			want := tt.rate * tt.end.Seconds()
			lo, hi := want-tt.rate*q.Seconds()-float64(tt.conns), want+float64(tt.conns)
			if got := float64(sent); got < lo || got > hi {
				t.Errorf("sent %d in %v, want %.0f..%.0f", sent, tt.end, lo, hi)
			}
			for id, w := range wakes {
				// A wake-up per quantum at most, or one per request when
				// they are due further apart.
				limit := int(tt.end/q) + 1
				if w > limit {
					t.Errorf("conn %d woke %d times, want at most %d (quantum %v)", id, w, limit, q)
				}
			}
		})
	}
}

func TestPacerBatches(t *testing.T) {
	// 41 800 requests a second on one connection, a wake-up a millisecond:
	// about 42 requests are due at each.
	p := newPacer(41_800, 1, 0)
	if p.quantum != minQuantum {
		t.Fatalf("quantum %v, want %v", p.quantum, minQuantum)
	}
	if d := p.due(0); d != 1 {
		t.Fatalf("due at 0 = %d, want 1", d)
	}
	p.add(1)
	if w := p.wait(0); w != minQuantum {
		t.Errorf("wait = %v, want the quantum", w)
	}
	if d := p.due(time.Millisecond); d != 41 { // floor(41.8) + 1 - 1
		t.Errorf("due after 1 ms = %d, want 41", d)
	}
	// Sending fewer than due (the pipeline is full) leaves the rest due.
	p.add(16)
	if d := p.due(time.Millisecond); d != 25 {
		t.Errorf("due after sending 16 = %d, want 25", d)
	}
}

func TestPacerStagger(t *testing.T) {
	// Four connections at 4 requests a second: one request each a second,
	// the first ones 250 ms apart.
	for id := range 4 {
		p := newPacer(4, 4, id)
		first := time.Duration(id) * 250 * time.Millisecond
		if p.offset != first {
			t.Errorf("conn %d: offset %v, want %v", id, p.offset, first)
		}
		if first > 0 {
			if d := p.due(first - 1); d != 0 {
				t.Errorf("conn %d: %d due before its offset", id, d)
			}
		}
		if d := p.due(first); d != 1 {
			t.Errorf("conn %d: due at its offset = %d, want 1", id, d)
		}
		p.add(1)
		if w := p.wait(first); w != time.Second {
			t.Errorf("conn %d: wait = %v, want 1s", id, w)
		}
	}
}

func TestPacerDebt(t *testing.T) {
	// 1000 requests a second, nothing sent for 3 s: only a second's worth
	// is due, the rest is forgotten, and pacing goes on from there.
	p := newPacer(1000, 1, 0)
	if d := p.due(3 * time.Second); d != 1000 {
		t.Fatalf("due after 3 s = %d, want 1000 (a second's worth)", d)
	}
	if p.skipped != 2001 {
		t.Errorf("skipped %d, want 2001", p.skipped)
	}
	p.add(1000)
	if d := p.due(3 * time.Second); d != 0 {
		t.Errorf("due after catching up = %d, want 0", d)
	}
	if d := p.due(3*time.Second + 10*time.Millisecond); d != 10 {
		t.Errorf("due 10 ms later = %d, want 10", d)
	}
}

func TestPacerQuantum(t *testing.T) {
	tests := []struct {
		conns int
		want  time.Duration
	}{
		{1, minQuantum},
		{50, minQuantum},
		{100, 2 * time.Millisecond},
		{100_000, maxQuantum},
	}
	for _, tt := range tests {
		if got := newPacer(1e6, tt.conns, 0).quantum; got != tt.want {
			t.Errorf("%d conns: quantum %v, want %v", tt.conns, got, tt.want)
		}
	}
}

// TestPacerUnsent checks what a paced writer reports unsent when the run
// ends: everything due and not sent, including what was forgotten past
// the debt bound; nothing for a writer on time or whose budget ran out.
func TestPacerUnsent(t *testing.T) {
	const rate = 1000 // one connection: 1 request per ms, quantum 1 ms
	ms := time.Millisecond
	for _, tc := range []struct {
		name      string
		sendAt    []time.Duration // the writer sends all that is due at these times
		end       time.Duration
		budgetOut bool
		want      uint64
	}{
		{"nothing sent", nil, 500 * ms, false, 500},
		{"on time", []time.Duration{100 * ms, 200 * ms, 300 * ms, 400 * ms, 500 * ms}, 500*ms + ms/2, false, 0},
		{"fell behind", []time.Duration{100 * ms}, 500 * ms, false, 399},
		{"past the debt bound", nil, 3 * time.Second, false, 3000},
		{"budget ran out", []time.Duration{100 * ms}, 500 * ms, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPacer(rate, 1, 0)
			for _, at := range tc.sendAt {
				p.add(int(p.due(at)))
			}
			if got := p.unsent(tc.end, tc.budgetOut); got != tc.want {
				t.Errorf("unsent %d, want %d", got, tc.want)
			}
		})
	}
}
