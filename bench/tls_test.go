package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipcm/sipcm/bench/internal/tlsbase"
	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/internal/testcert"
	"github.com/sipcm/sipcm/tlsbridge"
)

// The TLS benchmarks run the pipelined OPTIONS load of load_test.go over
// TLS 1.3 (ECDSA P-256 certificate) against four servers:
//
//   - tcp: sipcm's TCPServer, the same load in clear, for the ratio;
//   - tls: sipcm's TLSServer (package tlsbridge over gnet: its own TLS
//     1.3 record layer after crypto/tls's handshake);
//   - tls-stdrecords: the same with tlsbridge.Config.DisableRecordLayer,
//     crypto/tls's record layer driven from the loop, to show what the
//     record layer changes;
//   - crypto-tls: the baseline (package bench/internal/tlsbase, also
//     bench/cmd/tlsbaseline), crypto/tls over net.Conn with a goroutine
//     per connection running the same server logic (sipparse.Framer,
//     Message.Parse, AppendResponse 200, one write per read batch).

// tlsCerts is the CA and server certificate of the TLS benchmarks.
type tlsCerts struct {
	ca   *testcert.CA
	leaf *testcert.Leaf
}

var (
	tlsCertsOnce sync.Once
	tlsCertsVal  *tlsCerts
	tlsCertsErr  error
)

func benchCerts() (*tlsCerts, error) {
	tlsCertsOnce.Do(func() {
		ca, err := testcert.NewCA("bench CA")
		if err != nil {
			tlsCertsErr = err
			return
		}
		leaf, err := ca.Issue(testcert.Server("localhost"))
		if err != nil {
			tlsCertsErr = err
			return
		}
		tlsCertsVal = &tlsCerts{ca: ca, leaf: leaf}
	})
	return tlsCertsVal, tlsCertsErr
}

// clientConf is the crypto/tls config of the load clients.
func (c *tlsCerts) clientConf() *tls.Config {
	return &tls.Config{RootCAs: c.ca.Pool(), ServerName: "localhost"}
}

// tlsImpl is one server of the TLS benchmarks.
type tlsImpl struct {
	name  string
	tls   bool // the load runs over TLS
	start func(*tlsCerts) (optionsServer, error)
}

var tlsImpls = []tlsImpl{
	{"tcp", false, func(*tlsCerts) (optionsServer, error) { return startSipcm() }},
	{"tls", true, startSipcmTLS},
	{"tls-stdrecords", true, func(c *tlsCerts) (optionsServer, error) { return startSipcmTLSWith(c, true) }},
	{"crypto-tls", true, startCryptoTLS},
}

// sipcmTLSServer is an engine.TLSServer with the default handler.
type sipcmTLSServer struct {
	s  *engine.TLSServer
	ln *engine.Listener
}

func startSipcmTLS(c *tlsCerts) (optionsServer, error) { return startSipcmTLSWith(c, false) }

func startSipcmTLSWith(c *tlsCerts, stdRecords bool) (optionsServer, error) {
	s, err := engine.NewTLSServer(engine.Config{Logger: benchLogger(), Handler: engine.DefaultHandler{},
		TLS: engine.TLSConfig{Config: tlsbridge.Config{Certificate: &c.leaf.TLS, DisableRecordLayer: stdRecords}}})
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
	return &sipcmTLSServer{s: s, ln: ln}, nil
}

func (s *sipcmTLSServer) addr() string { return s.ln.Addr().String() }
func (s *sipcmTLSServer) close() error { return s.s.Close() }

// cryptoTLSServer is the baseline: package tlsbase, crypto/tls over
// net.Conn with a goroutine per connection, the engine's framing, parsing
// and answer.
type cryptoTLSServer struct{ s *tlsbase.Server }

func startCryptoTLS(c *tlsCerts) (optionsServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	conf := &tls.Config{Certificates: []tls.Certificate{c.leaf.TLS}, SessionTicketsDisabled: true}
	return cryptoTLSServer{tlsbase.Listen(ln, conf)}, nil
}

func (s cryptoTLSServer) addr() string { return s.s.Addr().String() }
func (s cryptoTLSServer) close() error { return s.s.Close() }

// countConn counts the reads and writes of the TLS client connection
// above it (each is one crypto/tls record read or written in the load).
type countConn struct {
	net.Conn
	reads, writes *atomic.Uint64
}

