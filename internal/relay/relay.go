package relay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/pool"
	"github.com/sipcm/sipcm/sipparse"
)

// Relay forwards every request its manager reads to one upstream through
// the manager's pool, and relays the upstream's responses back. It is the
// engine.Handler of the manager (or managers) whose listeners the clients
// connect to; Attach binds it to the manager that dials the upstream.
type Relay struct {
	cfg   Config
	log   *slog.Logger
	tag   []byte // To tag of the responses the relay makes itself
	ready func(error)

	b atomic.Pointer[binding]

	// The requests waiting for a dial, oldest first. epoch counts the
	// dials that ended (ready calls); it changes only under qmu.
	qmu    sync.Mutex
	qhead  *pending
	qtail  *pending
	qn     atomic.Int64  // queue length, changed under qmu
	epoch  atomic.Uint64 // changed under qmu
	closed atomic.Bool   // set under qmu

	pendings sync.Pool
	stats    stats

	// The INVITEs pending, for their CANCELs (see cancel.go), and those
	// awaiting the ACK of their non-2xx final response (see ack.go).
	imu     sync.Mutex
	invites map[uint64]*pending
	acks    ackTable

	now      func() time.Duration // monotonic clock of the ACK waits and the logs
	lastWarn atomic.Int64         // now() of the last backpressure warning, +1
}

// binding is what Attach sets: the manager that dials the upstream, its
// dispatcher and the relay's endpoint on it.
type binding struct {
	m  *engine.Manager
	d  *dispatch.Dispatcher
	ep *dispatch.Endpoint
}

// New returns a relay for cfg. It forwards nothing until Attach; until
// then requests are answered 503.
func New(cfg Config) (*Relay, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	r := &Relay{cfg: cfg, log: cfg.Logger, invites: map[uint64]*pending{}}
	start := time.Now()
	r.now = func() time.Duration { return time.Since(start) }
	var tag [8]byte
	_, _ = rand.Read(tag[:])
	r.tag = hex.AppendEncode([]byte("relay"), tag[:])
	r.ready = r.dialEnded
	r.pendings.New = func() any {
		p := &pending{r: r}
		p.fn = p.onResponse
		p.sent = p.onSent
		return p
	}
	return r, nil
}

// Attach binds the relay to m, whose pool carries the requests to the
// upstream: it adds the relay's endpoint to m's dispatcher and sets the
// upstream pool's size (Config.PoolSize). Call it once, before the
// listeners whose manager has the relay as handler accept. Any goroutine.
func (r *Relay) Attach(m *engine.Manager) error {
	if r.b.Load() != nil {
		return ErrAttached
	}
	ep, err := dispatch.NewEndpoint(dispatch.EndpointConfig{
		AOR:   "sip:relay@sipcm.invalid",
		Group: r.cfg.Group,
		// Requests are not routed to it (the relay handles them before
		// the dispatcher would); one that is gets 404.
		Handler: dispatch.HandlerFunc(func(dispatch.Conn, *sipparse.Message) int { return 404 }),
	})
	if err != nil {
		return fmt.Errorf("relay: endpoint: %w", err)
	}
	if r.cfg.PoolSize > 0 {
		k, err := engine.PoolKey(r.cfg.Upstream, r.cfg.Group)
		if err != nil {
			return fmt.Errorf("relay: upstream: %w", err)
		}
		if err := m.SetPoolSize(k, r.cfg.PoolSize); err != nil {
			return fmt.Errorf("relay: pool size: %w", err)
		}
	}
	d := m.Dispatcher()
	if err := d.Add(ep); err != nil {
		return fmt.Errorf("relay: endpoint: %w", err)
	}
	if !r.b.CompareAndSwap(nil, &binding{m: m, d: d, ep: ep}) {
		d.Remove(ep)
		return ErrAttached
	}
	return nil
}

// Upstream returns the destination the relay forwards to. Any goroutine.
func (r *Relay) Upstream() dispatch.Dest { return r.cfg.Upstream }

// PoolKey returns the key of the pool that carries the relay's requests
// (see engine.PoolKey). Any goroutine.
func (r *Relay) PoolKey() pool.Key {
	k, _ := engine.PoolKey(r.cfg.Upstream, r.cfg.Group) // validated by New
	return k
}

