package relay

import (
	"errors"
	"sync"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/sipparse"
)

// maxKeep is the largest buffer a pending keeps for reuse.
const maxKeep = 64 << 10

// pending is one request the relay forwarded, or is about to: what it
// needs to relay the responses to the client, or to answer the client
// itself when the request fails. Pendings are pooled; one is reused once
// its request has ended and the last write to the client is done.
type pending struct {
	r      *Relay
	client *engine.Conn          // the connection the request came on
	fn     dispatch.ResponseFunc // p.onResponse, bound once
	sent   func(error)           // p.onSent, bound once
	resp   []byte                // the relay's 503 answer to the request
	out    []byte                // the final response being sent to the client
	fwd    []byte                // the forwarded request, while it waits for a dial
	ack    bool                  // an ACK: no answer, no correlation
	ours   bool                  // out holds an answer the relay made
	tries  int                   // times it asked the pool for a connection after waiting
	next   *pending              // in the wait queue
	invite bool                  // an INVITE: inv may index it for its CANCEL
	inv    invite
}

// onResponse is the dispatch.ResponseFunc of the request: it relays each
// response to the client without the relay's Via, or answers 408 (the
// request timed out) or 503 (its connection broke, its send failed, the
// manager closed). Called on the upstream connection's loop for a
// response, on any goroutine for an error.
func (p *pending) onResponse(c dispatch.Conn, m *sipparse.Message, err error) {
	r := p.r
	if m == nil {
		status := 503
		if errors.Is(err, dispatch.ErrTimeout) {
			status = 408
		}
		p.fail(status)
		return
	}
	final := m.StatusCode >= 200
	uc, _ := c.(*engine.Conn)
	if p.invite && uc != nil {
		r.inviteResponse(p, uc, m)
	}
	if p.invite && m.StatusCode >= 300 && uc != nil {
		// Before the client can have it, and ACK it.
		r.awaitACK(p, uc, m)
	}
	// A response comes on uc's loop: write at once when the client is on
	// it too.
	if uc != nil && p.client.SameLoop(uc) {
		if err := p.client.Write(AppendResponse(uc.Scratch(), m)); err != nil {
			r.undelivered(p.client, err)
		} else {
			r.stats.relayed.Add(1)
		}
		if final {
			p.free()
		}
		return
	}
	if final {
		p.out = AppendResponse(p.out[:0], m)
		p.ours = false
		p.deliver()
		return
	}
	// A provisional response for a client on another loop: a buffer of
	// its own, since more responses may follow before it is written. The
	// final one may be written first, and p freed: done uses only client.
	client := p.client
	bp := getBuf()
	*bp = AppendResponse((*bp)[:0], m)
	if err := client.Send(*bp, func(err error) {
		putBuf(bp)
		r.delivered(client, err, false)
	}); err != nil {
		putBuf(bp)
		r.undelivered(client, err)
	}
}

// fail answers the request with status (503 or 408), or drops an ACK. Any
// goroutine.
func (p *pending) fail(status int) {
	if p.ack {
		p.r.stats.dropped.Add(1)
		p.free()
		return
	}
	p.r.count(status)
	p.out = appendStatus(p.out[:0], p.resp, status, engine.Reason(status))
	p.ours = true
	p.deliver()
}

// deliver sends p.out to the client from any goroutine; p is freed once
// it is written.
func (p *pending) deliver() {
	if err := p.client.Send(p.out, p.sent); err != nil {
		p.r.undelivered(p.client, err)
		p.free()
	}
}

// onSent ends deliver on the client's loop.
func (p *pending) onSent(err error) {
	p.r.delivered(p.client, err, p.ours)
	p.free()
}

// delivered counts the outcome of a write to the client c.
func (r *Relay) delivered(c *engine.Conn, err error, ours bool) {
	switch {
	case err != nil:
		r.undelivered(c, err)
	case !ours:
		r.stats.relayed.Add(1)
	}
}

// free resets p and returns it to the pool.
func (p *pending) free() {
	if p.invite {
		p.r.unindexInvite(p)
	}
	if !p.ack {
		p.r.stats.pending.Add(-1)
	}
	p.client, p.ack, p.ours, p.tries, p.next, p.invite = nil, false, false, 0, nil, false
	p.resp, p.out, p.fwd = trim(p.resp), trim(p.out), trim(p.fwd)
	p.r.pendings.Put(p)
}

func trim(b []byte) []byte {
	if cap(b) > maxKeep {
		return nil
	}
	return b[:0]
}

// bufs holds the buffers of provisional responses relayed across loops.
var bufs = sync.Pool{New: func() any { return new([]byte) }}

func getBuf() *[]byte { return bufs.Get().(*[]byte) }

func putBuf(bp *[]byte) {
	if cap(*bp) <= maxKeep {
		*bp = (*bp)[:0]
		bufs.Put(bp)
	}
}
