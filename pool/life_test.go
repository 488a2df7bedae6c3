package pool

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDrainTimeout(t *testing.T) {
	m, d, clk := setup(t, Config{DefaultSize: 2, DrainTimeout: time.Minute})
	h := acquire(t, m, testKey)
	mustGet(t, h, 0)
	c := mustGet(t, h, 0)
	c.inflight.Store(3)
	if err := h.Pool().SetSize(1); err != nil {
		t.Fatal(err)
	}
	m.Sweep(clk.Add(time.Second))
	m.Sweep(clk.Add(58 * time.Second))
	if c.closed() {
		t.Fatal("closed before the drain timeout")
	}
	m.Sweep(clk.Add(time.Second))
	if !c.closed() || d.all()[0].closed() {
		t.Fatal("drain timeout did not close exactly the stuck conn")
	}
}

func TestLease(t *testing.T) {
	m, d, clk := setup(t, Config{DefaultSize: 2, LeaseTimeout: time.Minute})
	h := acquire(t, m, testKey)
	p := h.Pool()
	a := mustGet(t, h, 0)
	clk.Add(30 * time.Second)
	b := mustGet(t, h, 0)
	m.Sweep(clk.Add(29 * time.Second))
	if got := states(p)[StateActive]; got != 2 {
		t.Fatalf("before lease end: %d active", got)
	}
	m.Sweep(clk.Add(time.Second)) // a is 60 s old
	if got := states(p); got[StateActive] != 1 || got[StateDraining] != 1 {
		t.Fatalf("at a's lease end: states %v", got)
	}
	c := mustGet(t, h, 0) // refills a's slot
	if c == a || c == b || d.dials.Load() != 3 {
		t.Fatalf("lease: got conn %d, dials %d", c.id, d.dials.Load())
	}
	for i := 0; i < 10; i++ {
		if x := mustGet(t, h, 0); x == a {
			t.Fatal("expired conn handed out")
		}
	}
	m.Sweep(clk.Add(time.Second))
	if a.closed() {
		t.Fatal("expired conn closed at the first sweep after its retirement")
	}
	m.Sweep(clk.Add(time.Second))
	if !a.closed() || b.closed() || c.closed() {
		t.Fatalf("closed: a %v b %v c %v, want only a", a.closed(), b.closed(), c.closed())
	}
}

func TestLinger(t *testing.T) {
	m, d, clk := setup(t, Config{DefaultSize: 2})
	h1, h2 := acquire(t, m, testKey), acquire(t, m, testKey)
	if h1.Pool() != h2.Pool() {
		t.Fatal("same key, two pools")
	}
	a, b := mustGet(t, h1, 0), mustGet(t, h2, 0)
	h1.Release()
	h1.Release() // idempotent
	h2.Release()
	if info := h2.Pool().Info(); !info.Lingering || info.Refs != 0 {
		t.Fatalf("released pool: %+v", info)
	}
	m.Sweep(clk.Add(DefaultLinger - time.Nanosecond))
	if a.closed() || b.closed() || len(m.Pools()) != 1 {
		t.Fatal("pool closed before its linger period")
	}
	// Acquired again while lingering: the connections are reused.
	h3 := acquire(t, m, testKey)
	if c := mustGet(t, h3, 0); c != a && c != b {
		t.Fatal("lingering pool's connections not reused")
	}
	m.Sweep(clk.Add(time.Hour))
	if a.closed() || len(m.Pools()) != 1 {
		t.Fatal("referenced pool closed")
	}
	h3.Release()
	m.Sweep(clk.Add(DefaultLinger))
	if !a.closed() || !b.closed() || len(m.Pools()) != 0 {
		t.Fatal("pool not closed after its linger period")
	}
	if _, err := h3.Get(context.Background(), 0); err == nil {
		t.Fatal("Get on a closed pool succeeded")
	}
	// A new Acquire makes a new pool.
	h4 := acquire(t, m, testKey)
	if c := mustGet(t, h4, 0); c == a || c == b || d.dials.Load() != 3 {
		t.Fatal("new pool reused closed conns")
	}
}

func TestNoLinger(t *testing.T) {
	m, _, _ := setup(t, Config{DefaultSize: 2, Linger: NoLinger})
	h := acquire(t, m, testKey)
	a := mustGet(t, h, 0)
	h.Release()
	if !a.closed() || len(m.Pools()) != 0 {
		t.Fatal("NoLinger pool not closed at once")
	}
	if _, err := h.Get(context.Background(), 0); !errors.Is(err, ErrReleased) {
		t.Fatalf("Get after release: %v", err)
	}
}

