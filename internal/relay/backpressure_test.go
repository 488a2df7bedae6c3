//go:build unix

package relay_test

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/internal/relay"
	"github.com/sipcm/sipcm/internal/relay/relaytest"
)

// logRecorder is a slog.Handler that keeps the messages of the records at
// or above Warn.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (h *logRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h *logRecorder) WithGroup(string) slog.Handler                { return h }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.msgs = append(h.msgs, r.Message)
	h.mu.Unlock()
	return nil
}

func (h *logRecorder) count(substr string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.msgs {
		if strings.Contains(m, substr) {
			n++
		}
	}
	return n
}

// TestClientNotReading: a client that sends requests and never reads the
// responses. Once its connection's outbound buffer is over the high-water
// mark, the responses refused are counted as Backpressure (and Dropped) and
// logged as warnings; none is lost silently: every request forwarded has
// its response either written to the client or counted, and once the
// client reads, it gets exactly the responses written, then talks again.
func TestClientNotReading(t *testing.T) {
	const (
		highWater = 8 << 10
		batch     = 32
		maxReqs   = 50000 // bounds the load
	)
	u := startUpstream(t, relaytest.Answer)
	logs := new(logRecorder)
	rl := startRelay(t, u.Addr(), relay.Config{PoolSize: 2, Logger: slog.New(logs)}, func(c *engine.Config) {
		c.WriteHighWater = highWater
	})
	// A small receive buffer, set before the connect so that the window
	// is small from the start.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10)
		})
		return cmp.Or(err, serr)
	}}
	nc, err := d.Dial("tcp", rl.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(testTimeout))
	c := &relaytest.Client{Conn: nc, Reader: relaytest.NewReader(nc)}
	sent := 0
	for sent < maxReqs && rl.r.Stats().Backpressure == 0 {
		var b []byte
		for range batch {
			sent++
			b = append(b, relaytest.Request("MESSAGE", fmt.Sprintf("nr%d", sent), sent, 70, "")...)
		}
		if _, err := c.Write(b); err != nil {
			t.Fatalf("after %d requests: %v", sent, err)
		}
		// One batch at a time: the relay reads it before the next.
		waitFor(t, "the relay to read the batch", func() bool { return rl.r.Stats().Requests == uint64(sent) })
	}
	waitFor(t, "every response to be written or dropped", func() bool {
		st := rl.r.Stats()
		return st.Relayed+st.Dropped == uint64(sent)
	})
	st := rl.r.Stats()
	if st.Backpressure == 0 {
		t.Fatalf("%d requests never reached the high-water mark: %+v", sent, st)
	}
	waitFor(t, "nothing to be pending", func() bool { return rl.r.Stats().Pending == 0 })
	if st.Dropped != st.Backpressure || st.Forwarded != uint64(sent) || st.Unavailable != 0 || st.Timeouts != 0 {
		t.Errorf("stats %+v for %d requests", st, sent)
	}
	if n := logs.count("the client does not read"); n == 0 {
		t.Errorf("no warning logged for %d responses refused", st.Backpressure)
	}

	// The client reads what was written, then talks again.
	for i := uint64(0); i < st.Relayed; i++ {
		if _, status, err := c.Response(); err != nil || status != 200 {
			t.Fatalf("response %d of %d: %d %v", i+1, st.Relayed, status, err)
		}
	}
	req := relaytest.Request("OPTIONS", "again", sent+1, 70, "")
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	b, status, err := c.Response()
	if err != nil || status != 200 || !strings.Contains(string(b), "z9hG4bKagain") {
		t.Fatalf("after reading: %d %v\n%s", status, err, b)
	}
	t.Logf("%d requests: %d responses written, %d refused by backpressure, %d warnings",
		sent, st.Relayed, st.Backpressure, logs.count("the client does not read"))
}
