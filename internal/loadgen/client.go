package loadgen

import (
	"context"
	"errors"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/sipcm/sipcm/sipparse"
)

const (
	maxBatch    = 64       // requests written per system call at most
	readBufSize = 16 << 10 // initial read buffer
	maxReadBuf  = 256 << 10
	latBatch    = 256 // latencies kept before they go to the shared histogram
	maxSeq      = 1<<31 - 1
)

// errFraming means the target's byte stream could not be framed.
var errFraming = errors.New("loadgen: response framing lost")

// slot is one outstanding request of a connection's pipeline.
type slot struct {
	seq    atomic.Uint32 // CSeq number of the request in flight
	sentAt atomic.Int64  // Generator.now at send; 0 when free
}

// client is one connection: its writer sends requests in free slots, its
// reader matches responses to slots, frees them and sweeps out timeouts.
type client struct {
	g     *Generator
	id    int
	token string

	slots []slot
	free  chan uint32 // free slot indexes
	gen   []uint32    // per-slot generation, writer only

	// Read by Progress from any goroutine.
	sent, answered, errs atomic.Uint64

	// Written by the client's goroutines, read after they stop.
	conn       net.Conn
	closing    atomic.Bool
	readerDone chan struct{}
	dialErr    error
	writeErr   error // writer only
	readErr    error // reader only
	first      int64 // time of the first send
	last       int64 // time of the last answer
	ok         uint64
	timeouts   uint64
	lost       uint64
	bad        uint64
	late       uint64
	unsent     uint64 // writer only: paced requests due and never sent
	codes      map[int]uint64

	// Writer state.
	req   *request
	wbuf  []byte
	batch []uint32

	// Reader state.
	framer sipparse.Framer
	msg    sipparse.Message
	rbuf   []byte
	lat    []int64
}

func newClient(g *Generator, id int, token string) *client {
	p := g.cfg.Pipeline
	c := &client{
		g:          g,
		id:         id,
		token:      token,
		slots:      make([]slot, p),
		free:       make(chan uint32, p),
		gen:        make([]uint32, p),
		readerDone: make(chan struct{}),
	}
	for i := range p {
		c.free <- uint32(i)
	}
	return c
}

// run dials, runs the writer here and the reader on a goroutine of its own,
// drains, closes and waits for the reader.
func (c *client) run(ctx context.Context) {
	g := c.g
	if ctx.Err() != nil {
		return
	}
	dctx, cancel := context.WithTimeout(ctx, g.cfg.DialTimeout)
	conn, err := g.cfg.Dial(dctx, g.cfg.Network, g.cfg.Addr)
	cancel()
	if err != nil {
		if ctx.Err() == nil { // not a dial cut short by the end of the run
			c.dialErr = err
			c.errs.Add(1)
		}
		return
	}
	c.conn = conn
	// A write blocked by a target that stopped reading ends with the run,
	// once it has waited as long as a request waits for its response:
	// cutting a write in progress at once would lose the requests in it
	// (with TLS, every request of the record being written).
	unblock := context.AfterFunc(ctx, func() { _ = conn.SetWriteDeadline(time.Now().Add(g.cfg.Timeout)) })
	defer unblock()
	c.req = newRequest(g.cfg.Host, g.cfg.Transport, conn.LocalAddr().String(), c.token)
	c.wbuf = make([]byte, 0, min(g.cfg.Pipeline, maxBatch)*c.req.Len())
	c.batch = make([]uint32, 0, min(g.cfg.Pipeline, maxBatch))
	c.rbuf = make([]byte, readBufSize)
	c.lat = make([]int64, 0, latBatch)

	go c.read()
	c.write(ctx)
	c.drain()
	c.closing.Store(true)
	_ = conn.Close()
	<-c.readerDone
	for i := range c.slots {
		if c.slots[i].sentAt.Load() != 0 {
			c.lost++
			c.errs.Add(1)
		}
	}
}

// write sends requests while slots are free, the budget lasts and ctx
// has not ended. A paced run sends what its pacer says is due, in one
// write, and sleeps in between; an unpaced one sends as soon as slots free.
func (c *client) write(ctx context.Context) {
	g := c.g
	done := ctx.Done()
	var pace *pacer
	var timer *time.Timer
	budgetOut := false
	if g.cfg.Rate > 0 {
		p := newPacer(g.cfg.Rate, g.cfg.Conns, c.id)
		pace = &p
		timer = time.NewTimer(time.Hour)
		defer timer.Stop()
		defer func() { c.unsent = pace.unsent(time.Duration(g.now()), budgetOut) }()
	}
	for {
		want := cap(c.batch)
		if pace != nil {
			now := time.Duration(g.now())
			d := pace.due(now)
			if d == 0 {
				timer.Reset(pace.wait(now))
				select {
				case <-timer.C:
				case <-done:
					return
				case <-c.readerDone:
					return
				}
				continue
			}
			want = int(min(d, uint64(want)))
		}
		var s uint32
		select {
		case s = <-c.free:
		case <-done:
			return
		case <-c.readerDone:
			return
		}
		c.batch = append(c.batch[:0], s)
	gather:
		for len(c.batch) < want {
			select {
			case s = <-c.free:
				c.batch = append(c.batch, s)
			default:
				break gather
			}
		}
		n := g.take(len(c.batch))
		for _, s := range c.batch[n:] {
			c.free <- s
		}
		if n < len(c.batch) {
			budgetOut = true
		}
		if n == 0 {
			return
		}
		if pace != nil {
			pace.add(n)
		}
		if err := c.send(c.batch[:n]); err != nil {
			if ctx.Err() == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
				c.writeErr = err
				c.errs.Add(1)
			}
			return
		}
	}
}

