package wheel

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

const ms = time.Millisecond

type item struct {
	id    int
	timer Entry[*item]
}

type recorder struct {
	w     *Wheel[*item]
	fired []int
	at    []time.Duration
	hook  func(it *item, now time.Duration)
}

func newRecorder(cfg Config, start time.Duration) *recorder {
	r := &recorder{}
	r.w = New(cfg, start, func(it *item, now time.Duration) {
		r.fired = append(r.fired, it.id)
		r.at = append(r.at, now)
		if r.hook != nil {
			r.hook(it, now)
		}
	})
	return r
}

func newItem(id int) *item {
	it := &item{id: id}
	it.timer.Value = it
	return it
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{Tick: time.Second, Slots: 3}, true},
		{Config{Tick: -1}, false},
		{Config{Slots: -1}, false},
		{Config{Slots: MaxSlots + 1}, false},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%+v: Validate() = %v, want ok=%v", tt.cfg, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: error %v does not wrap ErrConfig", tt.cfg, err)
		}
	}
}

func TestNewPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"bad config": func() { New(Config{Tick: -1}, 0, func(*item, time.Duration) {}) },
		"nil expire": func() { New[*item](Config{}, 0, nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestExpiryExact checks the tick at which an entry fires: the first Advance
// whose now reaches the deadline rounded up to a tick boundary.
func TestExpiryExact(t *testing.T) {
	tests := []struct {
		name     string
		start    time.Duration
		deadline time.Duration
		notYet   time.Duration // Advance to this must not fire
		fires    time.Duration // Advance to this must fire
	}{
		{"on boundary", 0, 300 * ms, 299 * ms, 300 * ms},
		{"between ticks", 0, 250 * ms, 299 * ms, 300 * ms},
		{"just after boundary", 0, 301 * ms, 399 * ms, 400 * ms},
		{"past deadline fires next tick", 1000 * ms, 500 * ms, 1099 * ms, 1100 * ms},
		{"deadline now fires next tick", 1000 * ms, 1000 * ms, 1099 * ms, 1100 * ms},
		{"start mid tick", 1050 * ms, 1120 * ms, 1199 * ms, 1200 * ms},
		{"one rotation", 0, 800 * ms, 799 * ms, 800 * ms},
		{"beyond rotation", 0, 2500 * ms, 2499 * ms, 2500 * ms},
		{"many rotations", 0, 100 * time.Second, 99999 * ms, 100 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, step := range []time.Duration{0, ms, 100 * ms, 700 * ms} {
				r := newRecorder(Config{Tick: 100 * ms, Slots: 8}, tt.start)
				it := newItem(1)
				r.w.Add(&it.timer, tt.deadline)
				// Walk the clock to notYet in steps (0 = one jump).
				now := tt.start
				for step > 0 && now+step < tt.notYet {
					now += step
					r.w.Advance(now)
				}
				r.w.Advance(tt.notYet)
				if len(r.fired) != 0 {
					t.Fatalf("step %v: fired at %v, before %v", step, r.at, tt.fires)
				}
				r.w.Advance(tt.fires)
				if len(r.fired) != 1 || r.at[0] != tt.fires {
					t.Fatalf("step %v: fired %v at %v, want once at %v", step, r.fired, r.at, tt.fires)
				}
				if r.w.Len() != 0 || it.timer.Scheduled() {
					t.Fatalf("step %v: still scheduled after expiry", step)
				}
			}
		})
	}
}

func TestOrderAndGap(t *testing.T) {
	deadlines := []time.Duration{95, 15, 35, 200, 5, 41, 1000, 40}
	tests := []struct {
		name    string
		step    time.Duration
		ordered bool
	}{
		{"tick steps", 10 * ms, true},
		{"within rotation", 35 * ms, true},
		{"one jump", 205 * ms, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder(Config{Tick: 10 * ms, Slots: 4}, 0)
			items := make([]*item, len(deadlines))
			for i, d := range deadlines {
				items[i] = newItem(i)
				r.w.Add(&items[i].timer, d*ms)
			}
			for now := tt.step; now < 205*ms; now += tt.step {
				r.w.Advance(now)
			}
			r.w.Advance(205 * ms)
			got := r.fired
			want := []int{4, 1, 2, 7, 5, 0, 3} // by deadline
			if !tt.ordered {
				// After a jump longer than one rotation, entries
				// fire in slot order: check the set only.
				got = slices.Sorted(slices.Values(got))
				want = []int{0, 1, 2, 3, 4, 5, 7}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("fired %v, want %v", r.fired, want)
			}
			if r.w.Len() != 1 {
				t.Fatalf("Len = %d, want 1", r.w.Len())
			}
			r.w.Advance(999 * ms)
			if len(r.fired) != 7 {
				t.Fatalf("fired early: %v", r.fired)
			}
			r.w.Advance(time.Second)
			if len(r.fired) != 8 || r.fired[7] != 6 {
				t.Fatalf("fired %v", r.fired)
			}
		})
	}
}

