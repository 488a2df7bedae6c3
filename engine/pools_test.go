package engine

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/pool"
	"github.com/sipcm/sipcm/sipparse"
)

// load is a set of endpoints sending requests through a manager and the
// tally of what became of them.
type load struct {
	t   testing.TB
	d   *dispatch.Dispatcher
	eps []*dispatch.Endpoint
	dst dispatch.Dest

	sent       atomic.Int64  // Send returned nil
	refused    atomic.Int64  // Send returned an error: nothing sent
	answered   atomic.Int64  // final response
	failed     atomic.Int64  // ended with an error
	mismatched atomic.Int64  // response for another request
	errs       sync.Map      // error text -> struct{}, for the log
	ended      chan struct{} // if not nil, signalled (without blocking) as requests end
}

func newLoad(t testing.TB, m *Manager, dst dispatch.Dest, endpoints int) *load {
	t.Helper()
	ld := &load{t: t, d: m.Dispatcher(), dst: dst}
	for i := range endpoints {
		ld.eps = append(ld.eps, newEndpoint(t, dispatch.EndpointConfig{AOR: fmt.Sprintf("sip:u%d@example.com", i)}))
	}
	if err := ld.d.Add(ld.eps...); err != nil {
		t.Fatal(err)
	}
	return ld
}

// one sends one request for e and waits for its end. It reports whether
// the request was answered.
func (ld *load) one(e *dispatch.Endpoint, callID string) bool {
	done := make(chan bool, 1)
	err := ld.d.Send(e, ld.dst, outRequest("OPTIONS", callID), func(_ dispatch.Conn, m *sipparse.Message, err error) {
		switch {
		case m == nil:
			ld.failed.Add(1)
			ld.errs.Store(err.Error(), struct{}{})
			done <- false
		case m.StatusCode >= 200:
			if string(m.Bytes(m.CallID)) != callID {
				ld.mismatched.Add(1)
			}
			ld.answered.Add(1)
			done <- true
		}
	})
	if err != nil {
		ld.refused.Add(1)
		ld.errs.Store(err.Error(), struct{}{})
		return false
	}
	ld.sent.Add(1)
	ok := <-done
	if ld.ended != nil {
		select {
		case ld.ended <- struct{}{}:
		default:
		}
	}
	return ok
}

// run has senders goroutines send per requests each, one at a time, sender
// g for endpoint g mod the endpoints, and waits for them.
func (ld *load) run(tag string, senders, per int) {
	var wg sync.WaitGroup
	for g := range senders {
		e := ld.eps[g%len(ld.eps)]
		wg.Go(func() {
			for i := range per {
				ld.one(e, fmt.Sprintf("%s-%d-%d", tag, g, i))
			}
		})
	}
	wg.Wait()
}

// check fails the test if a request was lost or misrouted.
func (ld *load) check() {
	ld.t.Helper()
	sent, answered, failed := ld.sent.Load(), ld.answered.Load(), ld.failed.Load()
	if sent != answered+failed {
		ld.t.Errorf("%d sent, %d answered, %d failed: requests lost", sent, answered, failed)
	}
	if n := ld.mismatched.Load(); n != 0 {
		ld.t.Errorf("%d responses delivered for another request", n)
	}
}

// checkSpread fails unless every count is within ±10 % of their mean.
func checkSpread(t *testing.T, counts []int) {
	t.Helper()
	sum := 0
	for _, n := range counts {
		sum += n
	}
	mean := float64(sum) / float64(len(counts))
	for i, n := range counts {
		if d := float64(n) - mean; d > mean/10 || d < -mean/10 {
			t.Errorf("connection %d carried %d requests, mean %.0f: spread over 10%% (%v)", i, n, mean, counts)
		}
	}
}

