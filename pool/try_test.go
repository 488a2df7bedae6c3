package pool

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// asyncDialer is a fakeDialer that also dials asynchronously, on
// goroutines it waits for in close.
type asyncDialer struct {
	*fakeDialer
	wg      sync.WaitGroup
	failNow error        // DialAsync returns it without dialing
	starts  atomic.Int32 // DialAsync calls that started a dial
}

func (d *asyncDialer) DialAsync(ctx context.Context, k Key, done func(Conn, error)) error {
	if d.failNow != nil {
		return d.failNow
	}
	d.starts.Add(1)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		done(d.Dial(ctx, k))
	}()
	return nil
}

// setupAsync returns a manager with an asynchronous fake dialer.
func setupAsync(t testing.TB, cfg Config) (*Manager, *asyncDialer) {
	t.Helper()
	d := &asyncDialer{fakeDialer: &fakeDialer{}}
	cfg.Now = newClock().Now
	m, err := NewManager(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Close()
		d.set(func(f *fakeDialer) {
			if f.gate != nil {
				select {
				case <-f.gate:
				default:
					close(f.gate)
				}
			}
		})
		d.wg.Wait()
	})
	return m, d
}

// readyChan returns a ready function and the channel it reports to.
func readyChan() (func(error), chan error) {
	ch := make(chan error, 16)
	return func(err error) { ch <- err }, ch
}

func TestTryGetGrowsWithoutBlocking(t *testing.T) {
	m, d := setupAsync(t, Config{DefaultSize: 3})
	gate := make(chan struct{})
	d.set(func(d *fakeDialer) { d.gate = gate })
	h := acquire(t, m, testKey)

	ready, readyCh := readyChan()
	// The first three callers each start a dial into a slot of their own
	// and wait for it; the next ones wait too. None blocks.
	for i := range 6 {
		if c, err := h.TryGet(uint32(i), ready); !errors.Is(err, ErrDialing) || c != nil {
			t.Fatalf("TryGet %d: %v %v, want ErrDialing", i, c, err)
		}
	}
	if n := d.starts.Load(); n != 3 {
		t.Fatalf("%d dials started, want 3 (the pool's size)", n)
	}
	close(gate)
	for range 6 {
		if err := <-readyCh; err != nil {
			t.Fatalf("ready got %v", err)
		}
	}
	// All three dials are done: round-robin over the three.
	seen := map[uint64]int{}
	for range 30 {
		c, err := h.TryGet(0, nil)
		if err != nil {
			t.Fatal(err)
		}
		seen[c.ID()]++
	}
	if len(seen) != 3 || d.starts.Load() != 3 {
		t.Fatalf("connections %v, dials %d", seen, d.starts.Load())
	}
	for id, n := range seen {
		if n != 10 {
			t.Errorf("conn %d handed out %d times of 30", id, n)
		}
	}
}

// TestTryGetHandsOutLiveWhileGrowing: below its size the pool starts a dial
// for a new connection and meanwhile gives the caller a live one.
func TestTryGetHandsOutLiveWhileGrowing(t *testing.T) {
	m, d := setupAsync(t, Config{DefaultSize: 2})
	h := acquire(t, m, testKey)
	first := mustGet(t, h, 0) // blocking: one live connection
	gate := make(chan struct{})
	started := make(chan struct{}, 1)
	d.set(func(d *fakeDialer) { d.gate, d.started = gate, started })
	c, err := h.TryGet(0, nil)
	if err != nil || c.ID() != first.id {
		t.Fatalf("TryGet while growing: %v %v, want the live conn %d", c, err, first.id)
	}
	<-started // the second connection is being dialed
	if st := states(h.Pool()); st[StateDialing] != 1 || st[StateActive] != 1 {
		t.Fatalf("states %v", st)
	}
	close(gate)
}

func TestTryGetBrokenRedialed(t *testing.T) {
	m, d := setupAsync(t, Config{DefaultSize: 2})
	h := acquire(t, m, testKey)
	a, b := mustGet(t, h, 0), mustGet(t, h, 0)
	gate := make(chan struct{})
	d.set(func(d *fakeDialer) { d.gate = gate })
	a.broken.Store(true)
	// Every TryGet gets b while a's slot redials once.
	for i := range 10 {
		c, err := h.TryGet(uint32(i), nil)
		if err != nil || c.ID() != b.id {
			t.Fatalf("TryGet %d: %v %v, want conn %d", i, c, err, b.id)
		}
	}
	if n := d.starts.Load(); n != 1 {
		t.Fatalf("%d redials, want 1", n)
	}
	if !a.closed() {
		t.Error("broken connection not closed")
	}
	// With both broken, callers wait for the redial.
	b.broken.Store(true)
	ready, readyCh := readyChan()
	if _, err := h.TryGet(0, ready); !errors.Is(err, ErrDialing) {
		t.Fatalf("all broken: %v, want ErrDialing", err)
	}
	close(gate)
	if err := <-readyCh; err != nil {
		t.Fatal(err)
	}
}

