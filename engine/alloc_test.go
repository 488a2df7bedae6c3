package engine

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
)

// optionsLoop is a zero-allocation client: it sends batch pipelined OPTIONS
// and reads back the responses, whose total length it learns first.
type optionsLoop struct {
	nc   net.Conn
	req  []byte
	resp []byte
}

func newOptionsLoop(tb testing.TB, addr string, batch int) *optionsLoop {
	c := dial(tb, addr)
	one := options("zeroalloc", 1)
	c.send(one)
	n := len(c.mustRead())
	return &optionsLoop{
		nc:   c.nc,
		req:  []byte(strings.Repeat(one, batch)),
		resp: make([]byte, n*batch),
	}
}

func (o *optionsLoop) round() error {
	if _, err := o.nc.Write(o.req); err != nil {
		return err
	}
	_, err := io.ReadFull(o.nc, o.resp)
	return err
}

// TestOptionsZeroAlloc measures, with testing.AllocsPerRun, the allocations
// of the whole process (server loops included) per OPTIONS round trip.
func TestOptionsZeroAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, batch := range []int{1, 16} {
		t.Run(fmt.Sprint("batch", batch), func(t *testing.T) {
			_, addr := startServer(t, Config{Loops: 1})
			o := newOptionsLoop(t, addr, batch)
			for range 200 {
				if err := o.round(); err != nil {
					t.Fatal(err)
				}
			}
			var err error
			allocs := testing.AllocsPerRun(2000, func() {
				if e := o.round(); e != nil {
					err = e
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if allocs != 0 {
				t.Fatalf("%v allocations per round of %d OPTIONS, want 0", allocs, batch)
			}
		})
	}
}

func BenchmarkOptions(b *testing.B) {
	for _, batch := range []int{1, 32} {
		b.Run(fmt.Sprintf("pipeline%d/engine", batch), func(b *testing.B) {
			_, addr := startServer(b, Config{Loops: 1})
			o := newOptionsLoop(b, addr, batch)
			b.ReportAllocs()
			for b.Loop() {
				if err := o.round(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
