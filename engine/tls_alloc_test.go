package engine

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// countedConn counts the socket reads and writes under a crypto/tls
// client.
type countedConn struct {
	net.Conn
	reads, writes atomic.Uint64
}

func (c *countedConn) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.Conn.Read(p)
}

func (c *countedConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestTLSOptionsAllocs counts, with runtime.MemStats, the allocations of
// the whole process (server loops and crypto/tls client) over rounds of
// pipelined OPTIONS on a TLS connection. Neither the engine nor tlsbridge
// allocates per message; crypto/tls allocates one 24-byte reader whenever
// it reads its connection: on the client, once per socket read, and on
// the server, once per read batch the loop feeds it, which is at most one
// per client write. So the allocations are bounded by the client's socket
// reads plus writes, whatever the number of messages per batch.
func TestTLSOptionsAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	p := newPKI(t)
	for _, batch := range []int{1, 16} {
		t.Run(fmt.Sprint("batch", batch), func(t *testing.T) {
			_, addr := startTLSServer(t, Config{Loops: 1, Handler: DefaultHandler{}, TLS: p.serverTLS(p.server)})
			raw, err := net.DialTimeout("tcp", addr, ioTimeout)
			if err != nil {
				t.Fatal(err)
			}
			cc := &countedConn{Conn: raw}
			c, err := tlsClient(t, cc, p.clientConf())
			if err != nil {
				t.Fatal(err)
			}
			one := options("tlsalloc", 1)
			c.send(one)
			first := c.mustRead()
			req := []byte(strings.Repeat(one, batch))
			resp := make([]byte, len(first)*batch)
			tc := c.nc.(*tls.Conn)
			round := func() {
				if _, err := tc.Write(req); err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadFull(tc, resp); err != nil {
					t.Fatal(err)
				}
			}
			for range 200 {
				round()
			}
			const rounds = 2000
			r0, w0 := cc.reads.Load(), cc.writes.Load()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range rounds {
				round()
			}
			runtime.ReadMemStats(&after)
			reads, writes := cc.reads.Load()-r0, cc.writes.Load()-w0
			mallocs := after.Mallocs - before.Mallocs
			t.Logf("%d allocations in %d rounds of %d OPTIONS (%.3f per message); %d client reads, %d writes",
				mallocs, rounds, batch, float64(mallocs)/float64(rounds*batch), reads, writes)
			if mallocs > reads+writes+20 {
				t.Errorf("%d allocations, more than one per socket read of the client (%d) and per read batch of the server (<= %d writes)",
					mallocs, reads, writes)
			}
		})
	}
}