func (c countConn) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.Conn.Read(p)
}

func (c countConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// ioCounts are the socket reads and writes of the load clients.
type ioCounts struct{ reads, writes atomic.Uint64 }

func (c *ioCounts) snapshot() (uint64, uint64) { return c.reads.Load(), c.writes.Load() }

// newTLSFixture starts impl and opens conns load connections to it, over
// TLS when impl says so, counting their socket reads and writes in io.
func newTLSFixture(impl tlsImpl, conns int, io *ioCounts) (*loadFixture, error) {
	certs, err := benchCerts()
	if err != nil {
		return nil, err
	}
	srv, err := impl.start(certs)
	if err != nil {
		return nil, err
	}
	f := &loadFixture{srv: srv}
	var conf *tls.Config
	if impl.tls {
		conf = certs.clientConf()
	}
	if err := f.connect(srv.addr(), conns, conf, io); err != nil {
		_ = f.close()
		return nil, err
	}
	return f, nil
}

// connect opens conns load connections to addr, over TLS with conf unless
// it is nil, counting their socket reads and writes in io, and warms them
// up.
func (f *loadFixture) connect(addr string, conns int, conf *tls.Config, io *ioCounts) error {
	for i := range conns {
		nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			return err
		}
		nc = countConn{nc, &io.reads, &io.writes}
		if conf != nil {
			tc := tls.Client(nc, conf)
			_ = tc.SetDeadline(time.Now().Add(loadTimeout))
			if err := tc.Handshake(); err != nil {
				_ = nc.Close()
				return err
			}
			nc = tc
		}
		f.conns = append(f.conns, newLoadConn(nc, i))
	}
	return f.run(4 * loadWindow * conns)
}

// TestTLSOptions runs the load of BenchmarkTLSOptions, briefly, against
// each server: every request must get a 200.
func TestTLSOptions(t *testing.T) {
	for _, conns := range []int{1, 16} {
		for _, impl := range tlsImpls {
			t.Run(fmt.Sprintf("%d/%s", conns, impl.name), func(t *testing.T) {
				var io ioCounts
				fx, err := newTLSFixture(impl, conns, &io)
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
				if s, ok := fx.srv.(*sipcmTLSServer); ok {
					warm := uint64(4 * loadWindow * conns)
					if st := s.s.Stats(); st.MessagesIn != n+warm || st.MessagesOut != n+warm {
						t.Errorf("server counted %d in, %d out, want %d", st.MessagesIn, st.MessagesOut, n+warm)
					}
					if st := s.s.TLS().Stats(); st.Accepted != uint64(conns) {
						t.Errorf("TLS stats %+v", st)
					}
				}
			})
		}
	}
}

// TestTLSOptionsAllocs checks, with runtime.MemStats over a run of the
// benchmark's load against the sipcm TLS server, that the process (server
// and load client) allocates nothing per message: the server runs
// tlsbridge's TLS 1.3 record layer and allocates nothing; the crypto/tls
// load client allocates one 24-byte reader each time it reads its
// connection. So the allocations are bounded by the client's socket reads
// and a small constant per run.
func TestTLSOptionsAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, conns := range []int{1, 16} {
		t.Run(fmt.Sprint(conns), func(t *testing.T) {
			var io ioCounts
			fx, err := newTLSFixture(tlsImpls[1], conns, &io)
			if err != nil {
				t.Fatal(err)
			}
			defer fx.close()
			const n = 50000
			r0, w0 := io.snapshot()
			res, err := fx.measure(nil, n)
			if err != nil {
				t.Fatal(err)
			}
			r1, w1 := io.snapshot()
			batches := (r1 - r0) + (w1 - w0)
			t.Logf("%d allocations (%d bytes) in %d requests: %.4f allocs/req; %d client reads + %d client writes: %.3f allocs per read batch",
				res.mallocs, res.bytes, n, float64(res.mallocs)/n, r1-r0, w1-w0, float64(res.mallocs)/float64(batches))
			// The server (tlsbridge's TLS 1.3 record layer) allocates
			// nothing: crypto/tls's one per read is the client's.
			if reads := r1 - r0; res.mallocs > reads+100 {
				t.Errorf("%d allocations for %d client reads: more than the client's crypto/tls allocates", res.mallocs, reads)
			}
			if batches >= n {
				t.Errorf("%d read batches for %d requests: the load is not batched", batches, n)
			}
		})
	}
}

