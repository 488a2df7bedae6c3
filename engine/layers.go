package engine

import (
	"context"
	"runtime"
	"time"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/pool"
	"github.com/sipcm/sipcm/sipparse"
)

// initLayers makes the manager's dispatcher and pool manager. m.cfg has
// its defaults.
func (m *Manager) initLayers() error {
	m.ctx, m.stop = context.WithCancel(context.Background())
	m.epoch = time.Now().Add(-m.clock.Now())
	m.hm = make(map[handleKey]*pool.Handle)
	m.byEP = make(map[*dispatch.Endpoint][]handleKey)

	dc := m.cfg.Dispatch
	dc.Client = m.client
	dc.Transport = transport{m}
	dc.Clock = m.clock
	dc.Tick = m.cfg.Tick
	d, err := dispatch.New(dc)
	if err != nil {
		return err
	}

	pc := m.cfg.Pool
	pc.DefaultSize = m.cfg.PoolSize
	if pc.DefaultSize == 0 && m.client {
		pc.DefaultSize = pool.Unlimited
	}
	if pc.OpenTimeout == 0 {
		pc.OpenTimeout = m.cfg.DialTimeout
	}
	if pc.SweepInterval == 0 {
		pc.SweepInterval = pool.DefaultSweepInterval
	}
	// GetLoop needs a lane per loop; Get's lanes spread the goroutines.
	pc.Lanes = min(max(m.cfg.Loops, runtime.NumCPU(), runtime.GOMAXPROCS(0)), pool.MaxLanes)
	pc.Now = m.wallTime
	pm, err := pool.NewManager(pc, poolDialer{m})
	if err != nil {
		_ = d.Close()
		return err
	}
	m.disp, m.pools = d, pm
	m.poolSweepEvery = pc.SweepInterval
	m.lastPoolSweep = m.clock.Now()
	return nil
}

// wallTime returns the wall time of the Clock time now, or of clock
// times passed in.
func (m *Manager) wallTime() time.Time { return m.epoch.Add(m.clock.Now()) }

// closeLayers closes the pools and the dispatcher: outstanding requests
// end with dispatch.ErrClosed. It runs once the loops have stopped.
func (m *Manager) closeLayers() {
	_ = m.pools.Close()
	_ = m.disp.Close()
}

// sweep expires the dispatcher's requests, and sweeps the pools once per
// Config.Pool.SweepInterval. It runs on gnet's ticker goroutine (or a
// test's) and touches no connection state.
func (m *Manager) sweep() {
	m.disp.Sweep()
	now := m.clock.Now()
	m.sweepMu.Lock()
	due := now-m.lastPoolSweep >= m.poolSweepEvery
	if due {
		m.lastPoolSweep = now
	}
	m.sweepMu.Unlock()
	if due {
		m.pools.Sweep(m.epoch.Add(now))
	}
}

// Dispatcher returns the manager's dispatcher: add the endpoints to it,
// and send their requests with its Send (through the manager's pools). It
// receives every message read when Config.Handler is nil. Any goroutine.
func (m *Manager) Dispatcher() *dispatch.Dispatcher { return m.disp }

// dispatchHandler is the Handler of a manager without Config.Handler: it
// hands every message to the dispatcher, on the loop. (The engine tells
// the dispatcher of closed connections whatever the Handler.)
type dispatchHandler struct{ d *dispatch.Dispatcher }

func (h dispatchHandler) HandleMessage(c *Conn, m *sipparse.Message) { h.d.HandleMessage(c, m) }

// *Conn is the connection the dispatcher sees.
var _ dispatch.Conn = (*Conn)(nil)
