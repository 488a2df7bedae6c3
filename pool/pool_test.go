package pool

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestGrowThenRoundRobin(t *testing.T) {
	for _, lanes := range []uint32{1, 3} {
		m, d, _ := setup(t, Config{DefaultSize: 3})
		h := acquire(t, m, testKey)
		seen := map[uint64]int{}
		for i := 0; i < 3; i++ {
			c := mustGet(t, h, uint32(i)%lanes)
			if seen[c.id] != 0 {
				t.Fatalf("lanes %d: get %d reused conn %d below size", lanes, i, c.id)
			}
			seen[c.id]++
		}
		if n := d.dials.Load(); n != 3 {
			t.Fatalf("lanes %d: %d dials, want 3", lanes, n)
		}
		for i := 0; i < 30*int(lanes); i++ {
			seen[mustGet(t, h, uint32(i)%lanes).id]++
		}
		if n := d.dials.Load(); n != 3 {
			t.Fatalf("lanes %d: %d dials after round-robin, want 3", lanes, n)
		}
		for id, n := range seen {
			if want := 1 + 10*int(lanes); n != want {
				t.Errorf("lanes %d: conn %d got %d messages, want %d (%v)", lanes, id, n, want, seen)
			}
		}
	}
}

func TestDefaultSizes(t *testing.T) {
	m, _, _ := setup(t, Config{})
	h := acquire(t, m, testKey)
	if got := h.Pool().Size(); got != DefaultPoolSize {
		t.Fatalf("zero Config size %d, want %d", got, DefaultPoolSize)
	}
	if err := m.SetDefaultSize(2); err != nil {
		t.Fatal(err)
	}
	own := acquire(t, m, Key{Host: "b.example", Port: 5060, Transport: TCP})
	if err := own.Pool().SetSize(7); err != nil {
		t.Fatal(err)
	}
	if err := m.SetDefaultSize(4); err != nil {
		t.Fatal(err)
	}
	if got := h.Pool().Size(); got != 4 {
		t.Errorf("pool following default: size %d, want 4", got)
	}
	if got := own.Pool().Size(); got != 7 {
		t.Errorf("pool with own size: size %d, want 7", got)
	}
	if err := own.Pool().SetSize(0); err != nil {
		t.Fatal(err)
	}
	if got := own.Pool().Size(); got != 4 {
		t.Errorf("pool back to default: size %d, want 4", got)
	}
	for _, n := range []int{-2, MaxSize + 1} {
		if err := m.SetDefaultSize(n); !errors.Is(err, ErrSize) {
			t.Errorf("SetDefaultSize(%d) = %v, want ErrSize", n, err)
		}
		if err := h.Pool().SetSize(n); !errors.Is(err, ErrSize) {
			t.Errorf("SetSize(%d) = %v, want ErrSize", n, err)
		}
	}
	if err := m.SetDefaultSize(0); !errors.Is(err, ErrSize) {
		t.Errorf("SetDefaultSize(0) = %v, want ErrSize", err)
	}
}

func TestResize(t *testing.T) {
	m, d, clk := setup(t, Config{DefaultSize: 3})
	h := acquire(t, m, testKey)
	p := h.Pool()
	for i := 0; i < 3; i++ {
		mustGet(t, h, 0)
	}

	// Grow: the next two Gets open connections, then five-way round-robin.
	if err := p.SetSize(5); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if c := mustGet(t, h, 0); c.id != uint64(4+i) {
			t.Fatalf("after grow get %d: conn %d, want new conn %d", i, c.id, 4+i)
		}
	}
	seen := map[uint64]int{}
	for i := 0; i < 50; i++ {
		seen[mustGet(t, h, 0).id]++
	}
	if len(seen) != 5 || d.dials.Load() != 5 {
		t.Fatalf("after grow: %d conns used, %d dials, want 5 and 5", len(seen), d.dials.Load())
	}
	for id, n := range seen {
		if n != 10 {
			t.Errorf("conn %d: %d messages, want 10", id, n)
		}
	}

	// Shrink: conns 3,4,5 retire; conn 4 still has work in flight.
	conns := d.all()
	conns[3].inflight.Store(1)
	if err := p.SetSize(2); err != nil {
		t.Fatal(err)
	}
	seen = map[uint64]int{}
	for i := 0; i < 20; i++ {
		seen[mustGet(t, h, 0).id]++
	}
	if len(seen) != 2 || seen[1] != 10 || seen[2] != 10 {
		t.Fatalf("after shrink: %v, want conns 1 and 2 ten times each", seen)
	}
	if got := states(p); got[StateActive] != 2 || got[StateDraining] != 3 {
		t.Fatalf("after shrink: states %v", got)
	}
	m.Sweep(clk.Add(time.Second))
	for _, c := range conns[2:] {
		if c.closed() {
			t.Fatalf("conn %d closed at the first sweep after retiring", c.id)
		}
	}
	m.Sweep(clk.Add(time.Second))
	if !conns[2].closed() || !conns[4].closed() {
		t.Fatal("idle surplus conns not closed at the second sweep")
	}
	if conns[3].closed() {
		t.Fatal("surplus conn with in-flight work closed")
	}
	conns[3].inflight.Store(0)
	m.Sweep(clk.Add(time.Second))
	if !conns[3].closed() {
		t.Fatal("surplus conn not closed once its work was done")
	}
	if conns[0].closed() || conns[1].closed() {
		t.Fatal("kept conns closed")
	}
	if got := states(p); got[StateActive] != 2 || len(got) != 1 {
		t.Fatalf("after drain: states %v", got)
	}
}