// BenchmarkTLSOptions drives each server with pipelined OPTIONS from a
// load client process of its own (remote_test.go), as clients outside the
// server's process do: C connections, each keeping loadWindow requests
// outstanding, b.N requests in all. It reports requests per second, the
// server process's allocations per request (runtime.MemStats over the
// run; the client's are in the other process) and requests per client
// socket read or write.
func BenchmarkTLSOptions(b *testing.B) {
	certs, err := benchCerts()
	if err != nil {
		b.Fatal(err)
	}
	for _, conns := range []int{1, 16, 64} {
		b.Run(fmt.Sprint(conns), func(b *testing.B) {
			for _, impl := range tlsImpls {
				var rb remoteBench
				b.Run(impl.name, func(b *testing.B) {
					rb.run(b, func() (optionsServer, error) { return impl.start(certs) }, conns, impl.tls, certs.ca.PEM)
				})
				rb.close(b)
			}
		})
	}
}

// BenchmarkTLSOptionsInProcess is BenchmarkTLSOptions with the load
// client in the benchmark's process, sharing its scheduler with the
// server (see remote_test.go for what that favours): C connections, each
// keeping loadWindow requests outstanding, b.N requests in all. It reports requests per second and, counted with
// runtime.MemStats over the whole process during the run (server and load
// client), allocations per request and per read batch (client socket
// reads plus writes; see TestTLSOptionsAllocs).
func BenchmarkTLSOptionsInProcess(b *testing.B) {
	for _, conns := range []int{1, 16, 64} {
		b.Run(fmt.Sprint(conns), func(b *testing.B) {
			for _, impl := range tlsImpls {
				var fx *loadFixture
				var io ioCounts
				b.Run(impl.name, func(b *testing.B) {
					if fx == nil {
						var err error
						if fx, err = newTLSFixture(impl, conns, &io); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportAllocs()
					r0, w0 := io.snapshot()
					res, err := fx.measure(b, b.N)
					if err != nil {
						b.Fatal(err)
					}
					r1, w1 := io.snapshot()
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
					b.ReportMetric(float64(res.mallocs)/float64(b.N), "allocs/req")
					b.ReportMetric(float64(res.bytes)/float64(b.N), "B/req")
					if n := (r1 - r0) + (w1 - w0); n > 0 {
						b.ReportMetric(float64(res.mallocs)/float64(n), "allocs/batch")
						b.ReportMetric(float64(b.N)/float64(n), "req/batch")
					}
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

// BenchmarkTLSHandshake measures full TLS 1.3 handshakes per second
// (ECDSA P-256, no resumption) against sipcm's TLS server and the
// crypto/tls baseline: each handshake is a new TCP connection, a
// crypto/tls client handshake and one OPTIONS answered (so the server's
// side of the handshake is done too), then a close. Clients run in
// parallel, GOMAXPROCS x 4 at a time.
func BenchmarkTLSHandshake(b *testing.B) {
	certs, err := benchCerts()
	if err != nil {
		b.Fatal(err)
	}
	for _, impl := range []struct {
		name  string
		start func(*tlsCerts) (optionsServer, error)
	}{{"sipcm", startSipcmTLS}, {"crypto-tls", startCryptoTLS}} {
		b.Run(impl.name, func(b *testing.B) {
			srv, err := impl.start(certs)
			if err != nil {
				b.Fatal(err)
			}
			defer srv.close()
			conf := certs.clientConf()
			b.ReportAllocs()
			b.SetParallelism(4)
			var failed atomic.Pointer[error]
			b.RunParallel(func(pb *testing.PB) {
				id := 0
				for pb.Next() {
					if err := handshakeOnce(srv.addr(), conf, id); err != nil {
						failed.CompareAndSwap(nil, &err)
						return
					}
					id++
				}
			})
			if p := failed.Load(); p != nil {
				b.Fatal(*p)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
		})
	}
}

// handshakeOnce connects, runs a TLS handshake, gets one OPTIONS answered
// and closes.
func handshakeOnce(addr string, conf *tls.Config, id int) error {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(loadTimeout))
	tc := tls.Client(nc, conf)
	if err := tc.Handshake(); err != nil {
		return err
	}
	c := newLoadConn(tc, id)
	return c.run(1)
}
