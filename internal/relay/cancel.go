package relay

import (
	"bytes"

	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/sipparse"
)

// CANCEL (RFC 3261 §9, §16.10). An upstream matches a CANCEL to the INVITE
// it cancels by the branch of its top Via, which must be the INVITE's; the
// dispatcher gives every request a branch of its own, so a CANCEL of an
// INVITE the relay still has pending is not forwarded as a new request:
// the relay answers it 200 itself and sends the upstream the client's
// CANCEL under the INVITE's Via (learnt from the INVITE's first response,
// since a CANCEL must not be sent before a provisional response, §9.1), on
// the connection the INVITE went on, with no correlation entry: the
// upstream's answer to it is dropped, and its 487 to the INVITE comes back
// through the INVITE. A CANCEL of an INVITE the relay does not know (ended,
// or never seen) is forwarded like any request (§16.10).
//
// The pending INVITEs are indexed by a hash of the client's branch, under
// imu, which also guards the invite fields of their pendings and the
// INVITEs awaiting their ACK (ack.go).

// invite is the state of a pending INVITE that a CANCEL needs. Guarded by
// Relay.imu once the pending is indexed.
type invite struct {
	key     uint64       // hash of branch; 0 when not indexed
	branch  []byte       // the client's branch
	via     []byte       // the relay's via-parm, from the first response
	up      *engine.Conn // the connection the INVITE went on
	cancel  []byte       // a CANCEL waiting for the first response
	pending bool         // cancel holds a CANCEL
}

// branchKey returns the FNV-1a hash of a branch, never 0.
func branchKey(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	if h == 0 {
		h = 1
	}
	return h
}

// indexInvite keeps the client's branch of p, an INVITE, for its ACK, and
// indexes p by it for its CANCEL. Any goroutine.
func (r *Relay) indexInvite(p *pending, branch []byte) {
	p.inv.branch = append(p.inv.branch[:0], branch...)
	if len(branch) == 0 {
		return
	}
	k := branchKey(branch)
	r.imu.Lock()
	if _, taken := r.invites[k]; !taken {
		p.inv.key = k
		r.invites[k] = p
	}
	r.imu.Unlock()
}

// unindexInvite removes p from the index, before p is reused. Any
// goroutine.
func (r *Relay) unindexInvite(p *pending) {
	if p.inv.key == 0 {
		return
	}
	r.imu.Lock()
	if r.invites[p.inv.key] == p {
		delete(r.invites, p.inv.key)
	}
	p.inv.key, p.inv.up, p.inv.pending = 0, nil, false
	p.inv.via, p.inv.cancel = trim(p.inv.via), trim(p.inv.cancel)
	r.imu.Unlock()
}

// inviteResponse learns the relay's Via of an indexed INVITE from a
// response m read on uc (the connection the INVITE went on), and sends the
// CANCEL that waited for it. Loop only (uc's).
func (r *Relay) inviteResponse(p *pending, uc *engine.Conn, m *sipparse.Message) {
	if len(m.Vias) == 0 {
		return
	}
	var b []byte
	r.imu.Lock()
	if p.inv.key != 0 && p.inv.up == nil {
		p.inv.via = r.appendVia(p.inv.via[:0], uc, m)
		p.inv.up = uc
		if p.inv.pending {
			p.inv.pending = false
			b = appendWithVia(uc.Scratch(), p.inv.cancel, p.inv.via)
		}
	}
	r.imu.Unlock()
	if b != nil {
		r.sentCancel(uc.Write(b))
	}
}

// cancel handles a CANCEL read on c whose top Via has branch: when the
// INVITE it cancels is pending here, it answers it 200, sends or keeps it
// for the upstream and reports true; else it reports false and the CANCEL
// is to be forwarded like any request. Loop only (c's).
func (r *Relay) cancel(c *engine.Conn, m *sipparse.Message, branch []byte, host []byte, port int) bool {
	if len(branch) == 0 {
		return false
	}
	k := branchKey(branch)
	r.imu.Lock()
	p := r.invites[k]
	if p == nil || !bytes.Equal(p.inv.branch, branch) {
		r.imu.Unlock()
		return false
	}
	fwd := AppendRequest(c.Scratch(), m, host, port)
	if up := p.inv.up; up != nil {
		bp := getBuf()
		*bp = appendWithVia((*bp)[:0], fwd, p.inv.via)
		r.imu.Unlock()
		if err := up.Send(*bp, func(err error) {
			putBuf(bp)
			r.sentCancel(err)
		}); err != nil {
			putBuf(bp)
			r.sentCancel(err)
		}
	} else {
		p.inv.cancel = append(p.inv.cancel[:0], fwd...)
		p.inv.pending = true
		r.imu.Unlock()
	}
	r.stats.cancels.Add(1)
	r.write(c, sipparse.AppendResponse(c.Scratch(), m, 200, "OK", r.tag))
	return true
}

// appendVia appends the via-parm the request answered by m went out with
// on uc (see dispatch.Dispatcher.AppendVia): the response's top Via may
// carry parameters the upstream added. m has a Via. Any goroutine.
func (r *Relay) appendVia(dst []byte, uc *engine.Conn, m *sipparse.Message) []byte {
	return uc.Manager().Dispatcher().AppendVia(dst, uc, r.cfg.Upstream.Transport, m.Bytes(m.Vias[0].Branch))
}

// sentCancel counts the outcome of sending a CANCEL upstream.
func (r *Relay) sentCancel(err error) {
	if err != nil {
		r.stats.dropped.Add(1)
		return
	}
	r.stats.forwardedCancel.Add(1)
}

// appendWithVia appends req with "Via: via" inserted after its request
// line.
func appendWithVia(dst, req, via []byte) []byte {
	eol := bytes.Index(req, []byte("\r\n")) + 2
	dst = append(dst, req[:eol]...)
	dst = append(dst, "Via: "...)
	dst = append(dst, via...)
	dst = append(dst, "\r\n"...)
	return append(dst, req[eol:]...)
}
