package tlsbridge

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"runtime"
	"testing"

	"github.com/sipcm/sipcm/internal/testcert"
)

// The benchmarks compare the bridge ("bridge": our TLS 1.3 record layer,
// crypto/tls in loop mode for TLS 1.2; "bridge-std": crypto/tls in loop
// mode for both, Config.DisableRecordLayer; handshake on a goroutine over
// fake loops) with crypto/tls on a net.Conn
// and a goroutine per connection ("conn": net.Pipe, the same tls.Config
// and verification). Neither touches a socket, so they show the cost of
// the TLS plumbing alone.

type benchPKI struct {
	srv, cli *Manager
}

func newBenchPKI(tb testing.TB, maxVersion uint16) *benchPKI {
	ca := testcert.MustCA(tb, "bench CA")
	p := &benchPKI{
		srv: serverManager(tb, ca, ca.MustIssue(tb, testcert.Server("localhost")), false, nil),
		cli: clientManager(tb, ca),
	}
	p.cli.client.MaxVersion = maxVersion
	return p
}

// bridgePair makes an established pair of bridge Conns on loops a and b;
// plaintext that arrives is discarded.
func bridgePair(tb testing.TB, p *benchPKI, a, b *fakeLoop) (cli, srv *Conn) {
	cliT, srvT := &loopTransport{loop: a}, &loopTransport{loop: b}
	srv, err := p.srv.Accept(srvT, nil)
	if err != nil {
		tb.Fatal(err)
	}
	cli = p.cli.Connect(cliT, nil, Outbound{Host: "localhost"})
	cliT.sink = func(x []byte) {
		b.post(func() { _ = srv.Feed(x); srv.Discard(len(srv.Buffered())) })
	}
	srvT.sink = func(x []byte) {
		a.post(func() { _ = cli.Feed(x); cli.Discard(len(cli.Buffered())) })
	}
	done := make(chan error, 1)
	go func() { done <- srv.Handshake(context.Background()) }()
	errC := cli.Handshake(context.Background())
	if errS := <-done; errC != nil || errS != nil {
		tb.Fatal(errC, errS)
	}
	a.do(func() { errC = cli.Activate() })
	var errS error
	b.do(func() { errS = srv.Activate() })
	if errC != nil || errS != nil {
		tb.Fatal(errC, errS)
	}
	return cli, srv
}

// connPair makes an established pair of crypto/tls Conns over net.Pipe,
// with the same configurations.
func connPair(tb testing.TB, p *benchPKI) (cli, srv *tls.Conn) {
	c1, c2 := net.Pipe()
	srv = tls.Server(c2, p.srv.ServerConfig())
	cli = tls.Client(c1, p.cli.ClientConfig(Outbound{Host: "localhost"}, nil))
	done := make(chan error, 1)
	go func() { done <- srv.Handshake() }()
	errC := cli.Handshake()
	if errS := <-done; errC != nil || errS != nil {
		tb.Fatal(errC, errS)
	}
	return cli, srv
}

func BenchmarkHandshake(b *testing.B) {
	for _, v := range tlsVersions {
		b.Run(v.name+"/bridge", func(b *testing.B) {
			p := newBenchPKI(b, v.max)
			la, lb := newLoop(b), newLoop(b)
			b.ReportAllocs()
			for b.Loop() {
				cli, srv := bridgePair(b, p, la, lb)
				la.do(func() { cli.Close() })
				lb.do(func() { srv.Close() })
			}
		})
		b.Run(v.name+"/conn", func(b *testing.B) {
			p := newBenchPKI(b, v.max)
			b.ReportAllocs()
			for b.Loop() {
				cli, srv := connPair(b, p)
				cli.NetConn().Close()
				srv.NetConn().Close()
			}
		})
	}
}

var benchSizes = []struct {
	name string
	n    int
}{{"450B", 450}, {"4KiB", 4 << 10}}

