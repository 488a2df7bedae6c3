package relay_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/internal/relay"
	"github.com/sipcm/sipcm/internal/relay/relaytest"
)

// BenchmarkRelay sends OPTIONS through a relay to an upstream on one
// client connection, 32 outstanding at a time. Its allocations are the
// whole process's: the upstream's and the client's included.
func BenchmarkRelay(b *testing.B) {
	u, err := relaytest.Start(relaytest.Answer)
	if err != nil {
		b.Fatal(err)
	}
	defer u.Close()
	dest, _ := relay.ParseUpstream("tcp://" + u.Addr())
	r, err := relay.New(relay.Config{Upstream: dest, PoolSize: 1, Logger: testLogger()})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := engine.NewTCPServer(engine.Config{Handler: r, Loops: 1, Logger: testLogger()})
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Attach(&srv.Manager); err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	ln, err := srv.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	c, err := relaytest.Dial(ln.Addr().String(), time.Now().Add(time.Minute))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	const window = 32
	reqs := make([][]byte, window)
	for i := range reqs {
		reqs[i] = relaytest.Request("OPTIONS", fmt.Sprintf("bench%d", i), i+1, 70, "")
	}
	b.Run("options/relay", func(b *testing.B) {
		b.ReportAllocs()
		sent, got := 0, 0
		for ; sent < min(window, b.N); sent++ {
			if _, err := c.Write(reqs[sent%window]); err != nil {
				b.Fatal(err)
			}
		}
		for got < b.N {
			if _, status, err := c.Response(); err != nil || status != 200 {
				b.Fatalf("status %d: %v", status, err)
			}
			got++
			if sent < b.N {
				if _, err := c.Write(reqs[sent%window]); err != nil {
					b.Fatal(err)
				}
				sent++
			}
		}
	})
}
