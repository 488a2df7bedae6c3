package bench

import (
	"fmt"
	"testing"
)

// TestServerOptions runs the load of BenchmarkServerOptions, briefly,
// against each server: every request must get a 200.
func TestServerOptions(t *testing.T) {
	for _, conns := range []int{1, 16} {
		for _, impl := range serverImpls {
			t.Run(fmt.Sprintf("%d/%s", conns, impl.name), func(t *testing.T) {
				fx, err := newLoadFixture(impl, conns)
				if err != nil {
					t.Fatal(err)
				}
				defer func() {
					if err := fx.close(); err != nil {
						t.Error(err)
					}
				}()
				const n = 3000
				if err := fx.run(n); err != nil {
					t.Fatal(err)
				}
				if s, ok := fx.srv.(*sipcmServer); ok {
					warm := uint64(4 * loadWindow * conns)
					if st := s.s.Stats(); st.MessagesIn != n+warm || st.MessagesOut != n+warm {
						t.Errorf("server counted %d in, %d out, want %d", st.MessagesIn, st.MessagesOut, n+warm)
					}
				}
			})
		}
	}
}

// TestServerOptionsAllocs checks, with runtime.MemStats over a run of the
// benchmark's load, that the sipcm server and the load client together
// allocate nothing per request. What is allowed is a small constant per
// run (timer ticks handed to the loops, goroutine wake-ups), far below one
// allocation per thousand requests.
func TestServerOptionsAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, conns := range []int{1, 16} {
		t.Run(fmt.Sprint(conns), func(t *testing.T) {
			fx, err := newLoadFixture(serverImpls[0], conns)
			if err != nil {
				t.Fatal(err)
			}
			defer fx.close()
			const n = 50000
			res, err := fx.measure(nil, n)
			if err != nil {
				t.Fatal(err)
			}
			per := float64(res.mallocs) / n
			t.Logf("%d allocations (%d bytes) in %d requests: %.5f allocs/req", res.mallocs, res.bytes, n, per)
			if per >= 0.001 {
				t.Errorf("%.5f allocations per request, want 0 at steady state", per)
			}
		})
	}
}