func TestCancelReset(t *testing.T) {
	r := newRecorder(Config{Tick: 100 * ms, Slots: 16}, 0)
	a, b, c := newItem(1), newItem(2), newItem(3)
	r.w.Add(&a.timer, 500*ms)
	r.w.Add(&b.timer, 500*ms)
	r.w.Add(&c.timer, 500*ms)
	if !r.w.Cancel(&b.timer) || r.w.Cancel(&b.timer) {
		t.Fatal("Cancel reports wrong state")
	}
	if !r.w.Reset(&c.timer, 900*ms) {
		t.Fatal("Reset of scheduled entry reported false")
	}
	if d, ok := r.w.Deadline(&c.timer); !ok || d != 900*ms {
		t.Fatalf("Deadline = %v, %v", d, ok)
	}
	if _, ok := r.w.Deadline(&b.timer); ok {
		t.Fatal("Deadline of cancelled entry reported ok")
	}
	if r.w.Len() != 2 {
		t.Fatalf("Len = %d, want 2", r.w.Len())
	}
	r.w.Advance(500 * ms)
	if !slices.Equal(r.fired, []int{1}) {
		t.Fatalf("fired %v, want [1]", r.fired)
	}
	if r.w.Reset(&b.timer, 600*ms) {
		t.Fatal("Reset of unscheduled entry reported true")
	}
	r.w.Advance(time.Second)
	if !slices.Equal(r.fired, []int{1, 2, 3}) {
		t.Fatalf("fired %v, want [1 2 3]", r.fired)
	}
	if r.w.Cancel(&a.timer) {
		t.Fatal("Cancel of expired entry reported true")
	}
}

func TestCallbackReentry(t *testing.T) {
	tests := []struct {
		name string
		hook func(r *recorder, others []*item) func(*item, time.Duration)
		want []int
	}{
		{
			// Re-adding with a past deadline fires at the next tick, not
			// in a loop within the same Advance.
			name: "re-add past deadline",
			hook: func(r *recorder, _ []*item) func(*item, time.Duration) {
				n := 0
				return func(it *item, now time.Duration) {
					if n++; n < 3 {
						r.w.Add(&it.timer, 0)
					}
				}
			},
			want: []int{0, 1, 2, 0, 1},
		},
		{
			// Re-adding one rotation later lands in the slot being run.
			name: "re-add same slot next round",
			hook: func(r *recorder, _ []*item) func(*item, time.Duration) {
				n := 0
				return func(it *item, now time.Duration) {
					if n++; n == 1 {
						r.w.Add(&it.timer, now+400*ms)
					}
				}
			},
			want: []int{0, 1, 2, 0},
		},
		{
			name: "cancel sibling in same slot",
			hook: func(r *recorder, others []*item) func(*item, time.Duration) {
				return func(it *item, now time.Duration) {
					if it.id == 0 {
						r.w.Cancel(&others[1].timer)
					}
				}
			},
			want: []int{0, 2},
		},
		{
			name: "reset sibling later",
			hook: func(r *recorder, others []*item) func(*item, time.Duration) {
				return func(it *item, now time.Duration) {
					if it.id == 0 {
						r.w.Reset(&others[2].timer, now+100*ms)
					}
				}
			},
			want: []int{0, 1, 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder(Config{Tick: 100 * ms, Slots: 4}, 0)
			items := []*item{newItem(0), newItem(1), newItem(2)}
			r.hook = tt.hook(r, items)
			for _, it := range items {
				r.w.Add(&it.timer, 200*ms)
			}
			for now := time.Duration(0); now <= 2*time.Second; now += 100 * ms {
				r.w.Advance(now)
			}
			if !slices.Equal(r.fired, tt.want) {
				t.Fatalf("fired %v, want %v", r.fired, tt.want)
			}
			if r.w.Len() != 0 {
				t.Fatalf("Len = %d after all fired", r.w.Len())
			}
		})
	}
}

func TestBackwardsClock(t *testing.T) {
	r := newRecorder(Config{Tick: 100 * ms}, time.Second)
	it := newItem(1)
	r.w.Add(&it.timer, 1200*ms)
	r.w.Advance(500 * ms)
	if r.w.Now() != time.Second {
		t.Fatalf("Now moved backwards to %v", r.w.Now())
	}
	r.w.Advance(1200 * ms)
	if len(r.fired) != 1 {
		t.Fatalf("fired %v", r.fired)
	}
}

