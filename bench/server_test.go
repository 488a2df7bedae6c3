package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipcm/sipcm/engine"
)

// optionsServer is a loopback server answering OPTIONS with 200.
type optionsServer interface {
	addr() string
	close() error
}

// serverImpl names a server implementation and starts one.
type serverImpl struct {
	name  string
	start func() (optionsServer, error)
}

var serverImpls = []serverImpl{
	{"sipcm", startSipcm},
	{"sipgo", startSipgo},
}

// benchLogger logs warnings to stderr.
func benchLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// sipcmServer is an engine.TCPServer with the default handler.
type sipcmServer struct {
	s  *engine.TCPServer
	ln *engine.Listener
}

func startSipcm() (optionsServer, error) {
	s, err := engine.NewTCPServer(engine.Config{Logger: benchLogger(), Handler: engine.DefaultHandler{}})
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	ln, err := s.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return &sipcmServer{s: s, ln: ln}, nil
}

func (s *sipcmServer) addr() string { return s.ln.Addr().String() }
func (s *sipcmServer) close() error { return s.s.Close() }

// sipgoServer is a minimal sipgo server answering OPTIONS with 200.
type sipgoServer struct {
	ua   *sipgo.UserAgent
	srv  *sipgo.Server
	ln   net.Listener
	done chan error
}

func startSipgo() (optionsServer, error) {
	ua, err := sipgo.NewUA()
	if err != nil {
		return nil, err
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(benchLogger()))
	if err != nil {
		_ = ua.Close()
		return nil, err
	}
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = srv.Close()
		_ = ua.Close()
		return nil, err
	}
	s := &sipgoServer{ua: ua, srv: srv, ln: ln, done: make(chan error, 1)}
	go func() { s.done <- srv.ServeTCP(ln) }()
	return s, nil
}

func (s *sipgoServer) addr() string { return s.ln.Addr().String() }

func (s *sipgoServer) close() error {
	_ = s.ln.Close()
	<-s.done
	err := s.srv.Close()
	return errors.Join(err, s.ua.Close())
}

// loadFixture is a server with conns load connections to it.
type loadFixture struct {
	srv   optionsServer
	conns []*loadConn
}

func newLoadFixture(impl serverImpl, conns int) (*loadFixture, error) {
	srv, err := impl.start()
	if err != nil {
		return nil, err
	}
	f := &loadFixture{srv: srv}
	for i := range conns {
		c, err := dialLoad(srv.addr(), i)
		if err != nil {
			_ = f.close()
			return nil, err
		}
		f.conns = append(f.conns, c)
	}
	// Warm up: the server's per-connection state and pools.
	if err := f.run(4 * loadWindow * conns); err != nil {
		_ = f.close()
		return nil, err
	}
	return f, nil
}

// prepare arms the load connections for the next run.
func (f *loadFixture) prepare() error {
	for _, c := range f.conns {
		if err := c.arm(); err != nil {
			return err
		}
	}
	return nil
}

// run sends n requests spread over the connections, one goroutine each,
// and waits for every response.
func (f *loadFixture) run(n int) error {
	if err := f.prepare(); err != nil {
		return err
	}
	start, wait := f.launch(n)
	close(start)
	return wait()
}

// launch starts the goroutines of a run of n requests, blocked until start
// is closed; wait returns once they are done. Splitting the two keeps the
// allocations of starting goroutines out of a measurement.
func (f *loadFixture) launch(n int) (start chan struct{}, wait func() error) {
	start = make(chan struct{})
	errs := make([]error, len(f.conns))
	var wg sync.WaitGroup
	for i, c := range f.conns {
		quota := n / len(f.conns)
		if i < n%len(f.conns) {
			quota++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = c.run(quota)
		}()
	}
	return start, func() error {
		wg.Wait()
		return errors.Join(errs...)
	}
}

func (f *loadFixture) close() error {
	var errs []error
	for _, c := range f.conns {
		errs = append(errs, c.close())
	}
	if f.srv != nil { // nil in a load client process (remote_test.go)
		errs = append(errs, f.srv.close())
	}
	return errors.Join(errs...)
}

// loadResult is what one measured run found.
type loadResult struct {
	reqs    int
	mallocs uint64 // process-wide, client included (it allocates nothing)
	bytes   uint64
}

// measure runs n requests and counts the process's allocations during the
// run. The goroutines are started before the count begins.
func (f *loadFixture) measure(b *testing.B, n int) (loadResult, error) {
	if err := f.prepare(); err != nil {
		return loadResult{}, err
	}
	start, wait := f.launch(n)
	runtime.Gosched()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if b != nil {
		b.ResetTimer()
	}
	close(start)
	err := wait()
	if b != nil {
		b.StopTimer()
	}
	runtime.ReadMemStats(&after)
	return loadResult{
		reqs:    n,
		mallocs: after.Mallocs - before.Mallocs,
		bytes:   after.TotalAlloc - before.TotalAlloc,
	}, err
}

// BenchmarkServerOptions drives a loopback server answering OPTIONS with
// 200 with pipelined load from a load client process (remote_test.go): C
// connections, each keeping loadWindow requests outstanding, b.N requests
// in all. It reports requests per second and the server process's
// allocations per request (runtime.MemStats). BenchmarkServerOptionsInProcess
// runs the load in the benchmark's process instead, where it shares the
// scheduler with the server (which favours a goroutine-per-connection
// server such as sipgo's; see remote_test.go).
func BenchmarkServerOptions(b *testing.B) {
	for _, conns := range []int{1, 16, 64} {
		b.Run(fmt.Sprint(conns), func(b *testing.B) {
			for _, impl := range serverImpls {
				var rb remoteBench
				b.Run(impl.name, func(b *testing.B) { rb.run(b, impl.start, conns, false, nil) })
				rb.close(b)
			}
		})
	}
}

// BenchmarkServerOptionsInProcess is BenchmarkServerOptions with the load
// in the benchmark's process; the load client allocates nothing, so the
// allocations counted process-wide are the server's.
func BenchmarkServerOptionsInProcess(b *testing.B) {
	for _, conns := range []int{1, 16, 64} {
		b.Run(fmt.Sprint(conns), func(b *testing.B) {
			for _, impl := range serverImpls {
				var fx *loadFixture
				b.Run(impl.name, func(b *testing.B) {
					if fx == nil {
						var err error
						if fx, err = newLoadFixture(impl, conns); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportAllocs()
					res, err := fx.measure(b, b.N)
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
					b.ReportMetric(float64(res.mallocs)/float64(b.N), "allocs/req")
					b.ReportMetric(float64(res.bytes)/float64(b.N), "B/req")
				})
				if fx != nil {
					if err := fx.close(); err != nil {
						b.Error(err)
					}
				}
			}
		})
	}
}
