package pool

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Pool is the set of connections to one Key. Create pools with
// Manager.Acquire; all methods may be called from any goroutine.
type Pool struct {
	// Read by every Get; snap changes only on resize and close.
	snap  atomic.Pointer[snapshot]
	lanes []lane
	mask  uint32

	key Key
	m   *Manager

	mu      sync.Mutex
	own     int // size set by SetSize; 0 follows the manager's default
	handles map[*Handle]struct{}
	retired []*slot   // slots out of the snapshot that may still hold a connection
	drain   []drained // connections waiting for their in-flight work
	gen     uint64    // number of sweeps

	// Guarded by Manager.mu.
	refs      int
	lingering bool      // refs fell to zero at idleAt
	idleAt    time.Time // when refs fell to zero
	removed   bool      // closed and out of the manager's map
}

func newPool(m *Manager, k Key, size int) *Pool {
	p := &Pool{
		key:     k,
		m:       m,
		lanes:   make([]lane, m.cfg.Lanes),
		mask:    uint32(m.cfg.Lanes - 1),
		handles: make(map[*Handle]struct{}),
	}
	p.snap.Store(&snapshot{})
	p.resize(size)
	return p
}

// Key returns the pool's key. Any goroutine.
func (p *Pool) Key() Key { return p.key }

// Size returns the pool's effective size: its own size if SetSize gave one,
// else the manager's default; Unlimited when sharing is off; 0 once the
// pool is closed. Any goroutine.
func (p *Pool) Size() int {
	s := p.snap.Load()
	if s.unlimited {
		return Unlimited
	}
	return int(s.n)
}

// SetSize changes the pool's size while it is in use. n is 1..MaxSize or
// Unlimited; 0 makes the pool follow the manager's default size again.
// Growing lets the next Gets open connections; shrinking retires the
// surplus connections, which are closed by Sweep once their in-flight work
// is done. Any goroutine.
func (p *Pool) SetSize(n int) error {
	if n != 0 && !validSize(n) {
		return ErrSize
	}
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.own = n
	if n == 0 {
		n = p.m.defSize
	}
	p.resize(n)
	return nil
}

// resize installs a snapshot of size n, keeping the connections of the
// slots that stay. p.mu must be held (or p not yet shared).
func (p *Pool) resize(n int) {
	old := p.snap.Load()
	if old.closed {
		return
	}
	if n == Unlimited {
		if old.unlimited {
			return
		}
		p.snap.Store(&snapshot{unlimited: true})
		for _, sl := range old.slots {
			p.retire(sl)
		}
		return
	}
	if !old.unlimited && int(old.n) == n {
		return
	}
	slots := make([]*slot, n)
	k := copy(slots, old.slots)
	for i := k; i < n; i++ {
		slots[i] = new(slot)
	}
	p.snap.Store(&snapshot{slots: slots, n: uint32(n), magic: modMagic(uint32(n))})
	for _, sl := range old.slots[k:] {
		p.retire(sl)
	}
	if old.unlimited {
		// Connections private to handles give way to shared ones.
		for h := range p.handles {
			p.retire(h.slot.Swap(new(slot)))
		}
	}
}

// retire takes sl out of service; Sweep drains what it holds. An empty
// slot is not kept: a Get that claims it after the flag is set sees the flag
// and gives it up (see dial). p.mu held.
func (p *Pool) retire(sl *slot) {
	sl.retired.Store(true)
	if sl.e.Load() == nil {
		return
	}
	sl.retiredGen, sl.retiredAt = p.gen, p.m.cfg.Now()
	p.retired = append(p.retired, sl)
}

// notFull clears the full hint after a slot was emptied.
func (p *Pool) notFull() {
	if s := p.snap.Load(); s.full.Load() {
		s.full.Store(false)
	}
}

