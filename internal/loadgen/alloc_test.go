package loadgen

import (
	"context"
	"runtime"
	"testing"

	"github.com/sipcm/sipcm/engine"
)

// TestSteadyStateAllocs measures, with runtime.MemStats, the allocations of
// whole runs against an in-process engine server (both sides count): the
// difference between a run of 22 000 requests and one of 2 000 stays under
// one allocation per 100 requests, so the steady state allocates nothing
// per request (what is left is per run and per connection).
func TestSteadyStateAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("sends 25 000 requests; counts nothing under the race detector")
	}
	addr := startEngine(t, engine.DefaultHandler{})
	mallocs := func(n uint64) uint64 {
		g, err := New(Config{Addr: addr, Conns: 2, Pipeline: 16, Requests: n})
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r, err := g.Run(context.Background())
		runtime.ReadMemStats(&after)
		if err != nil || r.OK != n {
			t.Fatalf("run of %d: %v, %d ok", n, err, r.OK)
		}
		return after.Mallocs - before.Mallocs
	}
	mallocs(1000) // warm up the server's loops
	small, large := mallocs(2000), mallocs(22000)
	extra := int64(large) - int64(small)
	t.Logf("2000 requests: %d allocations; 22000: %d", small, large)
	if extra > 200 {
		t.Errorf("20000 more requests cost %d more allocations", extra)
	}
}
