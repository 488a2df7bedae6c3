package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/sipcm/sipcm/internal/wheel"
	"github.com/sipcm/sipcm/sipparse"
)

const (
	// flushSize is the size at which gathered writes are flushed before the
	// handler returns.
	flushSize = 32 << 10
	// scratchSize is the initial capacity of the per-loop buffers.
	scratchSize = 80 << 10
)

// loop is the manager's state for one gnet event loop. Everything but the
// registry (mu, conns), the counters and tickPending is loop only.
type loop struct {
	m     *Manager
	el    gnet.EventLoop
	wheel *wheel.Wheel[*Conn]
	now   time.Duration // clock read at the start of the current event

	msg     sipparse.Message // reused for every message parsed on the loop
	scratch []byte           // Conn.Scratch
	resp    []byte           // responses the engine writes itself
	out     []byte           // gathered writes of cur
	cur     *Conn            // connection whose traffic is being handled

	tickPending atomic.Bool
	tickFn      gnet.Runnable

	mu    sync.Mutex
	conns []*Conn

	stats loopStats
}

func newLoop(m *Manager, el gnet.EventLoop) *loop {
	l := &loop{
		m:       m,
		el:      el,
		now:     m.clock.Now(),
		scratch: make([]byte, 0, scratchSize),
		resp:    make([]byte, 0, 4<<10),
		out:     make([]byte, 0, scratchSize),
	}
	l.msg.Limits = m.cfg.Limits
	l.wheel = wheel.New(wheel.Config{Tick: m.cfg.Tick, Slots: m.cfg.WheelSlots}, l.now, l.expire)
	l.tickFn = gnet.RunnableFunc(func(context.Context) error {
		l.tickPending.Store(false)
		l.tick()
		return nil
	})
	return l
}

// tick advances the wheel to the clock. Loop only.
func (l *loop) tick() {
	l.now = l.m.clock.Now()
	l.wheel.Advance(l.now)
}

// expire is the wheel's callback: a first-message timeout, or an idle
// timeout that is re-armed when the connection was active since it was set
// (lazy timestamps). Loop only.
func (l *loop) expire(c *Conn, now time.Duration) {
	if c.closed.Load() {
		return
	}
	if c.awaitingFirst {
		l.stats.firstMessageTimeouts.inc()
		l.m.log.Debug("engine: first-message timeout", "conn", c.id, "remote", c.remote)
		_ = l.el.Close(c.gc)
		return
	}
	idle := time.Duration(c.idleNanos.Load())
	if idle <= 0 {
		return
	}
	if due := time.Duration(c.lastActive.Load()) + idle; due > now {
		l.wheel.Add(&c.timer, due)
		return
	}
	l.stats.idleTimeouts.inc()
	l.m.log.Debug("engine: idle timeout", "conn", c.id, "remote", c.remote, "direction", c.dir)
	_ = l.el.Close(c.gc)
}

// armIdle schedules the idle timeout of c from its last activity, or
// cancels it when c has none. Loop only.
func (l *loop) armIdle(c *Conn) {
	idle := time.Duration(c.idleNanos.Load())
	if idle <= 0 {
		l.wheel.Cancel(&c.timer)
		return
	}
	l.wheel.Add(&c.timer, time.Duration(c.lastActive.Load())+idle)
}

// flush sends the writes gathered for c and reports whether c is still
// open. Loop only.
func (l *loop) flush(c *Conn) bool {
	if len(l.out) == 0 {
		return true
	}
	err := c.rawWrite(l.out)
	l.out = l.out[:0]
	return err == nil
}

// add puts c in the loop's registry. Loop only.
func (l *loop) add(c *Conn) {
	l.mu.Lock()
	c.regIdx = len(l.conns)
	l.conns = append(l.conns, c)
	l.mu.Unlock()
}

// remove takes c out of the loop's registry. Loop only.
func (l *loop) remove(c *Conn) {
	l.mu.Lock()
	i := c.regIdx
	last := len(l.conns) - 1
	if i <= last && l.conns[i] == c {
		l.conns[i] = l.conns[last]
		l.conns[i].regIdx = i
		l.conns[last] = nil
		l.conns = l.conns[:last]
	}
	l.mu.Unlock()
}

// appendConns appends the loop's connections to dst. Any goroutine.
func (l *loop) appendConns(dst []*Conn) []*Conn {
	l.mu.Lock()
	dst = append(dst, l.conns...)
	l.mu.Unlock()
	return dst
}

// drain closes the connections whose outbound buffer is empty and returns
// how many still hold data. Loop only.
func (l *loop) drain() int {
	n := 0
	// Closing removes c from l.conns by swapping in the last entry, which
	// this backwards walk has already seen.
	for i := len(l.conns) - 1; i >= 0; i-- {
		if i >= len(l.conns) {
			continue
		}
		c := l.conns[i]
		if c.gc.OutboundBuffered() > 0 {
			n++
			continue
		}
		_ = l.el.Close(c.gc)
	}
	return n
}