func TestUnlimited(t *testing.T) {
	m, d, clk := setup(t, Config{DefaultSize: Unlimited})
	hs := []*Handle{acquire(t, m, testKey), acquire(t, m, testKey), acquire(t, m, testKey)}
	own := map[*Handle]*fakeConn{}
	for _, h := range hs {
		own[h] = mustGet(t, h, 0)
	}
	for i := 0; i < 10; i++ {
		for _, h := range hs {
			if c := mustGet(t, h, uint32(i)); c != own[h] {
				t.Fatalf("handle got conn %d, want its own %d", c.id, own[h].id)
			}
		}
	}
	if n := d.dials.Load(); n != 3 {
		t.Fatalf("%d dials for 3 handles, want 3", n)
	}
	if p := hs[0].Pool(); p.Size() != Unlimited || len(p.Info().Conns) != 3 {
		t.Fatalf("size %d, %d conns", p.Size(), len(p.Info().Conns))
	}

	// A broken own connection is redialed for its handle only.
	own[hs[0]].broken.Store(true)
	if c := mustGet(t, hs[0], 0); c == own[hs[0]] || d.dials.Load() != 4 {
		t.Fatalf("broken own conn not replaced (dials %d)", d.dials.Load())
	}

	// Release retires the handle's connection.
	c1 := own[hs[1]]
	hs[1].Release()
	if _, err := hs[1].Get(context.Background(), 0); !errors.Is(err, ErrReleased) {
		t.Fatalf("Get after Release: %v", err)
	}
	m.Sweep(clk.Add(time.Second))
	m.Sweep(clk.Add(time.Second))
	if !c1.closed() {
		t.Fatal("released handle's own conn not closed")
	}

	// Turning sharing on retires the handles' own connections.
	p := hs[0].Pool()
	if err := p.SetSize(1); err != nil {
		t.Fatal(err)
	}
	a, b := mustGet(t, hs[0], 0), mustGet(t, hs[2], 1)
	if a != b {
		t.Fatalf("size 1: handles got conns %d and %d", a.id, b.id)
	}
	m.Sweep(clk.Add(time.Second))
	m.Sweep(clk.Add(time.Second))
	for _, c := range d.all() {
		if c != a && !c.closed() {
			t.Errorf("own conn %d not closed after sharing was turned on", c.id)
		}
	}
	// And back off again: each handle dials its own.
	if err := p.SetSize(Unlimited); err != nil {
		t.Fatal(err)
	}
	if x, y := mustGet(t, hs[0], 0), mustGet(t, hs[2], 0); x == y || x == a || y == a {
		t.Fatal("unlimited again: handles share a connection")
	}
}