// HandleMessage implements engine.Handler. A request read on an incoming
// connection is forwarded to the upstream (483 when its Max-Forwards is
// 0; an ACK of a response the relay made itself is absorbed); responses,
// and requests read on outgoing connections (from the upstream), go to the
// manager's dispatcher, which correlates the responses to what the relay
// sent. Loop only.
func (r *Relay) HandleMessage(c *engine.Conn, m *sipparse.Message) {
	if !m.Request || c.Direction() == engine.Outgoing {
		c.Manager().Dispatcher().HandleMessage(c, m)
		return
	}
	r.stats.requests.Add(1)
	if m.Method == sipparse.MethodAck {
		r.forwardACK(c, m)
		return
	}
	if m.MaxForwards == 0 {
		r.answerNow(c, m, 483)
		return
	}
	b := r.b.Load()
	if b == nil || r.closed.Load() {
		r.answerNow(c, m, 503)
		return
	}
	var hb [48]byte
	ap := c.RemoteAddr()
	host, port := ap.Addr().WithZone("").AppendTo(hb[:0]), int(ap.Port())
	if m.Method == sipparse.MethodCancel && r.cancel(c, m, m.Bytes(m.Vias[0].Branch), host, port) {
		return
	}
	r.forward(b, c, m, host, port)
}

// forward sends the request m from c to the upstream. Loop only.
func (r *Relay) forward(b *binding, c *engine.Conn, m *sipparse.Message, host []byte, port int) {
	out := AppendRequest(c.Scratch(), m, host, port)

	p := r.pendings.Get().(*pending)
	r.stats.pending.Add(1)
	p.client = c
	if m.Method == sipparse.MethodInvite {
		p.invite = true
		r.indexInvite(p, m.Bytes(m.Vias[0].Branch))
	}
	// The relay's own answer (503, or 408 on a timeout), made now while m
	// is at hand: the request is gone when the answer is needed.
	p.resp = sipparse.AppendResponse(p.resp[:0], m, 503, engine.Reason(503), r.tag)

	ep := r.epoch.Load()
	ready := r.readyFor()
	uc, err := b.m.TryConnFor(b.ep, r.cfg.Upstream, ready)
	switch {
	case err == nil:
		if err := b.d.SendOn(b.ep, uc, r.cfg.Upstream.Transport, out, p.fn); err != nil {
			// Nothing was sent (the connection closed under us): ask
			// the pool again, off the fast path.
			r.debug("relay: send failed", c, err)
			p.fwd = append(p.fwd[:0], out...)
			r.retry(p)
			return
		}
		r.stats.forwarded.Add(1)
	case errors.Is(err, pool.ErrDialing):
		p.fwd = append(p.fwd[:0], out...)
		r.wait(p, ep, ready != nil)
	default:
		r.debug("relay: no upstream connection", c, err)
		r.count(503)
		r.write(c, p.resp)
		p.free()
	}
}

// forwardACK sends an ACK with no correlation entry: under its INVITE's
// Via when it acknowledges a non-2xx final response from the upstream
// (ack.go), else statelessly with a new branch (RFC 3261 §16.11). An ACK of
// a response the relay made itself is absorbed. Loop only.
func (r *Relay) forwardACK(c *engine.Conn, m *sipparse.Message) {
	if tag := m.Bytes(m.To.Tag); len(tag) > 0 && string(tag) == string(r.tag) {
		r.stats.absorbed.Add(1)
		return
	}
	b := r.b.Load()
	if b == nil || m.MaxForwards == 0 || r.closed.Load() {
		r.stats.dropped.Add(1)
		return
	}
	var hb [48]byte
	ap := c.RemoteAddr()
	host := ap.Addr().WithZone("").AppendTo(hb[:0])
	if r.forwardTxACK(b, c, m, host, int(ap.Port())) {
		return
	}
	out := AppendRequest(c.Scratch(), m, host, int(ap.Port()))
	ep := r.epoch.Load()
	ready := r.readyFor()
	uc, err := b.m.TryConnFor(b.ep, r.cfg.Upstream, ready)
	switch {
	case err == nil:
		if err := b.d.SendOn(b.ep, uc, r.cfg.Upstream.Transport, out, nil); err != nil {
			p := r.pendings.Get().(*pending)
			p.client, p.ack = c, true
			p.fwd = append(p.fwd[:0], out...)
			r.retry(p)
			return
		}
		r.stats.forwardedACK.Add(1)
	case errors.Is(err, pool.ErrDialing):
		p := r.pendings.Get().(*pending)
		p.client, p.ack = c, true
		p.fwd = append(p.fwd[:0], out...)
		r.wait(p, ep, ready != nil)
	default:
		r.stats.dropped.Add(1)
	}
}

