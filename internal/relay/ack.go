package relay

import (
	"bytes"
	"time"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/sipparse"
)

// ACK of a non-2xx final response (RFC 3261 §17.1.1.3). It is part of the
// INVITE's client transaction: it carries the INVITE's branch, and the
// upstream matches it to its INVITE server transaction by branch and
// sent-by (§17.2.3); forwarded under a Via of its own it matches nothing,
// and that transaction ends only on its timer H. The dispatcher gives every
// request a branch of its own and its connection's address as sent-by, so
// for each INVITE that gets a non-2xx final response from the upstream the
// relay keeps the client's branch, the Via the INVITE went out with
// (dispatch.Dispatcher.AppendVia) and its connection, until the client's
// ACK, which has the INVITE's branch, comes or ackWait has passed. That ACK
// is sent under the INVITE's Via, on the INVITE's connection (or, when it
// has closed, on another of the pool: the upstream matches by Via, not by
// connection), with no correlation entry. Any other ACK (of a 2xx, a
// transaction of its own with a branch of its own, or of an INVITE
// forgotten) is forwarded statelessly with a new branch.
//
// The INVITEs awaiting their ACK wait in a FIFO (their deadlines are in the
// same order) of at most maxAwaitingACK, indexed by a hash of the client's
// branch, under imu. Expired entries go when an entry is added, oldest
// first; past the bound the oldest is forgotten.

const (
	// ackWait is how long an INVITE waits for its ACK: timer H, how long
	// the upstream's INVITE server transaction waits (64*T1).
	ackWait = 64 * dispatch.DefaultT1
	// maxAwaitingACK bounds the INVITEs awaiting their ACK.
	maxAwaitingACK = 4096
)

// awaitACK is an INVITE that got a non-2xx final response and awaits its
// ACK. Guarded by Relay.imu.
type awaitACK struct {
	key    uint64        // branchKey(branch)
	branch []byte        // the client's branch
	via    []byte        // the relay's via-parm of the INVITE
	up     *engine.Conn  // the connection the INVITE went on
	at     time.Duration // when the final response came (Relay.now)
	taken  bool          // its ACK came (it stays in the FIFO until popped)
	next   *awaitACK     // in the FIFO, or in the free list
}

// ackTable holds the INVITEs awaiting their ACK. Guarded by Relay.imu.
type ackTable struct {
	m          map[uint64]*awaitACK
	head, tail *awaitACK
	n          int // entries in the FIFO, taken ones included
	free       *awaitACK
}

// add records that the INVITE with the client's branch, sent on up with
// the via-parm via, got a non-2xx final response at now. Expired entries
// go first, and the oldest when the table is full. imu held.
func (t *ackTable) add(branch, via []byte, up *engine.Conn, now time.Duration) {
	for t.head != nil && (t.head.taken || now-t.head.at >= ackWait || t.n >= maxAwaitingACK) {
		t.pop()
	}
	e := t.free
	if e != nil {
		t.free = e.next
	} else {
		e = new(awaitACK)
	}
	e.key = branchKey(branch)
	e.branch = append(e.branch[:0], branch...)
	e.via = append(e.via[:0], via...)
	e.up, e.at, e.taken, e.next = up, now, false, nil
	if t.m == nil {
		t.m = make(map[uint64]*awaitACK)
	}
	t.m[e.key] = e // a later INVITE with the same branch wins
	if t.tail == nil {
		t.head = e
	} else {
		t.tail.next = e
	}
	t.tail = e
	t.n++
}

// pop removes the oldest entry. imu held.
func (t *ackTable) pop() {
	e := t.head
	t.head = e.next
	if t.head == nil {
		t.tail = nil
	}
	t.n--
	if !e.taken && t.m[e.key] == e {
		delete(t.m, e.key)
	}
	e.up = nil
	e.branch, e.via = trim(e.branch), trim(e.via)
	e.next = t.free
	t.free = e
}

// take returns the live entry of the client's branch and marks it taken,
// or nil. The entry's fields stay valid until imu is released. imu held.
func (t *ackTable) take(branch []byte, now time.Duration) *awaitACK {
	k := branchKey(branch)
	e := t.m[k]
	if e == nil || !bytes.Equal(e.branch, branch) {
		return nil
	}
	delete(t.m, k)
	e.taken = true
	if now-e.at >= ackWait {
		return nil
	}
	return e
}

// awaitACK records that the INVITE of p got the non-2xx final response m
// on uc, so that its ACK goes out under its Via. Loop only (uc's).
func (r *Relay) awaitACK(p *pending, uc *engine.Conn, m *sipparse.Message) {
	if len(p.inv.branch) == 0 || len(m.Vias) == 0 {
		return
	}
	var vb [128]byte
	via := r.appendVia(vb[:0], uc, m)
	r.imu.Lock()
	r.acks.add(p.inv.branch, via, uc, r.now())
	r.imu.Unlock()
}

// forwardTxACK sends the ACK m read on c, from host and port, under the Via
// of its INVITE when that INVITE awaits it, and reports whether it did (or
// tried: a failure is counted as a drop). Loop only (c's).
func (r *Relay) forwardTxACK(b *binding, c *engine.Conn, m *sipparse.Message, host []byte, port int) bool {
	if len(m.Vias) == 0 {
		return false
	}
	branch := m.Bytes(m.Vias[0].Branch)
	if len(branch) == 0 {
		return false
	}
	r.imu.Lock()
	e := r.acks.take(branch, r.now())
	if e == nil {
		r.imu.Unlock()
		return false
	}
	bp := getBuf()
	*bp = appendWithVia((*bp)[:0], AppendRequest(c.Scratch(), m, host, port), e.via)
	up := e.up
	r.imu.Unlock()
	done := func(err error) {
		putBuf(bp)
		r.sentTxACK(c, err)
	}
	if up.Send(*bp, done) == nil {
		return true
	}
	// The INVITE's connection has closed: another with the same Via.
	if uc, err := b.m.TryConnFor(b.ep, r.cfg.Upstream, nil); err == nil && uc.Send(*bp, done) == nil {
		return true
	}
	putBuf(bp)
	r.sentTxACK(c, engine.ErrConnClosed)
	return true
}

// sentTxACK counts the outcome of sending an ACK under its INVITE's Via.
func (r *Relay) sentTxACK(c *engine.Conn, err error) {
	if err != nil {
		r.stats.dropped.Add(1)
		r.debug("relay: ACK not sent", c, err)
		return
	}
	r.stats.forwardedACK.Add(1)
	r.stats.txACKs.Add(1)
}