func TestBrokenReplaced(t *testing.T) {
	m, d, clk := setup(t, Config{DefaultSize: 2})
	h := acquire(t, m, testKey)
	p := h.Pool()
	a, b := mustGet(t, h, 0), mustGet(t, h, 0)
	a.broken.Store(true)
	// Round-robin lands on a's slot: it is redialed there.
	c := mustGet(t, h, 0)
	if c == a || c == b || c.id != 3 {
		t.Fatalf("got conn %d, want new conn 3", c.id)
	}
	if !a.closed() {
		t.Fatal("broken conn not closed when replaced")
	}
	// The late close of a must not remove its replacement.
	if p.Drop(a) {
		t.Fatal("Drop of a replaced conn reported a removal")
	}
	for i := 0; i < 4; i++ {
		mustGet(t, h, 0)
	}
	if n := d.dials.Load(); n != 3 {
		t.Fatalf("%d dials, want 3: late Drop wiped the replacement", n)
	}
	// Drop of a live conn empties its slot; the next Get refills it.
	if !p.Drop(b) {
		t.Fatal("Drop of a pooled conn reported nothing")
	}
	if got := states(p)[StateActive]; got != 1 {
		t.Fatalf("%d active after Drop, want 1", got)
	}
	if c := mustGet(t, h, 0); c.id != 4 {
		t.Fatalf("after Drop got conn %d, want new conn 4", c.id)
	}
	// Sweep empties broken slots even without Gets.
	d.all()[3].broken.Store(true)
	m.Sweep(clk.Add(time.Second))
	if got := states(p); got[StateBroken] != 0 || got[StateActive] != 1 {
		t.Fatalf("after sweep: states %v", got)
	}
}

// TestLateCloseRace races the report that an old connection closed (Drop)
// with the Get that replaces it: whatever the order, the replacement stays.
func TestLateCloseRace(t *testing.T) {
	m, d, _ := setup(t, Config{DefaultSize: 1})
	h := acquire(t, m, testKey)
	p := h.Pool()
	old := mustGet(t, h, 0)
	for i := 0; i < 200; i++ {
		old.broken.Store(true)
		var wg sync.WaitGroup
		var repl *fakeConn
		wg.Add(2)
		go func() {
			defer wg.Done()
			p.Drop(old)
		}()
		go func() {
			defer wg.Done()
			c, err := h.Get(context.Background(), 0)
			if err != nil {
				t.Error(err)
				return
			}
			repl = c.(*fakeConn)
		}()
		wg.Wait()
		if repl == nil {
			t.FailNow()
		}
		if repl == old {
			t.Fatal("Get returned the broken conn")
		}
		before := d.dials.Load()
		if c := mustGet(t, h, 0); c != repl || d.dials.Load() != before {
			t.Fatalf("round %d: replacement %d wiped out (got %d)", i, repl.id, c.id)
		}
		p.Drop(old) // a very late close
		if c := mustGet(t, h, 0); c != repl {
			t.Fatalf("round %d: late Drop wiped the replacement", i)
		}
		old = repl
	}
}

func TestOneDialPerSlot(t *testing.T) {
	for _, size := range []int{1, 3} {
		m, d, _ := setup(t, Config{DefaultSize: size})
		gate := make(chan struct{})
		started := make(chan struct{}, 64)
		d.set(func(d *fakeDialer) { d.gate, d.started = gate, started })
		h := acquire(t, m, testKey)
		const callers = 50
		var wg sync.WaitGroup
		got := make([]*fakeConn, callers)
		for i := 0; i < callers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := h.Get(context.Background(), uint32(i))
				if err != nil {
					t.Error(err)
					return
				}
				got[i] = c.(*fakeConn)
			}()
		}
		for i := 0; i < size; i++ {
			<-started
		}
		close(gate)
		wg.Wait()
		if n := d.dials.Load(); n != int32(size) {
			t.Errorf("size %d: %d dials, want %d", size, n, size)
		}
		ids := map[uint64]bool{}
		for _, c := range got {
			if c != nil {
				ids[c.id] = true
			}
		}
		if len(ids) > size {
			t.Errorf("size %d: callers got %d distinct conns", size, len(ids))
		}
		m.Close()
	}
}

func TestDialErrors(t *testing.T) {
	m, d, _ := setup(t, Config{DefaultSize: 1, OpenTimeout: 20 * time.Millisecond})
	h := acquire(t, m, testKey)

	d.set(func(d *fakeDialer) { d.fail = errFake })
	_, err := h.Get(context.Background(), 0)
	if !errors.Is(err, ErrDial) || !errors.Is(err, errFake) {
		t.Fatalf("refused dial: %v", err)
	}

	// A dial that never finishes is cut by the open timeout.
	d.set(func(d *fakeDialer) { d.fail, d.gate = nil, make(chan struct{}) })
	_, err = h.Get(context.Background(), 0)
	if !errors.Is(err, ErrOpenTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung dial: %v", err)
	}

	// The caller's own cancellation is not an open timeout.
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{}, 1)
	d.set(func(d *fakeDialer) { d.started = started })
	go func() { <-started; cancel() }()
	_, err = h.Get(ctx, 0)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrOpenTimeout) {
		t.Fatalf("cancelled dial: %v", err)
	}

	// The slot recovers once the destination does.
	d.set(func(d *fakeDialer) { d.gate, d.started = nil, nil })
	if c := mustGet(t, h, 0); c == nil {
		t.Fatal("no conn after recovery")
	}
}