// readyFor returns the function the pool calls when a dial ends, or nil
// when the wait queue is full (the request then gets 503 rather than wait).
func (r *Relay) readyFor() func(error) {
	if r.qn.Load() >= int64(r.cfg.MaxWaiting) {
		return nil
	}
	return r.ready
}

// answerNow answers the request m on c with status. Loop only.
func (r *Relay) answerNow(c *engine.Conn, m *sipparse.Message, status int) {
	r.count(status)
	r.write(c, sipparse.AppendResponse(c.Scratch(), m, status, engine.Reason(status), r.tag))
}

// write writes b, a response, on c; a failure is counted and logged
// (undelivered). Loop only.
func (r *Relay) write(c *engine.Conn, b []byte) {
	if err := c.Write(b); err != nil {
		r.undelivered(c, err)
	}
}

// warnEvery spaces the warnings about clients that do not read.
const warnEvery = time.Second

// undelivered counts a response that could not be written to the client
// c, and logs it: at Warn level, at most once per warnEvery, when c's
// outbound buffer is over its high-water mark (the client does not read
// what it asked for), at Debug level when c has closed. Any goroutine.
func (r *Relay) undelivered(c *engine.Conn, err error) {
	r.stats.dropped.Add(1)
	if !errors.Is(err, engine.ErrBackpressure) {
		r.debug("relay: response dropped, client gone", c, err)
		return
	}
	n := r.stats.backpressure.Add(1)
	now := int64(r.now()) + 1 // 0 means never
	last := r.lastWarn.Load()
	if last != 0 && now-last < int64(warnEvery) || !r.lastWarn.CompareAndSwap(last, now) {
		return
	}
	r.log.Warn("relay: response dropped: the client does not read (outbound buffer over the high-water mark)",
		"conn", c.ID(), "remote", c.RemoteAddr(), "backpressure_total", n)
}

// count counts a response the relay made itself.
func (r *Relay) count(status int) {
	switch status {
	case 483:
		r.stats.tooManyHops.Add(1)
	case 408:
		r.stats.timeouts.Add(1)
	case 503:
		r.stats.unavailable.Add(1)
	}
}

func (r *Relay) debug(msg string, c *engine.Conn, err error) {
	if r.log.Enabled(context.Background(), slog.LevelDebug) {
		r.log.Debug(msg, "conn", c.ID(), "upstream", UpstreamString(r.cfg.Upstream), "err", err)
	}
}

// Close ends the relay: the requests waiting for a dial are answered 503,
// later requests too, and the relay's endpoint is removed from its
// dispatcher. Requests already sent end as the dispatcher ends them (with
// the manager's Close). Any goroutine; idempotent.
func (r *Relay) Close() error {
	r.qmu.Lock()
	if r.closed.Load() {
		r.qmu.Unlock()
		return nil
	}
	r.closed.Store(true)
	list := r.takeAll()
	r.qmu.Unlock()
	for p := list; p != nil; {
		next := p.next
		p.next = nil
		p.fail(503)
		p = next
	}
	if b := r.b.Load(); b != nil {
		b.d.Remove(b.ep)
	}
	return nil
}

// drainPoll is how often Drain checks for requests in flight.
const drainPoll = 20 * time.Millisecond

// Dispatcher returns the dispatcher the relay sends through, nil before
// Attach. Any goroutine.
func (r *Relay) Dispatcher() *dispatch.Dispatcher {
	if b := r.b.Load(); b != nil {
		return b.d
	}
	return nil
}

// Drain waits until no request is waiting for a dial and the dispatcher
// has no request outstanding, or until ctx ends (then it returns ctx's
// error). Requests still arriving are forwarded meanwhile: close the
// listeners first. Any goroutine but an event loop.
func (r *Relay) Drain(ctx context.Context) error {
	t := time.NewTicker(drainPoll)
	defer t.Stop()
	for {
		idle := r.qn.Load() == 0
		if d := r.Dispatcher(); d != nil && d.Stats().Outstanding > 0 {
			idle = false
		}
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
