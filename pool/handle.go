package pool

import (
	"context"
	"sync/atomic"
)

// Handle is one endpoint's reference to a pool. Its methods may be called
// from any goroutine.
type Handle struct {
	p        *Pool
	slot     atomic.Pointer[slot] // the handle's own connection when the pool is Unlimited
	released atomic.Bool
}

// Pool returns the pool the handle references. Any goroutine.
func (h *Handle) Pool() *Pool { return h.p }

// Get returns a connection for one message. lane picks the round-robin
// counter: pass the caller's event-loop index, or any number that differs
// between goroutines sending at the same time; callers sharing a lane still
// get round-robin, they only contend on one counter.
//
// In a shared pool below its size Get opens a new connection; at its size
// it returns the pool's connections in turn, replacing a broken one by
// dialing within the open timeout (callers wanting that slot meanwhile use
// another live connection or wait for the dial). In an Unlimited pool Get
// returns the handle's own connection, dialing it when missing or broken.
// Get takes no lock and does not allocate unless it dials. Dial errors wrap
// ErrDial or ErrOpenTimeout; a closed pool gives ErrClosed. The returned
// connection may break at any time; the caller reports write failures as
// errors or calls Get again. Get on a released handle may fail with
// ErrReleased. Any goroutine.
func (h *Handle) Get(ctx context.Context, lane uint32) (Conn, error) {
	p := h.p
	s := p.snap.Load()
	if s.n != 0 && s.full.Load() {
		i := fastmod(p.lanes[lane&p.mask].n.Add(1)-1, s.magic, s.n)
		if e := s.slots[i].e.Load(); e != nil && e.c != nil && !e.c.Broken() {
			return e.c, nil
		}
		return p.get(ctx, h, lane, false, s, i)
	}
	if s.unlimited && !h.released.Load() {
		if e := h.slot.Load().e.Load(); e != nil && e.c != nil && !e.c.Broken() {
			return e.c, nil
		}
	}
	return p.get(ctx, h, lane, false, nil, 0)
}

// GetLoop is Get for an event loop: loop is the caller's loop index, and
// its round-robin counter is plain memory owned by that loop, which saves
// Get's atomic increment. Loop only: at most one goroutine at a time may
// use a given loop index (masked by Config.Lanes, which must be at least
// the number of loops) on a manager; sharing an index is a data race.
// Goroutines that are not loops call Get.
func (h *Handle) GetLoop(ctx context.Context, loop int) (Conn, error) {
	p := h.p
	s := p.snap.Load()
	if s.n != 0 && s.full.Load() {
		i := p.lanes[uint32(loop)&p.mask].nextLoop(s.n)
		if e := s.slots[i].e.Load(); e != nil && e.c != nil && !e.c.Broken() {
			return e.c, nil
		}
		return p.get(ctx, h, uint32(loop), true, s, i)
	}
	if s.unlimited && !h.released.Load() {
		if e := h.slot.Load().e.Load(); e != nil && e.c != nil && !e.c.Broken() {
			return e.c, nil
		}
	}
	return p.get(ctx, h, uint32(loop), true, nil, 0)
}

// Release gives the handle's reference back. When the pool has no
// references left it lingers for Config.Linger and is then closed by
// Sweep, or is closed at once with NoLinger. The handle's own connection
// (Unlimited pools) is retired. Any goroutine; idempotent.
func (h *Handle) Release() {
	p := h.p
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if h.released.Swap(true) {
		return
	}
	p.mu.Lock()
	delete(p.handles, h)
	p.retire(h.slot.Load())
	p.mu.Unlock()
	if p.removed {
		return
	}
	p.refs--
	if p.refs > 0 {
		return
	}
	if m.cfg.Linger < 0 {
		m.removeLocked(p.key, p)
		return
	}
	p.lingering = true
	p.idleAt = m.cfg.Now()
}
