package engine

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/sipparse"
)

// upstream is a plain loopback SIP server standing for a proxy that the
// managers' pools connect to: it counts the connections it accepts and
// the requests each delivers, keeps their Call-IDs in order, and answers
// each with 200 when answer is set.
type upstream struct {
	ln     net.Listener
	answer bool
	wg     sync.WaitGroup

	mu     sync.Mutex
	cond   *sync.Cond
	conns  []net.Conn
	counts []int    // requests per connection, in accept order
	calls  []string // Call-IDs of the requests, in arrival order
	total  int
	closed int // connections that ended
}

func newUpstream(t testing.TB, answer bool) *upstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{ln: ln, answer: answer}
	u.cond = sync.NewCond(&u.mu)
	u.wg.Add(1)
	go u.accept()
	t.Cleanup(u.close)
	return u
}

// dest returns the upstream as a destination.
func (u *upstream) dest() dispatch.Dest {
	a := u.ln.Addr().(*net.TCPAddr)
	return dispatch.Dest{Host: a.IP.String(), Port: uint16(a.Port), Transport: "TCP"}
}

func (u *upstream) accept() {
	defer u.wg.Done()
	for {
		nc, err := u.ln.Accept()
		if err != nil {
			return
		}
		u.mu.Lock()
		i := len(u.conns)
		u.conns = append(u.conns, nc)
		u.counts = append(u.counts, 0)
		u.cond.Broadcast()
		u.mu.Unlock()
		u.wg.Add(1)
		go u.serve(i, nc)
	}
}

// serve frames and counts the requests of connection i and answers them.
func (u *upstream) serve(i int, nc net.Conn) {
	defer u.wg.Done()
	defer func() {
		nc.Close()
		u.mu.Lock()
		u.closed++
		u.cond.Broadcast()
		u.mu.Unlock()
	}()
	var f sipparse.Framer
	var m sipparse.Message
	buf := make([]byte, 0, 64<<10)
	tmp := make([]byte, 32<<10)
	var out []byte
	for {
		n, rerr := nc.Read(tmp)
		buf = append(buf, tmp[:n]...)
		off := 0
		for off < len(buf) {
			fn, kind, err := f.Next(buf[off:])
			if err == sipparse.ErrNeedMore {
				break
			}
			if err != nil {
				return
			}
			if kind == sipparse.FrameMessage && m.Parse(buf[off:off+fn]) == nil && m.Request {
				u.mu.Lock()
				u.counts[i]++
				u.total++
				u.calls = append(u.calls, string(m.Bytes(m.CallID)))
				u.cond.Broadcast()
				u.mu.Unlock()
				if u.answer && m.Method != sipparse.MethodAck {
					out = sipparse.AppendResponse(out, &m, 200, "OK", []byte("up"))
				}
			}
			off += fn
		}
		buf = buf[:copy(buf, buf[off:])]
		if len(out) > 0 {
			if _, err := nc.Write(out); err != nil {
				return
			}
			out = out[:0]
		}
		if rerr != nil {
			return
		}
	}
}

// waitFor waits until cond, run with u.mu held, is true. ioTimeout bounds
// the wait (a safety net: the test fails, it does not hang).
func (u *upstream) waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	timer := time.AfterFunc(ioTimeout, func() {
		u.mu.Lock()
		u.cond.Broadcast()
		u.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(ioTimeout)
	u.mu.Lock()
	defer u.mu.Unlock()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("upstream: gave up waiting for %s (%d requests on %v)", what, u.total, u.counts)
		}
		u.cond.Wait()
	}
}

// waitTotal waits until the upstream has received n requests and returns
// the counts per connection.
func (u *upstream) waitTotal(t testing.TB, n int) []int {
	t.Helper()
	u.waitFor(t, "requests", func() bool { return u.total >= n })
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]int(nil), u.counts...)
}

// snapshot returns the counts per connection and the Call-IDs so far.
func (u *upstream) snapshot() ([]int, []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]int(nil), u.counts...), append([]string(nil), u.calls...)
}

// kill closes every connection accepted so far and waits until their
// readers have ended.
func (u *upstream) kill(t testing.TB) {
	u.mu.Lock()
	n := len(u.conns)
	for _, nc := range u.conns {
		nc.Close()
	}
	u.mu.Unlock()
	u.waitFor(t, "killed connections to end", func() bool { return u.closed >= n })
}

func (u *upstream) close() {
	u.ln.Close()
	u.mu.Lock()
	for _, nc := range u.conns {
		nc.Close()
	}
	u.mu.Unlock()
	u.wg.Wait()
}
