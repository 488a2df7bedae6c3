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
// pipelined OPTIONS on a TLS connection answered 200. crypto/tls
// allocates one 24-byte reader whenever it reads its connection: on the
// client, once per socket read. Over TLS 1.3 the server runs tlsbridge's
// record layer and neither it nor the engine allocates, so the
// allocations are bounded by the client's socket reads. Over TLS 1.2 the
// server's crypto/tls adds one per read batch the loop feeds it, at most
// one per client write.
func TestTLSOptionsAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	p := newPKI(t)
	for _, tc := range []struct {
		name  string
		max   uint16
		batch int
	}{{"tls13", tls.VersionTLS13, 1}, {"tls13", tls.VersionTLS13, 16}, {"tls12", tls.VersionTLS12, 1}, {"tls12", tls.VersionTLS12, 16}} {
		batch := tc.batch
		t.Run(fmt.Sprint(tc.name, "/batch", batch), func(t *testing.T) {
			_, addr := startTLSServer(t, Config{Loops: 1, Handler: DefaultHandler{}, TLS: p.serverTLS(p.server)})
			raw, err := net.DialTimeout("tcp", addr, ioTimeout)
			if err != nil {
				t.Fatal(err)
			}
			cc := &countedConn{Conn: raw}
			conf := p.clientConf()
			conf.MaxVersion = tc.max
			c, err := tlsClient(t, cc, conf)
			if err != nil {
				t.Fatal(err)
			}
			one := options("tlsalloc", 1)
			c.send(one)
			first := c.mustRead()
			req := []byte(strings.Repeat(one, batch))
			resp := make([]byte, len(first)*batch)
			tlc := c.nc.(*tls.Conn)
			round := func() {
				if _, err := tlc.Write(req); err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadFull(tlc, resp); err != nil {
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
			if tc.max == tls.VersionTLS13 {
				// The server side (tlsbridge's record layer) allocates
				// nothing: every allocation is the client's.
				if mallocs > reads+20 {
					t.Errorf("%d allocations, more than the client's one per socket read (%d)", mallocs, reads)
				}
			} else if mallocs > reads+writes+20 {
				t.Errorf("%d allocations, more than one per socket read of the client (%d) and per read batch of the server (<= %d writes)",
					mallocs, reads, writes)
			}
		})
	}
}