// get is the slow path of Get (loop false) and GetLoop (loop true). When s
// is not nil the fast path chose slot i of s and found it empty or broken:
// that slot is refilled first.
func (p *Pool) get(ctx context.Context, h *Handle, lane uint32, loop bool, s *snapshot, i uint32) (Conn, error) {
	ctr := &p.lanes[lane&p.mask].n
	if s != nil {
		if c, err := p.take(ctx, s.slots[i], s.slots, ctr); err != errRetry {
			return c, err
		}
	}
	for {
		if h.released.Load() {
			return nil, ErrReleased
		}
		s = p.snap.Load()
		if s.closed {
			return nil, ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var c Conn
		var err error
		switch {
		case s.unlimited:
			c, err = p.take(ctx, h.slot.Load(), nil, nil)
		case !s.full.Load():
			var ok bool
			if c, err, ok = p.grow(ctx, s); ok {
				break
			}
			s.full.Store(true)
			fallthrough
		default:
			if loop {
				i = p.lanes[lane&p.mask].nextLoop(s.n)
			} else {
				i = fastmod(ctr.Add(1)-1, s.magic, s.n)
			}
			c, err = p.take(ctx, s.slots[i], s.slots, ctr)
		}
		if err != errRetry {
			return c, err
		}
	}
}

// grow dials into the first empty slot of s; ok is false if there is none.
func (p *Pool) grow(ctx context.Context, s *snapshot) (c Conn, err error, ok bool) {
	for _, sl := range s.slots {
		if sl.e.Load() != nil {
			continue
		}
		d := newDialing()
		if sl.e.CompareAndSwap(nil, d) {
			if !hasEmpty(s.slots) {
				s.full.Store(true) // the last one: the fast path may run
			}
			c, err = p.dial(ctx, sl, d)
			return c, err, true
		}
	}
	return nil, nil, false
}

// take returns a usable connection of sl, dialing into it when it is empty
// or its connection broke. While another caller dials into sl, take uses a
// live connection of alt, searched from the next turn of the round-robin
// counter ctr so that the dialing slot's share spreads evenly, or waits for
// the dial.
func (p *Pool) take(ctx context.Context, sl *slot, alt []*slot, ctr *atomic.Uint32) (Conn, error) {
	for {
		e := sl.e.Load()
		switch {
		case e == nil || (e.c != nil && e.c.Broken()):
			d := newDialing()
			if !sl.e.CompareAndSwap(e, d) {
				continue
			}
			if e != nil {
				e.c.Close()
			}
			return p.dial(ctx, sl, d)
		case e.c == nil:
			if len(alt) > 1 {
				if c := live(alt, ctr.Add(1)-1); c != nil {
					return c, nil
				}
			}
			select {
			case <-e.done:
				if e.err != nil {
					return nil, e.err
				}
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		default:
			return e.c, nil
		}
	}
}

// hasEmpty reports whether one of slots is empty.
func hasEmpty(slots []*slot) bool {
	for _, sl := range slots {
		if sl.e.Load() == nil {
			return true
		}
	}
	return false
}

// live returns a usable connection from slots, searching from index from.
func live(slots []*slot, from uint32) Conn {
	n := uint32(len(slots))
	for k := uint32(0); k < n; k++ {
		if e := slots[(from+k)%n].e.Load(); e.usable() { // not a hot path
			return e.c
		}
	}
	return nil
}

// dial fills the slot sl, which the caller claimed with the dialing entry d.
func (p *Pool) dial(ctx context.Context, sl *slot, d *entry) (Conn, error) {
	if !p.dialable(sl, d) {
		return nil, errRetry
	}
	dctx, cancel := context.WithTimeout(ctx, p.m.cfg.OpenTimeout)
	c, err := p.m.dialer.Dial(dctx, p.key)
	timedOut := dctx.Err() == context.DeadlineExceeded && ctx.Err() == nil
	cancel()
	return p.dialed(sl, d, c, err, timedOut)
}

// dialAsync starts filling the slot sl, which the caller claimed with the
// dialing entry d, through the AsyncDialer. It does not block.
func (p *Pool) dialAsync(sl *slot, d *entry) {
	if !p.dialable(sl, d) {
		return
	}
	ad := p.m.async
	if ad == nil {
		p.dialed(sl, d, nil, ErrNoAsyncDial, false)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.m.cfg.OpenTimeout)
	err := ad.DialAsync(ctx, p.key, func(c Conn, err error) {
		timedOut := ctx.Err() == context.DeadlineExceeded
		cancel()
		p.dialed(sl, d, c, err, timedOut)
	})
	if err != nil {
		cancel()
		p.dialed(sl, d, nil, err, false)
	}
}

// dialable reports whether sl may take the dial its claimer is about to
// start; when not (the slot was claimed through a stale snapshot), it undoes
// the claim and ends d with errRetry so that the caller reloads.
func (p *Pool) dialable(sl *slot, d *entry) bool {
	if sl.retired.Load() || p.snap.Load().closed {
		sl.e.CompareAndSwap(d, nil)
		d.finish(errRetry)
		return false
	}
	return true
}

// dialed ends the dial into sl claimed by d with its result.
func (p *Pool) dialed(sl *slot, d *entry, c Conn, err error, timedOut bool) (Conn, error) {
	if err == nil && c == nil {
		err = fmt.Errorf("dialer returned no connection")
	}
	if err != nil {
		if timedOut {
			err = fmt.Errorf("%w: %s: %w", ErrOpenTimeout, p.key, err)
		} else {
			err = fmt.Errorf("%w: %s: %w", ErrDial, p.key, err)
		}
		sl.e.CompareAndSwap(d, nil)
		p.notFull()
		d.finish(err)
		return nil, err
	}
	e := &entry{c: c, born: p.m.cfg.Now()}
	sl.e.CompareAndSwap(d, e) // only the claimer replaces d
	d.finish(nil)
	if p.snap.Load().closed {
		// Close raced with the dial: whoever empties the slot closes c.
		if sl.e.CompareAndSwap(e, nil) {
			c.Close()
		}
		return nil, ErrClosed
	}
	return c, nil
}

// Drop tells the pool that the connection with c's ID closed, so its slot
// can be refilled at once rather than when a Get finds it broken. It
// removes only that exact connection: a late report about a connection
// that was already replaced leaves the replacement alone. Drop does not
// call c.Close. It reports whether the pool held the connection. Any
// goroutine.
func (p *Pool) Drop(c Conn) bool {
	id := c.ID()
	match := func(sl *slot) bool {
		e := sl.e.Load()
		return e != nil && e.c != nil && e.c.ID() == id && sl.e.CompareAndSwap(e, nil)
	}
	for _, sl := range p.snap.Load().slots {
		if match(sl) {
			p.notFull()
			return true
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for h := range p.handles {
		if match(h.slot.Load()) {
			return true
		}
	}
	for _, sl := range p.retired {
		if match(sl) {
			return true
		}
	}
	for i, d := range p.drain {
		if d.e.c.ID() == id {
			p.drain = append(p.drain[:i], p.drain[i+1:]...)
			return true
		}
	}
	return false
}