// BenchmarkMessage: one message from client to server, encrypted and
// decrypted. bridge: Write and Feed on the caller's goroutine, as the two
// loops would. conn: the client writes, a server goroutine blocked in Read
// takes it.
func BenchmarkMessage(b *testing.B) {
	for _, v := range tlsVersions {
		for _, sz := range benchSizes {
			msg := bytes.Repeat([]byte("x"), sz.n)
			b.Run(v.name+"/"+sz.name+"/bridge", func(b *testing.B) {
				p := newSteadyPair(b, v.max)
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				for b.Loop() {
					p.write(b, msg, 1, true)
					p.read(b, sz.n, 1, true)
				}
			})
			b.Run(v.name+"/"+sz.name+"/bridge-std", func(b *testing.B) {
				p := newSteadyPairOn(b, v.max, true)
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				for b.Loop() {
					p.write(b, msg, 1, true)
					p.read(b, sz.n, 1, true)
				}
			})
			b.Run(v.name+"/"+sz.name+"/bridge-batch8", func(b *testing.B) {
				p := newSteadyPair(b, v.max)
				b.SetBytes(int64(8 * sz.n))
				b.ReportAllocs()
				for b.Loop() {
					p.write(b, msg, 8, true)
					p.read(b, sz.n, 8, true)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(8*b.N), "ns/msg")
			})
			b.Run(v.name+"/"+sz.name+"/conn", func(b *testing.B) {
				cli, srv := connPair(b, newBenchPKI(b, v.max))
				done := make(chan struct{})
				go func() {
					defer close(done)
					buf := make([]byte, sz.n)
					for {
						if _, err := io.ReadFull(srv, buf); err != nil {
							return
						}
					}
				}()
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := cli.Write(msg); err != nil {
						b.Fatal(err)
					}
				}
				cli.NetConn().Close()
				<-done
			})
		}
	}
}

// BenchmarkIdleConn reports the memory an established, idle connection
// holds after one message each way: heap bytes per Conn, and for conn the
// stack of the goroutine parked in Read. Pairs are of one kind, so the
// figures are per pair / 2.
func BenchmarkIdleConn(b *testing.B) {
	const pairs = 100
	msg := bytes.Repeat([]byte("x"), 1200)
	measure := func(b *testing.B, build func() func()) {
		var heap, stack float64
		for b.Loop() {
			b.StopTimer()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			closeAll := build()
			runtime.GC()
			runtime.ReadMemStats(&after)
			heap += float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (2 * pairs)
			stack += float64(int64(after.StackInuse)-int64(before.StackInuse)) / (2 * pairs)
			closeAll()
			b.StartTimer()
		}
		b.ReportMetric(heap/float64(b.N), "heapB/conn")
		b.ReportMetric(stack/float64(b.N), "stackB/conn")
	}
	b.Run("bridge", func(b *testing.B) {
		p := newBenchPKI(b, 0)
		la, lb := newLoop(b), newLoop(b)
		measure(b, func() func() {
			var cs []*Conn
			for range pairs {
				cli, srv := bridgePair(b, p, la, lb)
				la.do(func() { _, _ = cli.Write(msg) })
				lb.do(func() { _, _ = srv.Write(msg) })
				cs = append(cs, cli, srv)
			}
			la.do(func() {}) // both loops drained
			lb.do(func() {})
			la.do(func() {})
			return func() {
				for i := 0; i < len(cs); i += 2 {
					la.do(func() { cs[i].Close() })
					lb.do(func() { cs[i+1].Close() })
				}
			}
		})
	})
	b.Run("conn", func(b *testing.B) {
		p := newBenchPKI(b, 0)
		measure(b, func() func() {
			var cs []*tls.Conn
			done := make(chan struct{}, 2*pairs)
			for range pairs {
				cli, srv := connPair(b, p)
				for _, c := range []*tls.Conn{cli, srv} {
					go func() { // the goroutine per connection, parked in Read
						buf := make([]byte, 4096)
						for {
							if _, err := c.Read(buf); err != nil {
								done <- struct{}{}
								return
							}
						}
					}()
				}
				// net.Pipe is synchronous: each Write returns once the
				// peer's reader took the record.
				if _, err := cli.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := srv.Write(msg); err != nil {
					b.Fatal(err)
				}
				cs = append(cs, cli, srv)
			}
			return func() {
				for _, c := range cs {
					c.NetConn().Close()
				}
				for range cs {
					<-done
				}
			}
		})
	})
}