func TestTryGetUnlimited(t *testing.T) {
	m, d := setupAsync(t, Config{DefaultSize: Unlimited})
	h1, h2 := acquire(t, m, testKey), acquire(t, m, testKey)
	get := func(h *Handle) Conn {
		t.Helper()
		ready, ch := readyChan()
		c, err := h.TryGet(0, ready)
		if errors.Is(err, ErrDialing) {
			if err := <-ch; err != nil {
				t.Fatal(err)
			}
			c, err = h.TryGet(0, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c1, c2 := get(h1), get(h2)
	if c1.ID() == c2.ID() {
		t.Fatal("two handles share a connection in an Unlimited pool")
	}
	if get(h1).ID() != c1.ID() || d.starts.Load() != 2 {
		t.Fatalf("handle's own connection not reused (%d dials)", d.starts.Load())
	}
}

func TestTryGetDialErrors(t *testing.T) {
	m, d := setupAsync(t, Config{DefaultSize: 1})
	h := acquire(t, m, testKey)
	// The dial fails later: ready gets the error.
	d.set(func(d *fakeDialer) { d.fail = errFake })
	ready, ch := readyChan()
	_, err := h.TryGet(0, ready)
	if errors.Is(err, ErrDialing) {
		err = <-ch
	}
	if !errors.Is(err, ErrDial) || !errors.Is(err, errFake) {
		t.Fatalf("failed dial: %v", err)
	}
	// DialAsync refuses at once: TryGet returns the error.
	d.failNow = errFake
	if _, err := h.TryGet(0, nil); !errors.Is(err, ErrDial) || !errors.Is(err, errFake) {
		t.Fatalf("refused DialAsync: %v", err)
	}
	h.Release()
	if _, err := h.TryGet(0, nil); !errors.Is(err, ErrReleased) {
		t.Fatalf("released handle: %v", err)
	}
}

// TestTryGetSyncDialer: with a Dialer that cannot dial asynchronously,
// TryGet hands out live connections and reports when a dial is needed.
func TestTryGetSyncDialer(t *testing.T) {
	m, _, _ := setup(t, Config{DefaultSize: 2})
	h := acquire(t, m, testKey)
	if _, err := h.TryGet(0, nil); !errors.Is(err, ErrNoAsyncDial) {
		t.Fatalf("empty pool: %v, want ErrNoAsyncDial", err)
	}
	c := mustGet(t, h, 0)
	for i := range 4 {
		got, err := h.TryGetLoop(i, nil)
		if err != nil || got.ID() != c.id {
			t.Fatalf("TryGetLoop %d: %v %v", i, got, err)
		}
	}
}

func TestTryGetClosed(t *testing.T) {
	m, _ := setupAsync(t, Config{DefaultSize: 2})
	h := acquire(t, m, testKey)
	m.Close()
	if _, err := h.TryGet(0, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed manager: %v, want ErrClosed", err)
	}
}

func TestAllocsTryGet(t *testing.T) {
	for _, size := range []int{3, Unlimited} {
		m, _ := setupAsync(t, Config{DefaultSize: size, Lanes: 2})
		h := acquire(t, m, testKey)
		for range 5 {
			mustGet(t, h, 0)
		}
		var lane uint32
		n := testing.AllocsPerRun(1000, func() {
			lane++
			if _, err := h.TryGet(lane, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := h.TryGetLoop(1, nil); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("size %d: TryGet allocates %v times", size, n)
		}
	}
}

func TestSetKeySize(t *testing.T) {
	m, _, _ := setup(t, Config{DefaultSize: 2})
	if err := m.SetKeySize(testKey, 4); err != nil {
		t.Fatal(err)
	}
	h := acquire(t, m, testKey)
	if got := h.Pool().Size(); got != 4 {
		t.Fatalf("new pool size %d, want 4", got)
	}
	if err := m.SetKeySize(testKey, Unlimited); err != nil {
		t.Fatal(err)
	}
	if got := h.Pool().Size(); got != Unlimited {
		t.Fatalf("live pool size %d, want Unlimited", got)
	}
	if info := h.Pool().Info(); !info.OwnSize {
		t.Error("OwnSize false")
	}
	if err := m.SetKeySize(testKey, 0); err != nil {
		t.Fatal(err)
	}
	if got := h.Pool().Size(); got != 2 {
		t.Fatalf("size after reset %d, want the default 2", got)
	}
	if err := m.SetKeySize(testKey, -5); !errors.Is(err, ErrSize) {
		t.Errorf("bad size: %v", err)
	}
	if err := m.SetKeySize(Key{}, 3); !errors.Is(err, ErrKey) {
		t.Errorf("bad key: %v", err)
	}
}
