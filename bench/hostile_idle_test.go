package bench

import (
	"bufio"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sipcm/sipcm/engine"
)

// hostileIdleConns is the number of silent connections of
// TestHostileIdleConns, HOSTILE_IDLE_CONNS in the environment (the long
// form, bench/soak/hostile.sh, opens 10 000 against a sipcm serve process).
func hostileIdleConns(t *testing.T) int {
	n := 1000
	if v := os.Getenv("HOSTILE_IDLE_CONNS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("HOSTILE_IDLE_CONNS=%q: want a positive number", v)
		}
	}
	return n
}

// dialSilent opens n connections to addr that never send, a few at a
// time, spreading them over 127.0.0.x source addresses past 20 000.
func dialSilent(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	const workers = 8
	conns := make([]net.Conn, n)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				d := net.Dialer{Timeout: hostileWait, KeepAlive: -1}
				if n > 20000 {
					d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i/20000))}
				}
				if conns[i], errs[w] = d.Dial("tcp", addr); errs[w] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return conns
}

// TestHostileIdleConns opens N connections that never send (N=1000, or
// HOSTILE_IDLE_CONNS) beside one client that talks. All N are closed at
// the first-message timeout (serve's default, 1 minute, on a fake clock),
// not before, and counted; the talking client gets every OPTIONS answered
// all along.
func TestHostileIdleConns(t *testing.T) {
	n := hostileIdleConns(t)
	s := startHostile(t, engine.Config{}, true)
	timeout := engine.DefaultFirstMessageTimeout

	served := dialSIP(t, s.addr, netip.Addr{})
	served.mustAnswer(t, "served", 0, 200)
	p := startPinger(served)
	defer p.finish(t)

	// A probe opened 2 s before the silent ones: once it is closed, the
	// wheel has passed its deadline, and theirs is 2 s later.
	probe := dialSIP(t, s.addr, netip.Addr{})
	waitFor(t, "the probe to be open", func() bool { return s.Stats().ConnsIn == 2 })
	s.clock.Add(2 * time.Second)

	start := time.Now()
	silent := dialSilent(t, s.addr, n)
	waitFor(t, "the silent connections to be open", func() bool { return s.Stats().ConnsIn == int64(n)+2 })
	opened := time.Since(start)

	s.clock.Set(timeout)
	probe.expectClosed(t)
	waitFor(t, "the probe's timeout", func() bool { return s.Stats().FirstMessageTimeouts == 1 })
	if in := s.Stats().ConnsIn; in != int64(n)+1 {
		t.Fatalf("%d connections open when the probe timed out, want %d: the silent ones closed early", in, n+1)
	}

	before := p.answered.Load()
	s.clock.Set(timeout + 3*time.Second)
	start = time.Now()
	waitFor(t, "the silent connections to time out", func() bool {
		st := s.Stats()
		return st.ConnsIn == 1 && st.FirstMessageTimeouts == uint64(n)+1
	})
	closing := time.Since(start)
	for i, c := range silent {
		_ = c.SetDeadline(time.Now().Add(hostileWait))
		if err := (&sipClient{nc: c, r: bufio.NewReader(c)}).closedErr(); err != nil {
			t.Fatalf("silent connection %d: %v", i, err)
		}
	}
	// The talking client is still served after the storm of closes.
	at := p.answered.Load()
	waitFor(t, "the served client's answers", func() bool { return p.answered.Load() >= at+10 })
	st := s.Stats()
	if st.FramingErrors != 0 || st.IdleTimeouts != 0 || st.Accepted != uint64(n)+2 {
		t.Errorf("stats %+v", st)
	}
	t.Logf("%d silent connections: opened in %v, all closed %v after the first-message timeout (tick %v); "+
		"first-message timeouts %d; served client answered %d OPTIONS during the closes, %d in all",
		n, opened.Round(time.Millisecond), closing.Round(time.Millisecond), engine.DefaultTick,
		st.FirstMessageTimeouts, at-before, p.answered.Load())
}

// TestHostileSlowSender dribbles requests one byte per write, each byte
// read by the server on its own (the fake clock proves it): a complete
// request is answered; an endless one is closed at the first-message
// timeout, which its traffic does not push back.
func TestHostileSlowSender(t *testing.T) {
	t.Run("complete", func(t *testing.T) {
		s := startHostile(t, engine.Config{}, true)
		c := dialSIP(t, s.addr, netip.Addr{})
		waitFor(t, "the connection to be open", func() bool { return s.Stats().ConnsIn == 1 })
		req := hostileOptions("slow", 1)
		start := time.Now()
		for i := range len(req) - 1 {
			s.seen(t, c.nc, time.Millisecond, func() error { return c.send(req[i : i+1]) })
		}
		if err := c.send(req[len(req)-1:]); err != nil {
			t.Fatal(err)
		}
		status, msg, err := c.read()
		if err != nil || status != 200 {
			t.Fatalf("dribbled request: %d %q %v", status, msg, err)
		}
		c.mustAnswer(t, "slow", 2, 200) // and the connection goes on
		t.Logf("request of %d bytes dribbled in %d reads over %v: answered 200",
			len(req), len(req), time.Since(start).Round(time.Millisecond))
	})

	t.Run("endless", func(t *testing.T) {
		s := startHostile(t, engine.Config{}, true)
		timeout := engine.DefaultFirstMessageTimeout
		c := dialSIP(t, s.addr, netip.Addr{})
		waitFor(t, "the connection to be open", func() bool { return s.Stats().ConnsIn == 1 })
		// Before the timeout: every byte is read on an open connection.
		const steps = 100
		step := timeout / (steps + 1)
		stream := optionsWith("endless", 1, "X-Slow: ", "") // the header never ends
		sent := 0
		for sent < steps {
			b := stream[sent : sent+1]
			s.seen(t, c.nc, step, func() error { return c.send(b) })
			sent++
		}
		// Past it: closed by the timeout, whatever it keeps sending.
		s.clock.Set(timeout + time.Second)
		c.expectClosed(t)
		waitFor(t, "the timeout to be counted", func() bool { return s.Stats().ConnsIn == 0 })
		st := s.Stats()
		if st.FirstMessageTimeouts != 1 || st.FramingErrors != 0 || st.MessagesIn != 0 {
			t.Errorf("stats %+v", st)
		}
		t.Logf("endless request dribbled a byte per %v for %d bytes, open until the first-message timeout (%v), then closed",
			step.Round(time.Millisecond), sent, timeout)
	})
}
