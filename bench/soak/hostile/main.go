// Command hostile is the long form of the hostile-client tests of package
// bench (bench/hostile_*_test.go), run against a sipcm serve process.
//
// It opens -idle connections that never send (10 000 by default, from
// 127.0.0.x source addresses) and -slow connections that dribble an endless
// request one byte every -slow-every (1 s), beside one client that sends an
// OPTIONS every -ping-every and must get every answer. The server must
// close every silent and slow connection at its first-message timeout
// (-first-message-timeout, what the server was started with), not before
// it and not much after. It prints the figures: connections opened, closed
// and when, bytes the slow senders got in, the served client's answers and
// worst latency, and, with -admin, the server's resident memory, goroutines
// and timeout counters from /metrics before, with every connection open and
// after. The exit status is 1 when a check failed.
//
// Usage:
//
//	hostile -target 127.0.0.1:5060 [-admin 127.0.0.1:8060] [-idle 10000] [-slow 1]
//	        [-first-message-timeout 1m] [-slack 5s]
//
// bench/soak/hostile.sh starts the server and runs it.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/sipcm/sipcm/bench/soak/internal/soakutil"
)

func main() {
	var (
		target    = flag.String("target", "", "server address HOST:PORT (required)")
		adminAddr = flag.String("admin", "", "server admin address HOST:PORT, for /metrics (optional)")
		idle      = flag.Int("idle", 10000, "connections that never send")
		slow      = flag.Int("slow", 1, "connections that dribble an endless request")
		every     = flag.Duration("slow-every", time.Second, "pause between the slow senders' bytes")
		fmTimeout = flag.Duration("first-message-timeout", time.Minute, "the server's first-message timeout")
		slack     = flag.Duration("slack", 5*time.Second, "how late after the timeout a close may come")
		ping      = flag.Duration("ping-every", 100*time.Millisecond, "pause between the served client's OPTIONS")
	)
	flag.Parse()
	if *target == "" {
		fmt.Fprintln(os.Stderr, "hostile: -target is required")
		os.Exit(2)
	}
	if err := raiseNoFile(uint64(*idle+*slow) + 1024); err != nil {
		fmt.Fprintln(os.Stderr, "hostile: raising RLIMIT_NOFILE:", err)
	}
	r := run{target: *target, admin: *adminAddr, timeout: *fmTimeout, slack: *slack}
	if !r.main(*idle, *slow, *every, *ping) {
		os.Exit(1)
	}
}

// run is one run of the program.
type run struct {
	target, admin  string
	timeout, slack time.Duration
	failed         bool
}

func (r *run) failf(format string, args ...any) {
	r.failed = true
	fmt.Printf("FAIL: "+format+"\n", args...)
}

// closed is when and how a hostile connection ended.
type closed struct {
	life  time.Duration // from its dial to the server's close
	bytes int           // bytes it sent
	err   error         // not nil when it did not end as expected
}