// TestPoolsEndToEnd: 50 goroutines send through a server manager whose
// pools have 3 connections; the upstream sees exactly 3 connections with
// the requests spread evenly, then 5 after a live resize; every response
// reaches the request it answers; the pools are enumerated meanwhile.
func TestPoolsEndToEnd(t *testing.T) {
	up := newUpstream(t, true)
	s, _ := startServer(t, Config{PoolSize: 3})
	ld := newLoad(t, &s.Manager, up.dest(), 10)

	// Enumerate while the traffic flows (for -race), at the pace at which
	// requests end, and keep what the busiest snapshot saw.
	ld.ended = make(chan struct{}, 1)
	stop := make(chan struct{})
	var maxConns, snapshots int
	var enumWG sync.WaitGroup
	enumWG.Go(func() {
		var buf []ConnInfo
		for {
			select {
			case <-stop:
				return
			case <-ld.ended:
			}
			for _, p := range s.Pools() {
				maxConns = max(maxConns, len(p.Conns))
			}
			buf = s.Conns(buf[:0])
			snapshots++
		}
	})

	const senders, per = 50, 40
	// Warm up: the pool grows to its size, one request per new
	// connection. (From a cold start the spread also depends on how long
	// the dials take: meanwhile the turns of a dialing slot go to the
	// connections already up.)
	for i := range 3 {
		ld.one(ld.eps[0], fmt.Sprint("warm-", i))
	}
	ld.run("a", senders, per)
	counts := up.waitTotal(t, 3+senders*per)
	if len(counts) != 3 {
		t.Fatalf("upstream saw %d connections with pool size 3, want 3", len(counts))
	}
	checkSpread(t, counts)

	if err := s.SetDefaultPoolSize(5); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		ld.one(ld.eps[0], fmt.Sprint("warm5-", i))
	}
	ld.run("b", senders, per)
	after := up.waitTotal(t, 5+2*senders*per)
	if len(after) != 5 {
		t.Fatalf("upstream saw %d connections after the resize to 5, want 5", len(after))
	}
	delta := make([]int, len(after))
	for i := range after {
		delta[i] = after[i]
		if i < len(counts) {
			delta[i] -= counts[i]
		}
	}
	checkSpread(t, delta)
	t.Logf("requests per connection: size 3 %v; after the resize to 5 %v", counts, delta)
	close(stop)
	enumWG.Wait()

	ld.check()
	if n := ld.answered.Load(); n != 5+2*senders*per {
		t.Errorf("%d answered, want %d", n, 5+2*senders*per)
	}
	if snapshots == 0 || maxConns < 3 {
		t.Errorf("%d snapshots, at most %d pooled connections seen", snapshots, maxConns)
	}

	// The pool's snapshot once the traffic is over.
	pools := s.Pools()
	if len(pools) != 1 {
		t.Fatalf("%d pools, want 1", len(pools))
	}
	p := pools[0]
	want, _ := PoolKey(up.dest(), "")
	if p.Key != want || p.Size != 5 || p.Refs != len(ld.eps) || len(p.Conns) != 5 {
		t.Fatalf("pool %+v", p)
	}
	var out uint64
	for _, ci := range p.Conns {
		if ci.State != pool.StateActive || ci.Stats.InFlight != 0 || ci.Stats.MessagesIn == 0 || ci.Stats.BytesOut == 0 {
			t.Errorf("pooled connection %+v", ci)
		}
		out += ci.Stats.MessagesOut
	}
	if out != uint64(5+2*senders*per) {
		t.Errorf("pooled connections sent %d messages, want %d", out, 5+2*senders*per)
	}
}

// TestPoolsKillUpstream: the upstream closes every connection in the
// middle of the load; no request is lost silently: each one either gets
// its response or ends with an error its sender sees, and the load goes
// on over fresh connections.
func TestPoolsKillUpstream(t *testing.T) {
	up := newUpstream(t, true)
	// A short T1 bounds the test should a request go unanswered: it would
	// then end with ErrTimeout, an error its sender sees.
	s, _ := startServer(t, Config{PoolSize: 3, Dispatch: dispatch.Config{T1: 50 * time.Millisecond}})
	ld := newLoad(t, &s.Manager, up.dest(), 10)
	const senders, per = 50, 60
	done := make(chan struct{})
	go func() {
		defer close(done)
		ld.run("k", senders, per)
	}()
	up.waitTotal(t, senders*per/3)
	up.kill(t)
	<-done
	ld.check()
	sent, refused := ld.sent.Load(), ld.refused.Load()
	if sent+refused != senders*per {
		t.Fatalf("%d sent and %d refused of %d", sent, refused, senders*per)
	}
	failed := ld.failed.Load() + refused
	if failed == 0 {
		t.Log("no request failed: the kill fell between requests")
	}
	var errs []string
	ld.errs.Range(func(k, _ any) bool { errs = append(errs, k.(string)); return true })
	t.Logf("%d answered, %d failed with an error (%d refused by Send): %q", ld.answered.Load(), failed, refused, errs)

	// After the kill the pool redialed: the requests sent last were
	// answered on fresh connections.
	for i := range 10 {
		if !ld.one(ld.eps[i%len(ld.eps)], fmt.Sprint("after-", i)) {
			t.Fatalf("request %d after the kill failed", i)
		}
	}
	if n := len(up.waitTotal(t, 0)); n <= 3 {
		t.Errorf("upstream saw %d connections: none redialed", n)
	}
	ld.check()
}