func TestIdentityPartition(t *testing.T) {
	m, d, _ := setup(t, Config{DefaultSize: 2})
	keys := []Key{
		{Host: "edge.example", Port: 5061, Transport: TLS, Identity: "sha256:aa"},
		{Host: "edge.example", Port: 5061, Transport: TLS, Identity: "sha256:bb"},
		{Host: "edge.example", Port: 5061, Transport: TLS},
		{Host: "edge.example", Port: 5061, Transport: TCP, Identity: "sha256:aa"},
		{Host: "EDGE.example", Port: 5061, Transport: TLS, Identity: "sha256:aa"},
		{Host: "edge.example", Port: 5060, Transport: TLS, Identity: "sha256:aa"},
	}
	owner := map[uint64]Key{}
	for _, k := range keys {
		h := acquire(t, m, k)
		for i := 0; i < 6; i++ {
			c := mustGet(t, h, uint32(i))
			if c.key != k {
				t.Fatalf("pool %v got conn dialed for %v", k, c.key)
			}
			if o, ok := owner[c.id]; ok && o != k {
				t.Fatalf("conn %d shared by %v and %v", c.id, o, k)
			}
			owner[c.id] = k
		}
	}
	if n := len(m.Pools()); n != len(keys) {
		t.Fatalf("%d pools, want %d", n, len(keys))
	}
	if n := int(d.dials.Load()); n != 2*len(keys) {
		t.Fatalf("%d dials, want %d", n, 2*len(keys))
	}
}

func TestEnumerationUnderTraffic(t *testing.T) {
	m, _, clk := setup(t, Config{DefaultSize: 3})
	keys := []Key{testKey, {Host: "b.example", Port: 5060, Transport: TCP, Identity: "grp"}}
	var wg sync.WaitGroup
	var sent atomic.Int64
	stop := make(chan struct{})
	defer func() {
		close(stop)
		wg.Wait()
	}()
	for g := 0; g < 8; g++ {
		h := acquire(t, m, keys[g%2])
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				c, err := h.Get(context.Background(), uint32(g))
				if err != nil {
					t.Error(err)
					return
				}
				fc := c.(*fakeConn)
				fc.inflight.Add(1)
				fc.send(100, clk.Now())
				fc.inflight.Add(-1)
				sent.Add(1)
				if g == 0 && i%100 == 99 {
					fc.broken.Store(true) // some churn
				}
			}
		}()
	}
	resized := false
	for i := 0; sent.Load() < 20000; i++ {
		for _, pi := range m.Pools() {
			want := 3
			if resized && pi.Key == keys[1] {
				want = 2
			}
			if pi.Size != want || pi.Refs != 4 {
				t.Fatalf("pool %v: size %d refs %d", pi.Key, pi.Size, pi.Refs)
			}
			for _, c := range pi.Conns {
				if c.State != StateDialing && c.ID == 0 {
					t.Fatalf("conn without ID: %+v", c)
				}
			}
		}
		if !resized && sent.Load() > 10000 {
			m.Pool(keys[1]).SetSize(2)
			resized = true
		}
		if i%10 == 0 {
			m.Sweep(clk.Add(time.Second))
		}
	}
	close(stop)
	wg.Wait()
	stop = make(chan struct{}) // for the deferred close

	clk.Add(5 * time.Second)
	var total uint64
	for _, pi := range m.Pools() {
		for _, c := range pi.Conns {
			if c.State == StateActive && (c.Age < 5*time.Second || c.Idle < 5*time.Second || c.Idle > c.Age) {
				t.Errorf("conn %d: age %v idle %v", c.ID, c.Age, c.Idle)
			}
			total += c.Stats.MessagesOut
			if c.Stats.BytesOut != 100*c.Stats.MessagesOut {
				t.Errorf("conn %d: %d bytes for %d messages", c.ID, c.Stats.BytesOut, c.Stats.MessagesOut)
			}
		}
	}
	if total == 0 {
		t.Fatal("no traffic seen")
	}
}

