package bench

import (
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipcm/sipcm/engine"
)

// flood opens n connections from src, a few at a time, each of which must
// be refused: closed by the server without an answer to the OPTIONS it
// sends. It returns how many were refused and the first connection that
// was served instead, if any.
func flood(addr string, src netip.Addr, n int) (refused int, served error) {
	const workers = 8
	var count atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				c, err := dialSIPErr(addr, src)
				if err != nil { // reset before the dial returned
					count.Add(1)
					continue
				}
				_ = c.send(hostileOptions("flood", i))
				if status, _, err := c.read(); err == nil {
					mu.Lock()
					served = errServed(status)
					mu.Unlock()
				} else if c.closedErr() == nil {
					count.Add(1)
				}
				_ = c.nc.Close()
			}
		})
	}
	wg.Wait()
	return int(count.Load()), served
}

type errServed int

func (e errServed) Error() string {
	return "bench: a connection past the limit was answered " + strconv.Itoa(int(e))
}

// TestHostileConnFlood floods a server with --max-conns 40 and
// --max-conns-per-ip 10 past each limit: every connection over a limit is
// refused at accept and counted by reason, while the admitted clients are
// all served, one of them without a pause; a place freed is taken again.
func TestHostileConnFlood(t *testing.T) {
	const maxConns, perIP, floodN = 40, 10, 200
	s := startHostile(t, engine.Config{MaxConns: maxConns, MaxConnsPerIP: perIP}, false)
	ip := func(b byte) netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 0, b}) }

	var admitted []*sipClient
	open := func(src netip.Addr, n int) {
		for range n {
			c := dialSIP(t, s.addr, src)
			c.mustAnswer(t, "admitted", len(admitted), 200)
			admitted = append(admitted, c)
		}
	}
	open(ip(1), perIP)
	p := startPinger(admitted[0])
	defer p.finish(t)

	start := time.Now()
	refused, served := flood(s.addr, ip(1), floodN)
	perIPTime := time.Since(start)
	if served != nil || refused != floodN {
		t.Fatalf("per-IP flood: %d of %d refused (%v)", refused, floodN, served)
	}
	if st := s.Stats(); st.RefusedPerIP != floodN || st.Refused != 0 || st.Accepted != perIP {
		t.Fatalf("after the per-IP flood: %+v", st)
	}

	for b := byte(2); len(admitted) < maxConns; b++ {
		open(ip(b), min(perIP, maxConns-len(admitted)))
	}
	start = time.Now()
	refused, served = flood(s.addr, ip(100), floodN)
	totalTime := time.Since(start)
	if served != nil || refused != floodN {
		t.Fatalf("total flood: %d of %d refused (%v)", refused, floodN, served)
	}
	if st := s.Stats(); st.Refused != floodN || st.RefusedPerIP != floodN || st.Accepted != maxConns {
		t.Fatalf("after the total flood: %+v", st)
	}

	// Every admitted client is still served.
	for i, c := range admitted[1:] {
		c.mustAnswer(t, "after", i, 200)
	}
	// A place freed is taken by the next comer.
	_ = admitted[maxConns-1].nc.Close()
	waitFor(t, "the freed place", func() bool { return s.Stats().ConnsIn == maxConns-1 })
	dialSIP(t, s.addr, ip(100)).mustAnswer(t, "newcomer", 1, 200)

	st := s.Stats()
	if st.AcceptErrors != 0 || st.Accepted != maxConns+1 {
		t.Errorf("stats %+v", st)
	}
	t.Logf("max-conns %d, per IP %d: %d refused per IP in %v, %d refused in total in %v; accepted %d; "+
		"a served client answered %d OPTIONS meanwhile",
		maxConns, perIP, st.RefusedPerIP, perIPTime.Round(time.Millisecond), st.Refused,
		totalTime.Round(time.Millisecond), st.Accepted, p.answered.Load())
}
