package engine

import (
	"context"
	"math/rand/v2"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/pool"
)

// Each endpoint that sends holds a pool handle per destination it sends
// to: its reference on the pool, released when the endpoint is removed
// from the dispatcher, so that a pool no endpoint uses lingers and closes.
// On a client manager (pools Unlimited by default) each handle has a
// connection of its own: endpoints never share one. On a server manager
// the handles of one pool share its connections; the pool's key holds the
// endpoint's group, so groups never share.

type handleKey struct {
	e *dispatch.Endpoint
	k pool.Key
}

// handle returns e's handle on the pool for k, acquiring it on first use.
// It fails with dispatch.ErrNotAdded when e is not added to m's
// dispatcher. Any goroutine; it does not block on I/O.
func (m *Manager) handle(e *dispatch.Endpoint, k pool.Key) (*pool.Handle, error) {
	hk := handleKey{e, k}
	m.hmu.RLock()
	h := m.hm[hk]
	m.hmu.RUnlock()
	if h != nil {
		return h, nil
	}
	m.hmu.Lock()
	defer m.hmu.Unlock()
	if h := m.hm[hk]; h != nil {
		return h, nil
	}
	// Checked under hmu: Release, which runs after e stopped being
	// added, then finds the handle made here.
	if e.Dispatcher() != m.disp {
		return nil, dispatch.ErrNotAdded
	}
	h, err := m.pools.Acquire(k)
	if err != nil {
		return nil, err
	}
	m.hm[hk] = h
	m.byEP[e] = append(m.byEP[e], hk)
	return h, nil
}

// releaseHandles gives back e's pool handles. Any goroutine.
func (m *Manager) releaseHandles(e *dispatch.Endpoint) {
	m.hmu.Lock()
	keys := m.byEP[e]
	delete(m.byEP, e)
	hs := make([]*pool.Handle, 0, len(keys))
	for _, hk := range keys {
		hs = append(hs, m.hm[hk])
		delete(m.hm, hk)
	}
	m.hmu.Unlock()
	for _, h := range hs {
		h.Release()
	}
}

// ConnFor returns a connection for one request of the endpoint e to dst,
// from e's pool for dst (see PoolKey): a live connection of the pool, or a
// new one it dials within the pool's open timeout and ctx. e must be added
// to m's Dispatcher. Any goroutine but an event loop: it may block while
// dialing (event loops call TryConnFor).
func (m *Manager) ConnFor(ctx context.Context, e *dispatch.Endpoint, dst dispatch.Dest) (*Conn, error) {
	k, err := PoolKey(dst, e.Group())
	if err != nil {
		return nil, err
	}
	h, err := m.handle(e, k)
	if err != nil {
		return nil, err
	}
	pc, err := h.Get(ctx, rand.Uint32())
	if err != nil {
		return nil, err
	}
	return pc.(*poolConn).c, nil
}

// TryConnFor is ConnFor without blocking: when the pool has no live
// connection for e now, it starts the dial on a goroutine of the manager
// and returns an error wrapping pool.ErrDialing; ready (if not nil) is then
// called once when that dial ends, on the goroutine that ends it (nil: call
// TryConnFor again); it must not block. Send on the connection with the
// dispatcher's SendOn. Any goroutine, event loops included.
func (m *Manager) TryConnFor(e *dispatch.Endpoint, dst dispatch.Dest, ready func(error)) (*Conn, error) {
	k, err := PoolKey(dst, e.Group())
	if err != nil {
		return nil, err
	}
	h, err := m.handle(e, k)
	if err != nil {
		return nil, err
	}
	pc, err := h.TryGet(rand.Uint32(), ready)
	if err != nil {
		return nil, err
	}
	return pc.(*poolConn).c, nil
}

// transport is the dispatch.Transport of a manager's dispatcher.
type transport struct{ m *Manager }

// Conn implements dispatch.Transport with ConnFor; Close cancels the dials
// it waits for. Any goroutine but an event loop.
func (t transport) Conn(e *dispatch.Endpoint, dst dispatch.Dest) (dispatch.Conn, error) {
	c, err := t.m.ConnFor(t.m.ctx, e, dst)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Release implements dispatch.Transport. Any goroutine.
func (t transport) Release(e *dispatch.Endpoint) { t.m.releaseHandles(e) }