func (r *run) main(idle, slow int, every, ping time.Duration) bool {
	m0 := r.metrics()
	p := soakutil.StartPinger(func() (net.Conn, error) { return net.DialTimeout("tcp", r.target, 30*time.Second) },
		func(seq int) string { return soakutil.Options("TCP", "127.0.0.1:5060", "127.0.0.1", "served", seq) },
		ping, 10*time.Second)

	start := time.Now()
	results := make(chan closed, idle+slow)
	var wg sync.WaitGroup
	srcs := (idle+slow)/5000 + 1
	for i := range idle {
		c, err := dialFrom(r.target, i%srcs)
		if err != nil {
			r.failf("silent connection %d of %d: %v", i, idle, err)
			break
		}
		wg.Go(func() { results <- r.silent(c, time.Now()) })
	}
	for i := range slow {
		c, err := dialFrom(r.target, i%srcs)
		if err != nil {
			r.failf("slow connection %d: %v", i, err)
			break
		}
		wg.Go(func() { results <- r.dribble(c, time.Now(), every) })
	}
	opened := time.Since(start)
	fmt.Printf("opened %d silent and %d slow connections in %v\n", idle, slow, opened.Round(time.Millisecond))
	mOpen := r.metrics()
	// Sample once the server holds them all (and the served client).
	for deadline := time.Now().Add(30 * time.Second); mOpen != nil && time.Now().Before(deadline); mOpen = r.metrics() {
		if soakutil.Num(mOpen, `sipcm_connections_open{direction="in"}`) >= float64(idle+slow+1) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	wg.Wait()
	close(results)
	var silentLife, slowLife []time.Duration
	var slowBytes []int
	for c := range results {
		if c.err != nil {
			r.failf("%v", c.err)
			continue
		}
		if c.bytes < 0 {
			silentLife = append(silentLife, c.life)
		} else {
			slowLife = append(slowLife, c.life)
			slowBytes = append(slowBytes, c.bytes)
		}
	}
	mEnd := r.metrics()
	sent, answered, worst, perr := p.Stop()

	fmt.Printf("silent: %d closed by the server, life %s\n", len(silentLife), soakutil.Spread(silentLife))
	fmt.Printf("slow: %d closed by the server, life %s, bytes sent %v\n", len(slowLife), soakutil.Spread(slowLife), slowBytes)
	fmt.Printf("served client: %d OPTIONS sent, %d answered, worst latency %v\n", sent, answered, worst.Round(time.Microsecond))
	if perr != nil || sent != answered {
		r.failf("served client: %d sent, %d answered: %v", sent, answered, perr)
	}
	if len(silentLife) != idle || len(slowLife) != slow {
		r.failf("%d of %d silent and %d of %d slow connections closed as expected", len(silentLife), idle, len(slowLife), slow)
	}
	if m0 != nil {
		fmt.Println("server /metrics        before        all open       after")
		for _, k := range []string{
			"process_resident_memory_bytes", "go_goroutines", "process_open_fds",
			`sipcm_connections_open{direction="in"}`, `sipcm_timeouts_total{kind="first_message"}`,
			`sipcm_rejected_messages_total{reason="framing"}`,
		} {
			fmt.Printf("  %-45s %14s %14s %14s\n", k, m0[k], mOpen[k], mEnd[k])
		}
		if d := soakutil.Num(mEnd, `sipcm_timeouts_total{kind="first_message"}`) - soakutil.Num(m0, `sipcm_timeouts_total{kind="first_message"}`); d != float64(idle+slow) {
			r.failf("the server counted %v first-message timeouts, want %d", d, idle+slow)
		}
		if rss0, rss1 := soakutil.Num(m0, "process_resident_memory_bytes"), soakutil.Num(mOpen, "process_resident_memory_bytes"); idle > 0 && rss0 > 0 {
			fmt.Printf("server RSS per open connection: %.0f B\n", (rss1-rss0)/float64(idle+slow))
		}
	}
	if r.failed {
		fmt.Println("hostile: FAILED")
	} else {
		fmt.Println("hostile: ok")
	}
	return !r.failed
}

// check says whether a close after life is at the first-message timeout.
func (r *run) check(what string, life time.Duration) error {
	if life < r.timeout || life > r.timeout+r.slack {
		return fmt.Errorf("%s closed after %v, want %v to %v", what, life.Round(time.Millisecond), r.timeout, r.timeout+r.slack)
	}
	return nil
}

// silent waits for the server to close c, which sends nothing.
func (r *run) silent(c net.Conn, opened time.Time) closed {
	defer c.Close()
	_ = c.SetReadDeadline(opened.Add(r.timeout + r.slack + time.Minute))
	var b [1]byte
	_, err := c.Read(b[:])
	life := time.Since(opened)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return closed{err: fmt.Errorf("silent connection still open after %v", life.Round(time.Millisecond))}
	}
	if err == nil {
		return closed{err: fmt.Errorf("silent connection got a byte")}
	}
	return closed{life: life, bytes: -1, err: r.check("silent connection", life)}
}

// dribble sends an endless request on c one byte at a time until the
// server closes c.
func (r *run) dribble(c net.Conn, opened time.Time, every time.Duration) closed {
	defer c.Close()
	req := "OPTIONS sip:slow@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK-slow\r\nX-Slow: "
	gone := make(chan struct{})
	go func() { // the server's close, seen by a read
		defer close(gone)
		_ = c.SetReadDeadline(opened.Add(r.timeout + r.slack + time.Minute))
		_, _ = io.Copy(io.Discard, c)
	}()
	tk := time.NewTicker(every)
	defer tk.Stop()
	n := 0
	for {
		b := byte('s')
		if n < len(req) {
			b = req[n]
		}
		if _, err := c.Write([]byte{b}); err != nil {
			break
		}
		n++
		select {
		case <-gone:
		case <-tk.C:
			continue
		}
		break
	}
	<-gone
	life := time.Since(opened)
	return closed{life: life, bytes: n, err: r.check("slow connection", life)}
}

// dialFrom connects to target from 127.0.0.(1+src).
func dialFrom(target string, src int) (net.Conn, error) {
	d := net.Dialer{Timeout: 30 * time.Second, KeepAlive: -1,
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+src))}}
	return d.Dial("tcp", target)
}

// metrics reads the server's /metrics into a map from series to value,
// or returns nil without -admin.
func (r *run) metrics() map[string]string {
	if r.admin == "" {
		return nil
	}
	m, err := soakutil.Metrics(r.admin, 0)
	if err != nil {
		r.failf("%v", err)
	}
	return m
}

// raiseNoFile raises the soft limit on open files to want, as far as the
// hard limit allows.
func raiseNoFile(want uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= want {
		return nil
	}
	lim.Cur = min(want, lim.Max)
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}