// TestWaitersShareDialError: callers waiting for a slot's dial get its error.
func TestWaitersShareDialError(t *testing.T) {
	m, d, _ := setup(t, Config{DefaultSize: 1})
	gate := make(chan struct{})
	started := make(chan struct{}, 1)
	d.set(func(d *fakeDialer) { d.gate, d.started, d.fail = gate, started, errFake })
	h := acquire(t, m, testKey)
	errs := make(chan error, 10)
	go func() {
		_, err := h.Get(context.Background(), 0)
		errs <- err
	}()
	<-started
	d.set(func(d *fakeDialer) { d.started = nil })
	var wg sync.WaitGroup
	for i := 0; i < 9; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := h.Get(context.Background(), uint32(i))
			errs <- err
		}()
	}
	select {
	case err := <-errs:
		t.Fatalf("returned before the dial ended: %v", err)
	default:
	}
	close(gate)
	wg.Wait()
	for i := 0; i < 10; i++ {
		if err := <-errs; !errors.Is(err, errFake) {
			t.Errorf("caller error %v, want the dial's error", err)
		}
	}
	if n := d.maxAct.Load(); n != 1 {
		t.Errorf("%d dials ran at once on one slot", n)
	}
}

func TestAllocsGet(t *testing.T) {
	ctx := context.Background()
	for _, size := range []int{3, Unlimited} {
		m, _, _ := setup(t, Config{DefaultSize: size})
		h := acquire(t, m, testKey)
		for i := 0; i < 5; i++ {
			mustGet(t, h, 0)
		}
		var lane uint32
		n := testing.AllocsPerRun(1000, func() {
			lane++
			if _, err := h.Get(ctx, lane); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("size %d: Get allocates %v times", size, n)
		}
	}
}

func TestFastmod(t *testing.T) {
	as := []uint32{0, 1, 2, 3, 4, 5, 6, 7, 99, 1000, 1<<31 - 1, 1 << 31, 1<<32 - 2, 1<<32 - 1}
	for d := uint32(1); d <= MaxSize; d++ {
		m := modMagic(d)
		for _, a := range as {
			if got, want := fastmod(a, m, d), a%d; got != want {
				t.Fatalf("fastmod(%d, %d) = %d, want %d", a, d, got, want)
			}
		}
		for a := uint32(0); a < 3*d; a++ {
			if got, want := fastmod(a, m, d), a%d; got != want {
				t.Fatalf("fastmod(%d, %d) = %d, want %d", a, d, got, want)
			}
		}
	}
}

func TestGetLoop(t *testing.T) {
	m, d, _ := setup(t, Config{DefaultSize: 3, Lanes: 4})
	h := acquire(t, m, testKey)
	get := func(loop int) *fakeConn {
		c, err := h.GetLoop(context.Background(), loop)
		if err != nil {
			t.Fatal(err)
		}
		return c.(*fakeConn)
	}
	for i := 0; i < 3; i++ {
		get(0)
	}
	// Each loop goes round the slots in order, from slot 0.
	for loop := 0; loop < 4; loop++ {
		for i := 0; i < 9; i++ {
			if c := get(loop); c.id != uint64(i%3+1) {
				t.Fatalf("loop %d turn %d: conn %d, want %d", loop, i, c.id, i%3+1)
			}
		}
	}
	// Shrinking while a loop's counter is past the new size.
	get(0)
	get(0) // loop 0 next at slot 2
	if err := h.Pool().SetSize(2); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if c := get(0); c.id != uint64(i%2+1) {
			t.Fatalf("after shrink turn %d: conn %d", i, c.id)
		}
	}
	// Loops on their own goroutines: no data race, no extra dials.
	var wg sync.WaitGroup
	for loop := 0; loop < 4; loop++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				if _, err := h.GetLoop(context.Background(), loop); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := d.dials.Load(); n != 3 {
		t.Fatalf("%d dials, want 3", n)
	}
	n := testing.AllocsPerRun(1000, func() { get(1) })
	if n != 0 {
		t.Errorf("GetLoop allocates %v times", n)
	}
}
