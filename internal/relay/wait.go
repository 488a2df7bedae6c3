package relay

import (
	"errors"

	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/pool"
)

// Requests that find no live connection in the pool wait for the dial
// the pool starts, in a bounded FIFO queue. The pool calls r.ready when a
// dial ends (once per registration, on the dialing goroutine); it takes
// the whole queue and asks the pool again for each request. A request
// queued after its dial ended would never be woken, so each ready call
// bumps epoch under qmu, and a request is queued only if no dial has ended
// since it asked the pool; else it asks again. Each request asks at most
// maxTries times after its first attempt, then gets 503 (an ACK is
// dropped). A request whose send failed with nothing sent (its connection
// closed under it) asks again the same way.

// wait queues p, which asked the pool when epoch was ep and got
// pool.ErrDialing; registered says whether the pool will call r.ready.
// Any goroutine.
func (r *Relay) wait(p *pending, ep uint64, registered bool) {
	r.qmu.Lock()
	switch {
	case r.closed.Load():
		r.qmu.Unlock()
		p.fail(503)
	case r.epoch.Load() != ep:
		r.qmu.Unlock()
		r.retry(p)
	case !registered || r.qn.Load() >= int64(r.cfg.MaxWaiting):
		r.qmu.Unlock()
		r.stats.overflow.Add(1)
		p.fail(503)
	default:
		r.push(p)
		r.qmu.Unlock()
	}
}

// dialEnded is r.ready: a dial of the pool ended. Any goroutine; it does
// not block.
func (r *Relay) dialEnded(error) {
	r.qmu.Lock()
	r.epoch.Add(1)
	list := r.takeAll()
	r.qmu.Unlock()
	for p := list; p != nil; {
		next := p.next
		p.next = nil
		r.retry(p)
		p = next
	}
}

// retry asks the pool again for a connection for the waiting p, and sends
// it, queues it again or answers 503. Any goroutine; it does not block.
func (r *Relay) retry(p *pending) {
	b := r.b.Load()
	for {
		if p.tries++; p.tries > maxTries || b == nil {
			p.fail(503)
			return
		}
		ep := r.epoch.Load()
		ready := r.readyFor()
		uc, err := b.m.TryConnFor(b.ep, r.cfg.Upstream, ready)
		switch {
		case err == nil:
			if r.send(b, p, uc) {
				return
			}
			continue // nothing was sent: ask again
		case errors.Is(err, pool.ErrDialing) && ready != nil:
			r.qmu.Lock()
			switch {
			case r.closed.Load():
				r.qmu.Unlock()
				p.fail(503)
				return
			case r.epoch.Load() != ep:
				r.qmu.Unlock()
				continue
			}
			r.push(p)
			r.qmu.Unlock()
			return
		default:
			if ready == nil {
				r.stats.overflow.Add(1)
			}
			p.fail(503)
			return
		}
	}
}

// send sends the waiting p on uc and reports whether it did; when it did
// not, nothing was sent and p is still the caller's. Any goroutine.
func (r *Relay) send(b *binding, p *pending, uc *engine.Conn) bool {
	if p.ack {
		if err := b.d.SendOn(b.ep, uc, r.cfg.Upstream.Transport, p.fwd, nil); err != nil {
			return false
		}
		r.stats.forwardedACK.Add(1)
		p.free()
		return true
	}
	if err := b.d.SendOn(b.ep, uc, r.cfg.Upstream.Transport, p.fwd, p.fn); err != nil {
		return false
	}
	// p belongs to its request now: it may already be freed.
	r.stats.forwarded.Add(1)
	return true
}

// push appends p to the queue. qmu must be held.
func (r *Relay) push(p *pending) {
	if r.qtail == nil {
		r.qhead = p
	} else {
		r.qtail.next = p
	}
	r.qtail = p
	r.qn.Add(1)
}

// takeAll empties the queue and returns its head. qmu must be held.
func (r *Relay) takeAll() *pending {
	p := r.qhead
	r.qhead, r.qtail = nil, nil
	r.qn.Store(0)
	return p
}
