package engine

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/sipcm/sipcm/dispatch"
)

// optionsLoop is a zero-allocation client: it sends batch pipelined OPTIONS
// and reads back the responses, whose total length it learns first.
type optionsLoop struct {
	nc    net.Conn
	req   []byte
	resp  []byte
	first []byte // the first response
}

func newOptionsLoop(tb testing.TB, addr string, batch int) *optionsLoop {
	c := dial(tb, addr)
	one := options("zeroalloc", 1)
	c.send(one)
	first := c.mustRead()
	return &optionsLoop{
		nc:    c.nc,
		req:   []byte(strings.Repeat(one, batch)),
		resp:  make([]byte, len(first)*batch),
		first: []byte(first),
	}
}

func (o *optionsLoop) round() error {
	if _, err := o.nc.Write(o.req); err != nil {
		return err
	}
	_, err := io.ReadFull(o.nc, o.resp)
	return err
}

// optionsServers are the ways a server answers the OPTIONS of
// newOptionsLoop: DefaultHandler by itself; the dispatcher routing to an
// endpoint of AOR sip:srv@127.0.0.1 that answers 200; the dispatcher with
// no endpoint, answering 500 by itself.
var optionsServers = []struct {
	name     string
	handler  Handler
	endpoint bool
	status   int
}{
	{"default", DefaultHandler{}, false, 200},
	{"dispatch", nil, true, 200},
	{"dispatch500", nil, false, 500},
}

func startOptionsServer(tb testing.TB, handler Handler, endpoint bool) string {
	s, addr := startServer(tb, Config{Loops: 1, Handler: handler})
	if endpoint {
		if err := s.Dispatcher().Add(newEndpoint(tb, dispatch.EndpointConfig{AOR: "sip:srv@127.0.0.1", Handler: answer(200)})); err != nil {
			tb.Fatal(err)
		}
	}
	return addr
}

// TestOptionsZeroAlloc measures, with testing.AllocsPerRun, the allocations
// of the whole process (server loops included) per OPTIONS round trip: by
// DefaultHandler, through the dispatcher to an endpoint, and answered by
// the dispatcher itself.
func TestOptionsZeroAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, srv := range optionsServers {
		for _, batch := range []int{1, 16} {
			t.Run(fmt.Sprint(srv.name, "/batch", batch), func(t *testing.T) {
				addr := startOptionsServer(t, srv.handler, srv.endpoint)
				o := newOptionsLoop(t, addr, batch)
				if got := statusOf(string(o.first)); got != srv.status {
					t.Fatalf("status %d, want %d", got, srv.status)
				}
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
}

func BenchmarkOptions(b *testing.B) {
	for _, srv := range optionsServers[:2] {
		for _, batch := range []int{1, 32} {
			b.Run(fmt.Sprintf("pipeline%d/%s", batch, srv.name), func(b *testing.B) {
				addr := startOptionsServer(b, srv.handler, srv.endpoint)
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
}
