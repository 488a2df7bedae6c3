package pool

import (
	"strconv"
	"time"
)

// ConnState is the state of a pooled connection.
type ConnState uint8

// Connection states.
const (
	// StateDialing is a slot whose connection is being dialed.
	StateDialing ConnState = 1 + iota
	// StateActive is a connection that Get hands out.
	StateActive
	// StateDraining is a retired connection waiting for its in-flight
	// work before it is closed.
	StateDraining
	// StateBroken is a connection that closed or failed and has not yet
	// been replaced or swept.
	StateBroken
)

// String returns the state's name in lower case.
func (s ConnState) String() string {
	switch s {
	case StateDialing:
		return "dialing"
	case StateActive:
		return "active"
	case StateDraining:
		return "draining"
	case StateBroken:
		return "broken"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// ConnInfo describes one connection of a pool.
type ConnInfo struct {
	// ID is the connection's ID; zero while dialing.
	ID    uint64
	State ConnState
	// Private is true for a handle's own connection in an Unlimited pool.
	Private bool
	// Age is the time since the dial finished.
	Age time.Duration
	// Idle is the time since the connection last read or wrote (its age
	// if it never did).
	Idle time.Duration
	// Stats are the connection's counters as the engine reports them.
	Stats Stats
}

// PoolInfo describes one pool.
type PoolInfo struct {
	Key Key
	// Size is the effective size, Unlimited when sharing is off.
	Size int
	// OwnSize is true when the size was set with Pool.SetSize rather than
	// following the manager's default.
	OwnSize bool
	// Refs is the number of handles referencing the pool.
	Refs int
	// Lingering is true when no handle references the pool and it waits
	// for its linger period to end.
	Lingering bool
	// Conns lists the pool's connections: shared slots in order, then
	// handles' own connections, then draining ones.
	Conns []ConnInfo
}

// Pools describes every pool of the manager as of Config.Now. It may be
// called from any goroutine while traffic flows; the connection counters
// are read through Conn.Stats.
func (m *Manager) Pools() []PoolInfo {
	now := m.cfg.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]PoolInfo, 0, len(m.pools))
	for _, p := range m.pools {
		out = append(out, p.infoLocked(now))
	}
	return out
}

// Info describes the pool as of Config.Now. Any goroutine.
func (p *Pool) Info() PoolInfo {
	now := p.m.cfg.Now()
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
	return p.infoLocked(now)
}

// infoLocked builds p's description. Manager.mu held.
func (p *Pool) infoLocked(now time.Time) PoolInfo {
	pi := PoolInfo{
		Key:       p.key,
		Size:      p.Size(),
		Refs:      p.refs,
		Lingering: p.refs == 0 && p.lingering,
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pi.OwnSize = p.own != 0
	add := func(e *entry, private bool, state ConnState) {
		if e == nil {
			return
		}
		if e.c == nil {
			pi.Conns = append(pi.Conns, ConnInfo{State: StateDialing, Private: private})
			return
		}
		if e.c.Broken() {
			state = StateBroken
		}
		ci := ConnInfo{ID: e.c.ID(), State: state, Private: private, Age: now.Sub(e.born), Stats: e.c.Stats()}
		ci.Idle = ci.Age
		if !ci.Stats.LastActive.IsZero() {
			ci.Idle = now.Sub(ci.Stats.LastActive)
		}
		pi.Conns = append(pi.Conns, ci)
	}
	for _, sl := range p.snap.Load().slots {
		add(sl.e.Load(), false, StateActive)
	}
	for h := range p.handles {
		add(h.slot.Load().e.Load(), true, StateActive)
	}
	for _, sl := range p.retired {
		add(sl.e.Load(), false, StateDraining)
	}
	for _, d := range p.drain {
		add(d.e, false, StateDraining)
	}
	return pi
}