// TestThrottleEndToEnd: a throttled endpoint has 20 requests outstanding
// on its connection to an upstream that does not answer; its 21st fails
// at once with ErrThrottled and is never sent.
func TestThrottleEndToEnd(t *testing.T) {
	up := newUpstream(t, false)
	cm, err := NewClientManager(Config{Logger: testLogger(t), Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := cm.Start(); err != nil {
		t.Fatal(err)
	}
	defer cm.Close()
	e := newEndpoint(t, dispatch.EndpointConfig{AOR: "sip:alice@example.com", Throttled: true})
	if err := cm.Dispatcher().Add(e); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 32)
	fn := func(_ dispatch.Conn, m *sipparse.Message, err error) {
		if m == nil {
			ended <- err
		}
	}
	d, dst := cm.Dispatcher(), up.dest()
	for i := range dispatch.DefaultThrottleLimit {
		if err := d.Send(e, dst, outRequest("OPTIONS", fmt.Sprint("t", i)), fn); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	if err := d.Send(e, dst, outRequest("OPTIONS", "t20"), fn); !errors.Is(err, dispatch.ErrThrottled) {
		t.Fatalf("21st request: %v, want ErrThrottled", err)
	}
	// The 21st would have been written before this marker, on the same
	// connection: the upstream's 21st request is the marker.
	e.SetThrottled(false)
	if err := d.Send(e, dst, outRequest("OPTIONS", "marker"), fn); err != nil {
		t.Fatal(err)
	}
	counts := up.waitTotal(t, dispatch.DefaultThrottleLimit+1)
	_, calls := up.snapshot()
	if len(counts) != 1 || len(calls) != dispatch.DefaultThrottleLimit+1 || calls[dispatch.DefaultThrottleLimit] != "marker" {
		t.Fatalf("upstream got %v on %v", calls, counts)
	}
	if st := d.Stats(); st.Throttled != 1 || st.Outstanding != dispatch.DefaultThrottleLimit+1 {
		t.Fatalf("dispatcher stats %+v", st)
	}
	if p := cm.Pools(); len(p) != 1 || len(p[0].Conns) != 1 || p[0].Conns[0].Stats.InFlight != dispatch.DefaultThrottleLimit+1 {
		t.Fatalf("pools %+v", p)
	}
	select {
	case err := <-ended:
		t.Fatalf("a request ended early: %v", err)
	default:
	}
}

// TestClientManagerNoSharing: on a client manager each endpoint gets a
// connection of its own to a destination, even with the pool size raised.
func TestClientManagerNoSharing(t *testing.T) {
	up := newUpstream(t, true)
	cm, err := NewClientManager(Config{Logger: testLogger(t), Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := cm.Start(); err != nil {
		t.Fatal(err)
	}
	defer cm.Close()
	ld := newLoad(t, &cm.Manager, up.dest(), 2)
	for i := range 5 {
		ld.one(ld.eps[0], fmt.Sprint("a", i))
	}
	for i := range 5 {
		ld.one(ld.eps[1], fmt.Sprint("b", i))
	}
	if counts := up.waitTotal(t, 10); len(counts) != 2 || counts[0] != 5 || counts[1] != 5 {
		t.Fatalf("upstream saw %v, want [5 5]: one connection per endpoint", counts)
	}
	ld.check()
	p := cm.Pools()
	if len(p) != 1 || p[0].Size != pool.Unlimited || len(p[0].Conns) != 2 || !p[0].Conns[0].Private {
		t.Fatalf("pools %+v", p)
	}
}

// TestPoolReleasedWithEndpoints: when its endpoints are removed, a pool
// nobody references closes its connections (here with no linger).
func TestPoolReleasedWithEndpoints(t *testing.T) {
	up := newUpstream(t, true)
	s, _ := startServer(t, Config{PoolSize: 2, Pool: pool.Config{Linger: pool.NoLinger}})
	ld := newLoad(t, &s.Manager, up.dest(), 2)
	ld.run("r", 4, 5)
	ld.check()
	if p := s.Pools(); len(p) != 1 || p[0].Refs != 2 {
		t.Fatalf("pools %+v", p)
	}
	ld.d.Remove(ld.eps[0])
	if p := s.Pools(); len(p) != 1 || p[0].Refs != 1 {
		t.Fatalf("pools after removing one endpoint %+v", p)
	}
	ld.d.Remove(ld.eps[1])
	if p := s.Pools(); len(p) != 0 {
		t.Fatalf("pools after removing both %+v", p)
	}
	n := len(up.waitTotal(t, 0))
	up.waitFor(t, "the pool's connections to close", func() bool { return up.closed == n })
	if _, err := s.ConnFor(t.Context(), ld.eps[0], up.dest()); !errors.Is(err, dispatch.ErrNotAdded) {
		t.Fatalf("ConnFor a removed endpoint: %v", err)
	}
}

// TestSetPoolSizeByKey sizes one pool by its key, before it exists.
func TestSetPoolSizeByKey(t *testing.T) {
	up := newUpstream(t, true)
	s, _ := startServer(t, Config{})
	k, err := PoolKey(up.dest(), "edge")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetPoolSize(k, 2); err != nil {
		t.Fatal(err)
	}
	e := newEndpoint(t, dispatch.EndpointConfig{AOR: "sip:g@example.com", Group: "edge"})
	plain := newEndpoint(t, dispatch.EndpointConfig{AOR: "sip:p@example.com"})
	if err := s.Dispatcher().Add(e, plain); err != nil {
		t.Fatal(err)
	}
	ld := &load{t: t, d: s.Dispatcher(), dst: up.dest(), eps: []*dispatch.Endpoint{e}}
	for i := range 6 {
		ld.one(e, fmt.Sprint("g", i))
		ld.one(plain, fmt.Sprint("p", i))
	}
	ld.check()
	sizes := map[string]int{}
	conns := map[string]int{}
	for _, p := range s.Pools() {
		sizes[p.Key.Identity], conns[p.Key.Identity] = p.Size, len(p.Conns)
	}
	if sizes["edge"] != 2 || conns["edge"] != 2 || sizes[""] != pool.DefaultPoolSize || conns[""] != pool.DefaultPoolSize {
		t.Fatalf("pool sizes %v, connections %v", sizes, conns)
	}
	if counts := up.waitTotal(t, 12); len(counts) != 2+pool.DefaultPoolSize {
		t.Fatalf("upstream saw %d connections: groups share", len(counts))
	}
}

// TestRequestTimeoutOnTick: the manager's ticker expires the dispatcher's
// requests (fake clock): a request nobody answers ends with ErrTimeout.
func TestRequestTimeoutOnTick(t *testing.T) {
	clock := fakeClock()
	up := newUpstream(t, false)
	cm, err := NewClientManager(Config{Clock: clock, Logger: testLogger(t), Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := cm.Start(); err != nil {
		t.Fatal(err)
	}
	defer cm.Close()
	e := newEndpoint(t, dispatch.EndpointConfig{AOR: "sip:alice@example.com"})
	if err := cm.Dispatcher().Add(e); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	err = cm.Dispatcher().Send(e, up.dest(), outRequest("OPTIONS", "to-1"), func(_ dispatch.Conn, m *sipparse.Message, err error) {
		if m == nil {
			ended <- err
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	up.waitTotal(t, 1)
	clock.Add(64*dispatch.DefaultT1 - time.Millisecond)
	cm.advance()
	select {
	case err := <-ended:
		t.Fatalf("ended before its timeout: %v", err)
	default:
	}
	clock.Add(2 * DefaultTick)
	cm.advance()
	if err := <-ended; !errors.Is(err, dispatch.ErrTimeout) {
		t.Fatalf("ended with %v, want ErrTimeout", err)
	}
}

// TestPoolLeaseAndIdle: the manager's ticker sweeps the pools (fake clock):
// a connection past its lease is retired and closed once idle, and the
// engine's idle timeout closes pooled connections too, which leave their
// pool at once.
func TestPoolLeaseAndIdle(t *testing.T) {
	clock := fakeClock()
	up := newUpstream(t, true)
	s, _ := startServer(t, Config{Clock: clock, PoolSize: 1, IdleTimeoutOut: 10 * time.Minute,
		Pool: pool.Config{LeaseTimeout: time.Minute}})
	ld := newLoad(t, &s.Manager, up.dest(), 1)
	ld.one(ld.eps[0], "lease-1")
	// Past the lease: retired, then closed by a later sweep as it has no
	// request outstanding.
	clock.Add(time.Minute)
	s.advance()
	for range 2 {
		clock.Add(pool.DefaultSweepInterval)
		s.advance()
	}
	up.waitFor(t, "the leased connection to close", func() bool { return up.closed == 1 })
	ld.one(ld.eps[0], "lease-2") // on a new connection
	if n := len(up.waitTotal(t, 2)); n != 2 {
		t.Fatalf("upstream saw %d connections, want 2", n)
	}
	// Idle for IdleTimeoutOut: the engine's idle timeout closes it (the
	// loops tick before the pools are swept), and the pool drops it.
	clock.Add(10 * time.Minute)
	s.advance()
	up.waitFor(t, "the idle connection to close", func() bool { return up.closed == 2 })
	s.advance() // the loops have run OnClose
	if p := s.Pools(); len(p) != 1 || len(p[0].Conns) != 0 {
		t.Fatalf("pools after the idle timeout %+v", p)
	}
	ld.check()
}

// TestConnForZeroAlloc: picking a live pooled connection for an endpoint
// (handle lookup and pool pick) allocates nothing.
func TestConnForZeroAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	up := newUpstream(t, true)
	s, _ := startServer(t, Config{PoolSize: 2})
	ld := newLoad(t, &s.Manager, up.dest(), 1)
	e, dst := ld.eps[0], up.dest()
	for i := range 2 {
		ld.one(e, fmt.Sprint("warm-", i))
	}
	ctx := t.Context()
	var err error
	n := testing.AllocsPerRun(1000, func() {
		if _, e1 := s.ConnFor(ctx, e, dst); e1 != nil {
			err = e1
		}
		if _, e2 := s.TryConnFor(e, dst, nil); e2 != nil {
			err = e2
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("ConnFor and TryConnFor allocate %v times", n)
	}
}

// TestEndpointChurnUnderLoad: endpoints are removed and added again while
// they send; sends fail cleanly or complete, nothing is lost, and once the
// endpoints are gone their pool lingers with no reference.
func TestEndpointChurnUnderLoad(t *testing.T) {
	up := newUpstream(t, true)
	s, _ := startServer(t, Config{PoolSize: 2})
	ld := newLoad(t, &s.Manager, up.dest(), 4)
	ld.ended = make(chan struct{}, 1)
	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Go(func() { // at the pace at which requests end
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-ld.ended:
			}
			e := ld.eps[i%len(ld.eps)]
			ld.d.Remove(e)
			if err := ld.d.Add(e); err != nil {
				t.Error(err)
				return
			}
		}
	})
	ld.run("c", 8, 50)
	close(stop)
	churn.Wait()
	ld.check()
	t.Logf("%d answered, %d failed, %d refused", ld.answered.Load(), ld.failed.Load(), ld.refused.Load())
	if ld.answered.Load() == 0 {
		var errs []string
		ld.errs.Range(func(k, _ any) bool { errs = append(errs, k.(string)); return true })
		t.Errorf("nothing answered: %d refused, %d failed: %q", ld.refused.Load(), ld.failed.Load(), errs)
	}
	ld.d.Remove(ld.eps...)
	if p := s.Pools(); len(p) != 1 || p[0].Refs != 0 || !p[0].Lingering {
		t.Fatalf("pool after removing every endpoint: %+v", p)
	}
}
