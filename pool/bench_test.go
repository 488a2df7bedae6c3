package pool

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
)

func benchHandle(b *testing.B, size int) *Handle {
	m, _, _ := setup(b, Config{DefaultSize: size})
	h := acquire(b, m, testKey)
	for i := 0; i < 8; i++ {
		mustGet(b, h, 0)
	}
	return h
}

// BenchmarkPick measures Handle.Get on a full pool of 5 (and an Unlimited
// pool). "lanes" gives each goroutine its own lane of Get, "onelane" makes
// all goroutines share one counter (the contended baseline), "loop" gives
// each goroutine its own loop index of GetLoop.
func BenchmarkPick(b *testing.B) {
	ctx := context.Background()
	b.Run("serial/shared", func(b *testing.B) {
		h := benchHandle(b, 5)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := h.Get(ctx, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("serial/loop", func(b *testing.B) {
		h := benchHandle(b, 5)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := h.GetLoop(ctx, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("serial/unlimited", func(b *testing.B) {
		h := benchHandle(b, Unlimited)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := h.Get(ctx, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, par := range []int{1, 4, 16} {
		for _, impl := range []string{"lanes", "onelane", "loop"} {
			b.Run("parallel-x"+strconv.Itoa(par)+"/"+impl, func(b *testing.B) {
				m, _, _ := setup(b, Config{DefaultSize: 5, Lanes: MaxLanes})
				h := acquire(b, m, testKey)
				for i := 0; i < 5; i++ {
					mustGet(b, h, 0)
				}
				var next atomic.Uint32
				b.SetParallelism(par)
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					var lane uint32
					if impl != "onelane" {
						lane = next.Add(1) - 1 // distinct per goroutine
					}
					for pb.Next() {
						var err error
						if impl == "loop" {
							_, err = h.GetLoop(ctx, int(lane))
						} else {
							_, err = h.Get(ctx, lane)
						}
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}
