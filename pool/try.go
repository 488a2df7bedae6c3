package pool

import "sync/atomic"

// TryGet is Get for callers that must not block, such as an event loop
// forwarding a message: it returns a live connection when the pool has one
// for the caller, and otherwise starts the dial the pool needs through the
// AsyncDialer and returns ErrDialing at once.
//
// Like Get, below the pool's size it opens a new connection, but meanwhile
// it hands out a live connection of the pool if there is one; at its size
// it returns the pool's connections in turn, and a slot that is empty or
// broken is redialed while the caller gets another live connection. In an
// Unlimited pool it returns the handle's own connection.
//
// When it returns ErrDialing, ready (if not nil) is called once, on the
// goroutine that ends the dial, when the dial the caller waits for ends:
// with nil when a connection may now be had (call TryGet again), or with
// the dial's error. ready must not block. A dial that fails at once makes
// TryGet return its error (wrapping ErrDial or ErrOpenTimeout). With a
// Dialer that is not an AsyncDialer, TryGet fails with ErrNoAsyncDial when
// a dial is needed. It takes no lock and does not allocate when it returns
// a live connection. Any goroutine.
func (h *Handle) TryGet(lane uint32, ready func(error)) (Conn, error) {
	p := h.p
	s := p.snap.Load()
	if s.n != 0 && s.full.Load() {
		i := fastmod(p.lanes[lane&p.mask].n.Add(1)-1, s.magic, s.n)
		if e := s.slots[i].e.Load(); e != nil && e.c != nil && !e.c.Broken() {
			return e.c, nil
		}
		return p.tryGet(h, lane, false, s, i, ready)
	}
	if s.unlimited && !h.released.Load() {
		if e := h.slot.Load().e.Load(); e != nil && e.c != nil && !e.c.Broken() {
			return e.c, nil
		}
	}
	return p.tryGet(h, lane, false, nil, 0, ready)
}

// TryGetLoop is TryGet for an event loop, with GetLoop's round-robin
// counter owned by the loop. Loop only, under the rules of GetLoop.
func (h *Handle) TryGetLoop(loop int, ready func(error)) (Conn, error) {
	p := h.p
	s := p.snap.Load()
	if s.n != 0 && s.full.Load() {
		i := p.lanes[uint32(loop)&p.mask].nextLoop(s.n)
		if e := s.slots[i].e.Load(); e != nil && e.c != nil && !e.c.Broken() {
			return e.c, nil
		}
		return p.tryGet(h, uint32(loop), true, s, i, ready)
	}
	if s.unlimited && !h.released.Load() {
		if e := h.slot.Load().e.Load(); e != nil && e.c != nil && !e.c.Broken() {
			return e.c, nil
		}
	}
	return p.tryGet(h, uint32(loop), true, nil, 0, ready)
}

// tryGet is the slow path of TryGet and TryGetLoop. When s is not nil the
// fast path chose slot i of s and found it empty, broken or dialing.
func (p *Pool) tryGet(h *Handle, lane uint32, loop bool, s *snapshot, i uint32, ready func(error)) (Conn, error) {
	ctr := &p.lanes[lane&p.mask].n
	for {
		if h.released.Load() {
			return nil, ErrReleased
		}
		if s == nil {
			s = p.snap.Load()
			switch {
			case s.closed:
				return nil, ErrClosed
			case s.unlimited:
			case !s.full.Load():
				c, err, ok := p.tryGrow(s, ctr, ready)
				if ok {
					if err == errRetry {
						s = nil
						continue
					}
					return c, err
				}
				s.full.Store(true)
				fallthrough
			default:
				if loop {
					i = p.lanes[lane&p.mask].nextLoop(s.n)
				} else {
					i = fastmod(ctr.Add(1)-1, s.magic, s.n)
				}
			}
		}
		var c Conn
		var err error
		if s.unlimited {
			c, err = p.tryTake(h.slot.Load(), nil, nil, ready)
		} else {
			c, err = p.tryTake(s.slots[i], s.slots, ctr, ready)
		}
		if err != errRetry {
			return c, err
		}
		s = nil
	}
}

// tryGrow starts a dial into the first empty slot of s and returns a live
// connection of s meanwhile, or ErrDialing; ok is false if no slot is empty.
func (p *Pool) tryGrow(s *snapshot, ctr *atomic.Uint32, ready func(error)) (c Conn, err error, ok bool) {
	if p.m.async == nil {
		return nil, nil, false // use what there is; tryTake reports the lack
	}
	for _, sl := range s.slots {
		if sl.e.Load() != nil {
			continue
		}
		d := newDialing()
		if !sl.e.CompareAndSwap(nil, d) {
			continue
		}
		if !hasEmpty(s.slots) {
			s.full.Store(true)
		}
		p.dialAsync(sl, d)
		if c := live(s.slots, ctr.Add(1)-1); c != nil {
			return c, nil, true
		}
		c, err := p.awaitDial(sl, d, ready)
		return c, err, true
	}
	return nil, nil, false
}

// tryTake returns a usable connection of sl without blocking. When sl is
// empty or broken it starts a dial into it; while sl dials it returns a
// live connection of alt (searched from the next turn of ctr), or
// ErrDialing with ready registered on sl's dial.
func (p *Pool) tryTake(sl *slot, alt []*slot, ctr *atomic.Uint32, ready func(error)) (Conn, error) {
	for {
		e := sl.e.Load()
		switch {
		case e == nil || (e.c != nil && e.c.Broken()):
			if p.m.async == nil {
				if c := liveAlt(alt, ctr); c != nil {
					return c, nil
				}
				return nil, ErrNoAsyncDial
			}
			d := newDialing()
			if !sl.e.CompareAndSwap(e, d) {
				continue
			}
			if e != nil {
				e.c.Close()
			}
			p.dialAsync(sl, d)
			if c := liveAlt(alt, ctr); c != nil {
				return c, nil
			}
			return p.awaitDial(sl, d, ready)
		case e.c == nil:
			if c := liveAlt(alt, ctr); c != nil {
				return c, nil
			}
			return p.awaitDial(sl, e, ready)
		default:
			return e.c, nil
		}
	}
}

// awaitDial registers ready on the dialing entry d of sl and returns
// ErrDialing, or, when the dial has already ended, its outcome: the slot's
// connection, the dial's error, or errRetry.
func (p *Pool) awaitDial(sl *slot, d *entry, ready func(error)) (Conn, error) {
	if d.await(ready) {
		return nil, ErrDialing
	}
	if d.err != nil {
		return nil, d.err
	}
	if e := sl.e.Load(); e.usable() {
		return e.c, nil
	}
	return nil, errRetry
}

// liveAlt returns a usable connection of alt, searched from the next turn
// of ctr, or nil; alt of one slot or less has no alternative.
func liveAlt(alt []*slot, ctr *atomic.Uint32) Conn {
	if len(alt) < 2 {
		return nil
	}
	return live(alt, ctr.Add(1)-1)
}