// send writes one request per slot in one system call.
func (c *client) send(slots []uint32) error {
	p := uint32(len(c.slots))
	now := c.g.now()
	if c.first == 0 {
		c.first = now
	}
	buf := c.wbuf[:0]
	for _, s := range slots {
		seq := c.nextSeq(s, p)
		sl := &c.slots[s]
		sl.seq.Store(seq)
		sl.sentAt.Store(now)
		buf = c.req.Append(buf, seq)
	}
	c.wbuf = buf
	c.sent.Add(uint64(len(slots))) // sent once handed to the socket, even if the write then fails
	_, err := c.conn.Write(buf)
	return err
}

// nextSeq returns the CSeq number of the next request in slot s of p:
// gen*p + s for the slot's next generation, which starts again at 1 once
// the number would pass maxSeq (RFC 3261 §8.1.1.5: below 2**31). Writer
// only.
func (c *client) nextSeq(s, p uint32) uint32 {
	c.gen[s]++
	if uint64(c.gen[s])*uint64(p)+uint64(s) > maxSeq {
		c.gen[s] = 1
	}
	return c.gen[s]*p + s
}

// drain waits until every slot is free (answered or timed out), the reader
// has stopped, or twice the timeout has passed.
func (c *client) drain() {
	t := time.NewTimer(2*c.g.cfg.Timeout + c.sweepEvery())
	defer t.Stop()
	for n := 0; n < len(c.slots); n++ {
		select {
		case <-c.free:
		case <-c.readerDone:
			return
		case <-t.C:
			return
		}
	}
}

// sweepEvery is how often the reader looks for timed-out requests.
func (c *client) sweepEvery() time.Duration {
	return min(max(c.g.cfg.Timeout/4, 10*time.Millisecond), time.Second)
}

// read reads, frames and matches responses until the connection ends.
func (c *client) read() {
	defer close(c.readerDone)
	defer c.flushLatency()
	g := c.g
	every := c.sweepEvery()
	nextSweep := g.now() + int64(every)
	_ = c.conn.SetReadDeadline(time.Now().Add(every))
	r, w := 0, 0
	for {
		if w == len(c.rbuf) {
			switch {
			case r > 0:
				w = copy(c.rbuf, c.rbuf[r:w])
				r = 0
			case len(c.rbuf) < maxReadBuf:
				c.rbuf = append(c.rbuf, make([]byte, len(c.rbuf))...)
			default:
				c.fail(errFraming)
				return
			}
		}
		n, err := c.conn.Read(c.rbuf[w:])
		now := g.now()
		if n > 0 {
			w += n
			var ferr error
			r, ferr = c.frames(r, w, now)
			if ferr != nil {
				c.fail(ferr)
				return
			}
			if r == w {
				r, w = 0, 0
			}
		}
		timedOut := errors.Is(err, os.ErrDeadlineExceeded)
		if err != nil && !timedOut {
			if !c.closing.Load() {
				c.fail(err)
			}
			return
		}
		if timedOut || now >= nextSweep {
			c.sweep(now)
			nextSweep = now + int64(every)
			_ = c.conn.SetReadDeadline(time.Now().Add(every))
		}
	}
}

// fail records the error that broke the connection. Reader only.
func (c *client) fail(err error) {
	if c.readErr == nil {
		c.readErr = err
		c.errs.Add(1)
	}
}

// frames handles the whole frames in c.rbuf[r:w] and returns where the
// unframed rest starts.
func (c *client) frames(r, w int, now int64) (int, error) {
	for r < w {
		n, kind, err := c.framer.Next(c.rbuf[r:w])
		if err != nil {
			if errors.Is(err, sipparse.ErrNeedMore) {
				return r, nil
			}
			var fe *sipparse.FrameError
			if !errors.As(err, &fe) || fe.Fatal || n <= 0 {
				return r, errFraming
			}
			c.bad++ // an oversize response: its body is skipped next
			c.errs.Add(1)
			r += n
			continue
		}
		if kind == sipparse.FrameMessage {
			c.handle(c.rbuf[r:r+n], now)
		}
		r += n
	}
	return r, nil
}

// handle matches one response to its slot. Reader only.
func (c *client) handle(b []byte, now int64) {
	m := &c.msg
	if err := m.Parse(b); err != nil {
		c.bad++
		c.errs.Add(1)
		return
	}
	if m.Request || m.StatusCode < 200 {
		return // a request from the target, or a provisional response
	}
	num := m.CSeq.Num
	s := num % uint32(len(c.slots))
	sl := &c.slots[s]
	if sl.seq.Load() != num {
		c.late++
		return
	}
	t := sl.sentAt.Swap(0)
	if t == 0 {
		c.late++
		return
	}
	c.lat = append(c.lat, now-t)
	if len(c.lat) == cap(c.lat) {
		c.flushLatency()
	}
	c.last = now
	if m.StatusCode < 300 {
		c.ok++
	} else {
		if c.codes == nil {
			c.codes = make(map[int]uint64)
		}
		c.codes[m.StatusCode]++
		c.errs.Add(1)
	}
	c.answered.Add(1)
	c.free <- s
}

// sweep frees the slots whose request has waited longer than the timeout.
// Reader only.
func (c *client) sweep(now int64) {
	limit := int64(c.g.cfg.Timeout)
	for i := range c.slots {
		sl := &c.slots[i]
		t := sl.sentAt.Load()
		if t != 0 && now-t >= limit && sl.sentAt.CompareAndSwap(t, 0) {
			c.timeouts++
			c.errs.Add(1)
			c.free <- uint32(i)
		}
	}
}

// flushLatency moves the latencies kept to the shared histogram.
func (c *client) flushLatency() {
	if len(c.lat) > 0 {
		c.g.record(c.lat)
		c.lat = c.lat[:0]
	}
}