func TestClose(t *testing.T) {
	m, d, _ := setup(t, Config{DefaultSize: 2})
	h := acquire(t, m, testKey)
	mustGet(t, h, 0)
	mustGet(t, h, 0)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range d.all() {
		if !c.closed() {
			t.Errorf("conn %d open after Close", c.id)
		}
	}
	if _, err := h.Get(context.Background(), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
	if _, err := m.Acquire(testKey); !errors.Is(err, ErrClosed) {
		t.Fatalf("Acquire after Close: %v", err)
	}
	if err := m.Start(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
	h.Release() // after Close: no panic
}

// TestCloseDuringDial: a dial that ends after Close closes its connection.
func TestCloseDuringDial(t *testing.T) {
	m, d, _ := setup(t, Config{DefaultSize: 1})
	gate := make(chan struct{})
	started := make(chan struct{}, 1)
	d.set(func(d *fakeDialer) { d.gate, d.started = gate, started })
	h := acquire(t, m, testKey)
	errc := make(chan error)
	go func() {
		_, err := h.Get(context.Background(), 0)
		errc <- err
	}()
	<-started
	m.Close()
	close(gate)
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Get racing Close: %v", err)
	}
	for _, c := range d.all() {
		if !c.closed() {
			t.Fatal("conn dialed during Close left open")
		}
	}
}

func TestStartClose(t *testing.T) {
	m, _, _ := setup(t, Config{SweepInterval: time.Millisecond})
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); !errors.Is(err, ErrStarted) {
		t.Fatalf("second Start: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	} // goleak in TestMain checks the sweeper stopped
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"unlimited", Config{DefaultSize: Unlimited}, true},
		{"max", Config{DefaultSize: MaxSize, Lanes: MaxLanes}, true},
		{"nolinger", Config{Linger: NoLinger}, true},
		{"size-2", Config{DefaultSize: -2}, false},
		{"size-big", Config{DefaultSize: MaxSize + 1}, false},
		{"open", Config{OpenTimeout: -1}, false},
		{"lease", Config{LeaseTimeout: -1}, false},
		{"drain", Config{DrainTimeout: -1}, false},
		{"sweep", Config{SweepInterval: -1}, false},
		{"lanes", Config{Lanes: MaxLanes + 1}, false},
		{"lanes-neg", Config{Lanes: -1}, false},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrConfig)) {
			t.Errorf("%s: Validate = %v", tt.name, err)
		}
		_, err = NewManager(tt.cfg, &fakeDialer{})
		if (err == nil) != tt.ok {
			t.Errorf("%s: NewManager = %v", tt.name, err)
		}
	}
	if _, err := NewManager(Config{}, nil); !errors.Is(err, ErrNoDialer) {
		t.Errorf("nil dialer: %v", err)
	}
	c := Config{Lanes: 5}.withDefaults()
	if c.Lanes != 8 || c.DefaultSize != DefaultPoolSize || c.Linger != DefaultLinger ||
		c.OpenTimeout != DefaultOpenTimeout || c.DrainTimeout != DefaultDrainTimeout {
		t.Errorf("defaults: %+v", c)
	}
}

func TestKey(t *testing.T) {
	m, _, _ := setup(t, Config{})
	for _, k := range []Key{{}, {Host: "a", Transport: TCP}, {Port: 1, Transport: TCP}, {Host: "a", Port: 1}, {Host: "a", Port: 1, Transport: 9}} {
		if _, err := m.Acquire(k); !errors.Is(err, ErrKey) {
			t.Errorf("Acquire(%+v) = %v", k, err)
		}
	}
	if s := (Key{Host: "h", Port: 5061, Transport: TLS, Identity: "g"}).String(); s != "tls:h:5061#g" {
		t.Errorf("String = %q", s)
	}
	if s := (Key{Host: "h", Port: 5060, Transport: TCP}).String(); s != "tcp:h:5060" {
		t.Errorf("String = %q", s)
	}
}

// TestReleaseKeepsNoSlots: handles of a shared pool leave nothing behind.
func TestReleaseKeepsNoSlots(t *testing.T) {
	m, _, _ := setup(t, Config{DefaultSize: 2})
	keep := acquire(t, m, testKey)
	mustGet(t, keep, 0)
	for i := 0; i < 100; i++ {
		h := acquire(t, m, testKey)
		mustGet(t, h, 0)
		h.Release()
	}
	p := keep.Pool()
	p.mu.Lock()
	n, hs := len(p.retired), len(p.handles)
	p.mu.Unlock()
	if n != 0 || hs != 1 {
		t.Fatalf("%d retired slots, %d handles after 100 acquire/release", n, hs)
	}
}
