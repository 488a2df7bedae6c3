package pool

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
	os.Exit(0) // unreachable: VerifyTestMain exits
}

// clock is an injectable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// fakeConn is an in-memory Conn.
type fakeConn struct {
	id       uint64
	key      Key
	broken   atomic.Bool
	closes   atomic.Int32
	inflight atomic.Int64
	msgs     atomic.Uint64
	bytes    atomic.Uint64
	last     atomic.Int64 // UnixNano
}

func (c *fakeConn) ID() uint64   { return c.id }
func (c *fakeConn) Broken() bool { return c.broken.Load() }
func (c *fakeConn) Close() error {
	c.closes.Add(1)
	c.broken.Store(true)
	return nil
}

func (c *fakeConn) Stats() Stats {
	st := Stats{
		InFlight:    c.inflight.Load(),
		MessagesOut: c.msgs.Load(),
		BytesOut:    c.bytes.Load(),
	}
	if l := c.last.Load(); l != 0 {
		st.LastActive = time.Unix(0, l)
	}
	return st
}

func (c *fakeConn) closed() bool { return c.closes.Load() > 0 }

// send records one message of n bytes at t.
func (c *fakeConn) send(n int, t time.Time) {
	c.msgs.Add(1)
	c.bytes.Add(uint64(n))
	c.last.Store(t.UnixNano())
}

// fakeDialer makes fakeConns. If gate is not nil every dial waits for it
// (or ctx); if fail is set dials fail.
type fakeDialer struct {
	mu      sync.Mutex
	nextID  uint64
	conns   []*fakeConn
	gate    chan struct{}
	started chan struct{} // receives one value per dial start, if not nil
	fail    error
	dials   atomic.Int32
	active  atomic.Int32 // dials running now
	maxAct  atomic.Int32 // most dials running at once
}

var errFake = errors.New("fake dial refused")

func (d *fakeDialer) Dial(ctx context.Context, k Key) (Conn, error) {
	d.dials.Add(1)
	n := d.active.Add(1)
	defer d.active.Add(-1)
	for {
		m := d.maxAct.Load()
		if n <= m || d.maxAct.CompareAndSwap(m, n) {
			break
		}
	}
	d.mu.Lock()
	gate, started, fail := d.gate, d.started, d.fail
	d.mu.Unlock()
	if started != nil {
		select {
		case started <- struct{}{}:
		default: // tests size the buffer for the starts they wait for
		}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if fail != nil {
		return nil, fail
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.nextID++
	c := &fakeConn{id: d.nextID, key: k}
	d.conns = append(d.conns, c)
	return c, nil
}

func (d *fakeDialer) all() []*fakeConn {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*fakeConn(nil), d.conns...)
}

func (d *fakeDialer) set(fn func(d *fakeDialer)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fn(d)
}

var testKey = Key{Host: "proxy.example.net", Port: 5061, Transport: TLS}

// setup returns a manager with a fake dialer and clock.
func setup(t testing.TB, cfg Config) (*Manager, *fakeDialer, *clock) {
	t.Helper()
	clk := newClock()
	d := &fakeDialer{}
	cfg.Now = clk.Now
	m, err := NewManager(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, d, clk
}

func acquire(t testing.TB, m *Manager, k Key) *Handle {
	t.Helper()
	h, err := m.Acquire(k)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func mustGet(t testing.TB, h *Handle, lane uint32) *fakeConn {
	t.Helper()
	c, err := h.Get(context.Background(), lane)
	if err != nil {
		t.Fatal(err)
	}
	return c.(*fakeConn)
}

// states counts the pool's connections by state.
func states(p *Pool) map[ConnState]int {
	out := map[ConnState]int{}
	for _, c := range p.Info().Conns {
		out[c.State]++
	}
	return out
}
