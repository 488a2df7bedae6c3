package dispatch

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/sipcm/sipcm/internal/wheel"
	"github.com/sipcm/sipcm/sipparse"
)

// Correlation of the requests sent with their responses.
//
// Each request sent (but ACK) gets a tx, found by the key encoded in its
// branch (txShards, each with its own lock and timing wheel), and linked
// in the list of its connection (connShards), which counts the outstanding
// requests per endpoint for throttling and lets HandleClose end them. A tx
// ends once: whoever wins the CompareAndSwap of its state (final response,
// timeout, connection break, send failure, Close) removes it everywhere and
// makes the last call of its ResponseFunc.

const (
	txShards   = 32
	connShards = 32

	txPending uint32 = 0
	txDone    uint32 = 1
)

// ResponseFunc receives what becomes of a request sent with
// Dispatcher.Send: each provisional response (m not nil, 1xx), then either
// the final response (m not nil, status >= 200) or an error that ended the
// request (m nil): ErrTimeout, ErrConnBroken, ErrSendFailed or ErrClosed,
// possibly wrapped. After the final response or the error there are no more
// calls. c is the connection the response arrived on, or the one the
// request was sent on. m and its bytes are valid only during the call.
//
// Calls are made on the loop of the connection (for a timeout, through
// Conn.Execute; on the goroutine that ended the request when the
// connection has closed), so for one request they come one at a time and
// in order. A ResponseFunc must not block.
type ResponseFunc func(c Conn, m *sipparse.Message, err error)

type tx struct {
	key    uint64
	ep     *Endpoint
	fn     ResponseFunc
	c      Conn
	connID uint64
	method sipparse.Method
	state  atomic.Uint32
	timer  wheel.Entry[*tx] // under the tx shard's lock

	// Under the conn shard's lock.
	cs         *connTxs
	prev, next *tx
	brk        *tx // chain built by HandleClose
}

type txShard struct {
	mu sync.Mutex
	m  map[uint64]*tx
	w  *wheel.Wheel[*tx]
	_  [64 - 24]byte
}

// connTxs lists the requests outstanding on one connection. It exists
// while there is one, and is recycled through connPool.
type connTxs struct {
	first *tx
	n     int
	// Outstanding requests per endpoint: the first endpoint inline (the
	// common case of one endpoint per connection), the others in more.
	ep0  *Endpoint
	n0   int
	more map[*Endpoint]int
}

var connPool = sync.Pool{New: func() any { return new(connTxs) }}

// count returns the requests of e outstanding.
func (cs *connTxs) count(e *Endpoint) int {
	if cs.ep0 == e {
		return cs.n0
	}
	return cs.more[e]
}

// add adds delta to the requests of e outstanding.
func (cs *connTxs) add(e *Endpoint, delta int) {
	switch {
	case cs.ep0 == e:
		cs.n0 += delta
		if cs.n0 == 0 {
			cs.ep0 = nil
		}
	case cs.ep0 == nil && delta > 0 && cs.more[e] == 0:
		cs.ep0, cs.n0 = e, delta
	default:
		if cs.more == nil {
			cs.more = make(map[*Endpoint]int)
		}
		if n := cs.more[e] + delta; n > 0 {
			cs.more[e] = n
		} else {
			delete(cs.more, e)
		}
	}
}

// free resets cs and returns it to the pool. cs must be unreachable.
func (cs *connTxs) free() {
	cs.first, cs.n, cs.ep0, cs.n0 = nil, 0, nil, 0
	clear(cs.more)
	connPool.Put(cs)
}

type connShard struct {
	mu sync.Mutex
	m  map[uint64]*connTxs
	_  [64 - 16]byte
}

func (d *Dispatcher) txShard(key uint64) *txShard    { return &d.txs[key%txShards] }
func (d *Dispatcher) connShard(id uint64) *connShard { return &d.conns[id%connShards] }

