package pool

import "time"

// sweep does p's share of Manager.Sweep.
func (p *Pool) sweep(now time.Time) {
	lease := p.m.cfg.LeaseTimeout
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.snap.Load()
	if s.closed {
		return
	}
	p.gen++
	// check empties sl if its connection broke and drains it if its lease
	// ran out. Dialing slots are left alone.
	check := func(sl *slot) {
		e := sl.e.Load()
		if e == nil || e.c == nil {
			return
		}
		switch {
		case e.c.Broken():
			if sl.e.CompareAndSwap(e, nil) {
				e.c.Close()
				p.notFull()
			}
		case lease > 0 && now.Sub(e.born) >= lease:
			if sl.e.CompareAndSwap(e, nil) {
				p.drain = append(p.drain, drained{e: e, gen: p.gen, at: now})
				p.notFull()
			}
		}
	}
	for _, sl := range s.slots {
		check(sl)
	}
	for h := range p.handles {
		check(h.slot.Load())
	}
	// Retired slots: move their connection to the drain list; keep those
	// still dialing for a later sweep.
	keep := p.retired[:0]
	for _, sl := range p.retired {
		e := sl.e.Load()
		switch {
		case e == nil:
		case e.c == nil:
			keep = append(keep, sl)
		case sl.e.CompareAndSwap(e, nil):
			p.drain = append(p.drain, drained{e: e, gen: sl.retiredGen, at: sl.retiredAt})
		default:
			keep = append(keep, sl)
		}
	}
	clear(p.retired[len(keep):])
	p.retired = keep
	// Drained connections: close once idle and retired before the
	// previous sweep (d.gen counts the sweeps before retirement), or when
	// the drain timeout passed.
	rest := p.drain[:0]
	for _, d := range p.drain {
		c := d.e.c
		if c.Broken() || now.Sub(d.at) >= p.m.cfg.DrainTimeout ||
			(d.gen+1 < p.gen && c.Stats().InFlight <= 0) {
			c.Close()
			continue
		}
		rest = append(rest, d)
	}
	clear(p.drain[len(rest):])
	p.drain = rest
}

// close closes every connection of p now and makes later Gets fail with
// ErrClosed. A dial still running closes its connection when it ends.
// p.mu held.
func (p *Pool) close() {
	old := p.snap.Load()
	if old.closed {
		return
	}
	p.snap.Store(&snapshot{closed: true})
	for _, sl := range old.slots {
		p.retire(sl)
	}
	for h := range p.handles {
		p.retire(h.slot.Load())
	}
	for _, sl := range p.retired {
		if e := sl.e.Load(); e != nil && e.c != nil && sl.e.CompareAndSwap(e, nil) {
			e.c.Close()
		}
	}
	p.retired = nil
	for _, d := range p.drain {
		d.e.c.Close()
	}
	p.drain = nil
}