// TestRandomAgainstModel compares the wheel with a plain map of deadlines.
func TestRandomAgainstModel(t *testing.T) {
	const tick = 10 * ms
	rng := rand.New(rand.NewPCG(1, 2))
	items := make([]*item, 200)
	model := map[int]time.Duration{} // id -> deadline rounded to tick
	var now time.Duration
	var w *Wheel[*item]
	w = New(Config{Tick: tick, Slots: 16}, 0, func(it *item, at time.Duration) {
		d, ok := model[it.id]
		if !ok {
			t.Fatalf("item %d fired but not scheduled", it.id)
		}
		if d > w.Now() || d > at {
			t.Fatalf("item %d due %v fired early at tick %v (now %v)", it.id, d, w.Now(), at)
		}
		delete(model, it.id)
	})
	for i := range items {
		items[i] = newItem(i)
	}
	round := func(d time.Duration) time.Duration {
		r := (d + tick - 1) / tick * tick
		if r <= w.Now() {
			r = w.Now() + tick
		}
		return r
	}
	for step := 0; step < 20000; step++ {
		it := items[rng.IntN(len(items))]
		switch rng.IntN(4) {
		case 0, 1:
			d := now + time.Duration(rng.Int64N(int64(3*time.Second)))
			w.Add(&it.timer, d)
			model[it.id] = round(d)
		case 2:
			w.Cancel(&it.timer)
			delete(model, it.id)
		case 3:
			now += time.Duration(rng.Int64N(int64(300 * ms)))
			w.Advance(now)
			for id, d := range model {
				if d <= w.Now() {
					t.Fatalf("item %d due %v not fired by %v", id, d, w.Now())
				}
			}
		}
		if w.Len() != len(model) {
			t.Fatalf("Len = %d, model %d", w.Len(), len(model))
		}
	}
}

func TestAllocs(t *testing.T) {
	w := New(Config{Tick: ms, Slots: 64}, 0, func(it *item, now time.Duration) {})
	items := make([]*item, 100)
	for i := range items {
		items[i] = newItem(i)
	}
	var now time.Duration
	allocs := testing.AllocsPerRun(100, func() {
		for i, it := range items {
			w.Add(&it.timer, now+time.Duration(i)*ms)
		}
		for _, it := range items[:50] {
			w.Reset(&it.timer, now+200*ms)
		}
		for _, it := range items[50:60] {
			w.Cancel(&it.timer)
		}
		now += 150 * ms
		w.Advance(now)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run, want 0", allocs)
	}
}

func TestFakeClock(t *testing.T) {
	var c FakeClock
	var _ Clock = &c
	if c.Now() != 0 {
		t.Fatal("zero FakeClock not at 0")
	}
	if got := c.Add(time.Second); got != time.Second || c.Now() != time.Second {
		t.Fatalf("Add = %v, Now = %v", got, c.Now())
	}
	c.Set(5 * time.Second)
	if c.Now() != 5*time.Second {
		t.Fatalf("Now = %v after Set", c.Now())
	}
}

func TestRealClockMonotonic(t *testing.T) {
	c := NewClock()
	a := c.Now()
	b := c.Now()
	if a < 0 || b < a {
		t.Fatalf("clock went backwards: %v then %v", a, b)
	}
}

func BenchmarkWheel(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		items := make([]*item, n)
		for i := range items {
			items[i] = newItem(i)
		}
		setup := func() *Wheel[*item] {
			w := New(Config{}, 0, func(it *item, now time.Duration) {})
			for i, it := range items {
				w.Add(&it.timer, time.Duration(i%900)*time.Second)
			}
			return w
		}
		b.Run(fmt.Sprintf("Reset/%d/wheel", n), func(b *testing.B) {
			w := setup()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				w.Reset(&items[i%n].timer, time.Duration(i%900)*time.Second)
				i++
			}
		})
		b.Run(fmt.Sprintf("AddCancel/%d/wheel", n), func(b *testing.B) {
			w := setup()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				e := &items[i%n].timer
				w.Cancel(e)
				w.Add(e, 15*time.Minute)
				i++
			}
		})
		b.Run(fmt.Sprintf("Advance/%d/wheel", n), func(b *testing.B) {
			// Every expired entry re-arms: the population stays n.
			var w *Wheel[*item]
			w = New(Config{}, 0, func(it *item, now time.Duration) {
				w.Add(&it.timer, now+15*time.Minute)
			})
			for i, it := range items {
				w.Add(&it.timer, time.Duration(i%900)*time.Second)
			}
			b.ReportAllocs()
			var now time.Duration
			for b.Loop() {
				now += DefaultTick
				w.Advance(now)
			}
		})
	}
	b.Run("Touch/1/lazy", func(b *testing.B) {
		// The per-message cost with lazy timestamps: one store.
		var last time.Duration
		c := NewClock()
		b.ReportAllocs()
		for b.Loop() {
			last = c.Now()
		}
		_ = last
	})
}