// link adds t to its connection's list, refusing it when t's endpoint is
// throttled and has reached the limit there.
func (d *Dispatcher) link(t *tx) error {
	sh := d.connShard(t.connID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	cs := sh.m[t.connID]
	if t.ep.Throttled() && cs != nil && cs.count(t.ep) >= d.cfg.ThrottleLimit {
		return fmt.Errorf("%w: %d outstanding on connection %d", ErrThrottled, cs.count(t.ep), t.connID)
	}
	if cs == nil {
		cs = connPool.Get().(*connTxs)
		sh.m[t.connID] = cs
	}
	cs.add(t.ep, 1)
	cs.n++
	t.cs = cs
	t.next = cs.first
	if cs.first != nil {
		cs.first.prev = t
	}
	cs.first = t
	return nil
}

// unlink removes t from its connection's list, if still there.
func (d *Dispatcher) unlink(t *tx) {
	sh := d.connShard(t.connID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	cs := t.cs
	if cs == nil {
		return
	}
	if t.prev != nil {
		t.prev.next = t.next
	} else {
		cs.first = t.next
	}
	if t.next != nil {
		t.next.prev = t.prev
	}
	t.prev, t.next, t.cs = nil, nil, nil
	cs.add(t.ep, -1)
	if cs.n--; cs.n == 0 {
		if sh.m[t.connID] == cs {
			delete(sh.m, t.connID)
		}
		cs.free()
	}
}

// insert makes t findable by its key and arms its timeout.
func (d *Dispatcher) insert(t *tx) {
	sh := d.txShard(t.key)
	sh.mu.Lock()
	sh.m[t.key] = t
	sh.w.Add(&t.timer, d.clock.Now()+d.cfg.Timeout)
	sh.mu.Unlock()
	d.stats.outstanding.Add(1)
}

// end ends t if it is still pending and reports whether this call did.
func (d *Dispatcher) end(t *tx) bool {
	if !t.state.CompareAndSwap(txPending, txDone) {
		return false
	}
	d.finish(t)
	return true
}

// finish removes an ended t from every structure.
func (d *Dispatcher) finish(t *tx) {
	sh := d.txShard(t.key)
	sh.mu.Lock()
	delete(sh.m, t.key)
	sh.w.Cancel(&t.timer)
	sh.mu.Unlock()
	d.unlink(t)
	d.stats.outstanding.Add(-1)
}

// deliverAsync calls t's ResponseFunc with err on its connection's loop,
// or here when the connection has closed.
func (d *Dispatcher) deliverAsync(t *tx, err error) {
	c, fn := t.c, t.fn
	if c.Execute(func() { fn(c, nil, err) }) != nil {
		fn(c, nil, err)
	}
}

// handleResponse delivers a response to the sender of its request.
func (d *Dispatcher) handleResponse(c Conn, m *sipparse.Message) {
	if len(m.Vias) == 0 {
		d.stats.stray.Add(1)
		return
	}
	key, ok := d.parseBranch(m.Bytes(m.Vias[0].Branch))
	if !ok {
		d.stats.stray.Add(1)
		return
	}
	sh := d.txShard(key)
	sh.mu.Lock()
	t := sh.m[key]
	sh.mu.Unlock()
	switch {
	case t == nil:
		d.stats.late.Add(1)
		return
	case t.method != sipparse.MethodUnknown && m.CSeq.Method != t.method:
		d.stats.stray.Add(1) // RFC 3261 §17.1.3: the CSeq method must match too
		return
	}
	if m.StatusCode >= 200 {
		if !d.end(t) {
			d.stats.late.Add(1)
			return
		}
	} else if t.state.Load() != txPending {
		d.stats.late.Add(1)
		return
	}
	d.stats.responses.Add(1)
	t.fn(c, m, nil)
}

// HandleClose ends every request outstanding on c with ErrConnBroken
// (wrapping err when not nil), calling their ResponseFuncs here. Call it
// when c has closed (the engine's HandleClose). Loop only.
func (d *Dispatcher) HandleClose(c Conn, err error) {
	id := c.ID()
	sh := d.connShard(id)
	sh.mu.Lock()
	cs := sh.m[id]
	delete(sh.m, id)
	var chain *tx
	if cs != nil {
		for t := cs.first; t != nil; {
			next := t.next
			t.prev, t.next, t.cs = nil, nil, nil
			t.brk = chain
			chain = t
			t = next
		}
		cs.free()
	}
	sh.mu.Unlock()
	if chain == nil {
		return
	}
	e := ErrConnBroken
	if err != nil {
		e = fmt.Errorf("%w: %w", ErrConnBroken, err)
	}
	for t := chain; t != nil; {
		next := t.brk
		t.brk = nil
		if d.end(t) {
			d.stats.broken.Add(1)
			t.fn(t.c, nil, e)
		}
		t = next
	}
}

// Sweep ends the requests whose timeout has passed by Config.Clock with
// ErrTimeout. Start runs it every Config.Tick; tests with a fake clock call
// it directly. Any goroutine.
func (d *Dispatcher) Sweep() {
	d.sweepMu.Lock()
	now := d.clock.Now()
	for i := range d.txs {
		sh := &d.txs[i]
		sh.mu.Lock()
		sh.w.Advance(now) // the callback ends the due ones into d.expired
		sh.mu.Unlock()
	}
	exp := d.expired
	d.expired = nil
	d.sweepMu.Unlock()
	if len(exp) == 0 {
		d.giveBack(exp)
		return
	}
	// Outside the lock: a ResponseFunc run by Execute may call Sweep.
	for i, t := range exp {
		exp[i] = nil
		d.finish(t)
		d.stats.timeouts.Add(1)
		d.deliverAsync(t, ErrTimeout)
	}
	d.giveBack(exp[:0])
}

// giveBack returns Sweep's scratch slice for the next Sweep.
func (d *Dispatcher) giveBack(exp []*tx) {
	d.sweepMu.Lock()
	if d.expired == nil {
		d.expired = exp
	}
	d.sweepMu.Unlock()
}

// endAll ends every outstanding request with err.
func (d *Dispatcher) endAll(err error) {
	var all []*tx
	for i := range d.txs {
		sh := &d.txs[i]
		sh.mu.Lock()
		for _, t := range sh.m {
			all = append(all, t)
		}
		sh.mu.Unlock()
	}
	for _, t := range all {
		if d.end(t) {
			d.deliverAsync(t, err)
		}
	}
}

// Outstanding returns the number of requests sent on the connection with
// the given ID that wait for their final response (the engine reports it
// as the connection's in-flight work). Any goroutine.
func (d *Dispatcher) Outstanding(connID uint64) int {
	sh := d.connShard(connID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if cs := sh.m[connID]; cs != nil {
		return cs.n
	}
	return 0
}
