package dispatch

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipcm/sipcm/sipparse"
)

// TestConcurrentChurn routes requests, sends requests and delivers
// responses, timeouts and connection breaks on several goroutines while
// endpoints are added and removed. Run it with -race. It checks that a
// stable endpoint never misses a request, that a churning one either gets
// its request or the dispatcher answers 500, and that every request sent
// ends exactly once.
func TestConcurrentChurn(t *testing.T) {
	const (
		routers   = 4
		messages  = 1500
		senders   = 3
		requests  = 200
		churns    = 300
		sweepStep = 5 * time.Millisecond
	)
	env := newEnv(t, Config{T1: 10 * time.Millisecond, Tick: 10 * time.Millisecond})
	d := env.d
	stableH := new(taker)
	stable := mustEndpoint(t, EndpointConfig{AOR: "sip:stable@example.com", Token: "stable", Handler: stableH})
	if err := d.Add(stable); err != nil {
		t.Fatal(err)
	}
	churnH := new(taker)

	var wg sync.WaitGroup
	stop := make(chan struct{})

	// Churner: adds and removes endpoints, moves the default, claims.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range churns {
			e := mustEndpoint(t, EndpointConfig{AOR: "sip:churn@example.com", Token: fmt.Sprintf("churn%d", i%4),
				GRUU: "sip:churn@example.com;gr=x", Handler: churnH})
			if err := d.Add(e); err != nil {
				t.Error(err)
				return
			}
			_ = d.SetDefault(e)
			_ = d.Claim(e, []byte("call-1@192.0.2.1"), []byte("dlg"))
			d.Remove(e)
		}
	}()

	// Routers: one loop each, with its own message and connection.
	var unrouted atomic.Int64
	for r := range routers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newConn(uint64(100 + r))
			var m sipparse.Message
			msgs := [][]byte{
				request("INVITE", "sip:stable@example.com", "", ""),
				request("OPTIONS", "sip:x@h;sipcm-ctx=stable", "", ""),
				request("INVITE", "sip:churn@example.com", "", ""),
				request("INVITE", "sip:churn@example.com;gr=x", "", ""),
				request("BYE", "sip:y@h", "dlg", ""),
				request("OPTIONS", "sip:x@h;sipcm-ctx=churn1", "", ""),
			}
			for i := range messages {
				if err := m.Parse(msgs[i%len(msgs)]); err != nil {
					t.Error(err)
					return
				}
				before, _ := c.status()
				d.HandleMessage(c, &m)
				if after, status := c.status(); after != before {
					if i%len(msgs) < 2 || status != 500 {
						t.Errorf("message %d answered %d", i%len(msgs), status)
						return
					}
					unrouted.Add(1)
				}
			}
		}()
	}

	// Senders: each has its own connection; they answer half of their
	// requests, and leave the rest to the sweeper and HandleClose.
	sendConns := make([]*fakeConn, senders)
	var ended, sentOK atomic.Int64
	var twice atomic.Int64
	for s := range senders {
		c := newConn(uint64(200 + s))
		sendConns[s] = c
		host := fmt.Sprintf("s%d", s)
		env.tr.mu.Lock()
		env.tr.conns[host] = c
		env.tr.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			var m sipparse.Message
			var resp []byte
			for i := range requests {
				if i == requests/2 { // the connection breaks; the transport dials anew
					c.closed.Store(true)
					d.HandleClose(c, nil)
					c = newConn(c.id + 1000)
					env.tr.mu.Lock()
					env.tr.conns[host] = c
					sendConns = append(sendConns, c)
					env.tr.mu.Unlock()
				}
				var done atomic.Int32
				fn := func(c Conn, m *sipparse.Message, err error) {
					if m != nil && m.StatusCode < 200 {
						return
					}
					if done.Add(1) > 1 {
						twice.Add(1)
					}
					ended.Add(1)
				}
				if err := d.Send(stable, Dest{Host: host}, outRequest("OPTIONS"), fn); err != nil {
					t.Error(err)
					return
				}
				sentOK.Add(1)
				if i%2 == 0 {
					var req sipparse.Message
					if err := req.Parse(c.lastSent(t)); err != nil {
						t.Error(err)
						return
					}
					for _, st := range []int{100, 200} {
						resp = sipparse.AppendResponse(resp[:0], &req, st, "X", []byte("p"))
						if err := m.Parse(resp); err != nil {
							t.Error(err)
							return
						}
						d.HandleMessage(c, &m)
					}
				}
			}
		}()
	}

	// Sweeper: moves the fake clock and expires.
	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		for {
			select {
			case <-stop:
				return
			default:
				env.clock.Add(sweepStep)
				d.Sweep()
			}
		}
	}()

	wg.Wait()
	close(stop)
	<-sweepDone
	for _, c := range sendConns { // all senders are done: no lock needed
		c.closed.Store(true)
		d.HandleClose(c, nil)
	}
	if n := stableH.n.Load(); n < int64(routers*messages/3) {
		t.Errorf("stable endpoint got %d requests, want at least %d", n, routers*messages/3)
	}
	if got := churnH.n.Load() + unrouted.Load(); got != routers*messages*4/6 {
		t.Errorf("churning requests: %d taken + %d answered 500, want %d in all", churnH.n.Load(), unrouted.Load(), routers*messages*4/6)
	}
	if sentOK.Load() != ended.Load() || twice.Load() != 0 {
		t.Errorf("%d requests sent, %d ended, %d ended twice", sentOK.Load(), ended.Load(), twice.Load())
	}
	st := d.Stats()
	if st.Outstanding != 0 {
		t.Errorf("%d outstanding: %+v", st.Outstanding, st)
	}
	t.Logf("%d unrouted, %d timeouts, %d broken, %d responses", unrouted.Load(), st.Timeouts, st.Broken, st.Responses)
	if len(d.Endpoints()) != 1 {
		t.Errorf("%d endpoints left", len(d.Endpoints()))
	}
}
