package soakutil

import (
	"bufio"
	"io"
	"net"
	"time"
)

// Pinger is a served client: one connection on which it sends a request
// every interval and waits for its 200 before the next.
type Pinger struct {
	stopc          chan struct{}
	done           chan struct{}
	sent, answered int
	worst          time.Duration
	err            error
}

// StartPinger dials with dial and, on its own goroutine until Stop, sends
// req(seq) for seq 1, 2, ... every interval, each write and answer bounded
// by timeout. Any goroutine may call it.
func StartPinger(dial func() (net.Conn, error), req func(seq int) string, every, timeout time.Duration) *Pinger {
	p := &Pinger{stopc: make(chan struct{}), done: make(chan struct{})}
	go p.run(dial, req, every, timeout)
	return p
}

func (p *Pinger) run(dial func() (net.Conn, error), req func(seq int) string, every, timeout time.Duration) {
	defer close(p.done)
	c, err := dial()
	if err != nil {
		p.err = err
		return
	}
	defer c.Close()
	br := bufio.NewReader(c)
	tk := time.NewTicker(every)
	defer tk.Stop()
	for seq := 1; ; seq++ {
		start := time.Now()
		_ = c.SetDeadline(start.Add(timeout))
		p.sent++
		if _, p.err = io.WriteString(c, req(seq)); p.err != nil {
			return
		}
		if p.err = ReadAnswer(br); p.err != nil {
			return
		}
		p.answered++
		p.worst = max(p.worst, time.Since(start))
		select {
		case <-p.stopc:
			return
		case <-tk.C:
		}
	}
}

// Stop ends the pinger and returns the requests sent and answered, the
// slowest answer and the error that ended it early, if any. Call it once,
// from any goroutine.
func (p *Pinger) Stop() (sent, answered int, worst time.Duration, err error) {
	close(p.stopc)
	<-p.done
	return p.sent, p.answered, p.worst, p.err
}
