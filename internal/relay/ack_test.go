package relay_test

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipcm/sipcm/internal/relay"
	"github.com/sipcm/sipcm/internal/relay/relaytest"
	"github.com/sipcm/sipcm/sipparse"
)

// finalOf sends req on c and returns its final response, parsed.
func finalOf(t *testing.T, c *relaytest.Client, req []byte) *sipparse.Message {
	t.Helper()
	b, _ := roundTrip(t, c, req)
	m := new(sipparse.Message)
	if err := m.Parse(b); err != nil {
		t.Fatal(err)
	}
	return m
}

// upstreamRequest waits until the upstream has read n requests and
// returns the last one with the address of the connection it came on.
func upstreamRequest(t *testing.T, u *relaytest.Upstream, n int) ([]byte, string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("the upstream to read %d requests", n), func() bool { return len(u.Requests()) >= n })
	reqs, srcs := u.Requests(), u.Sources()
	if len(reqs) != n {
		t.Fatalf("upstream read %d requests, want %d", len(reqs), n)
	}
	return reqs[n-1], srcs[n-1]
}

// TestACKNon2xx: the ACK of a non-2xx final response from the upstream
// reaches it byte for byte as forwarded (received/rport, Max-Forwards)
// under the INVITE's own Via line, on the INVITE's connection, even when
// other requests went through the pool in between (RFC 3261 §17.1.1.3); an
// ACK of a 2xx gets a Via of its own (a transaction of its own).
func TestACKNon2xx(t *testing.T) {
	u := startUpstream(t, relaytest.Reject)
	rl := startRelay(t, u.Addr(), relay.Config{PoolSize: 3}, nil)
	c := dial(t, rl.addr)
	src := localOf(t, c)

	resp := finalOf(t, c, relaytest.Request("INVITE", "rej1", 1, 70, ""))
	if resp.StatusCode != 486 {
		t.Fatalf("INVITE: %d, want 486", resp.StatusCode)
	}
	inv, invSrc := upstreamRequest(t, u, 1)
	// The pool turns: requests in between go on other connections.
	for i := range 4 {
		if _, status := roundTrip(t, c, relaytest.Request("OPTIONS", fmt.Sprintf("mid%d", i), 2+i, 70, "")); status != 200 {
			t.Fatalf("OPTIONS: %d", status)
		}
	}
	ack := ackFor(t, resp, "rej1")
	if _, err := c.Write(ack); err != nil {
		t.Fatal(err)
	}
	got, ackSrc := upstreamRequest(t, u, 6)
	if want := expected(t, ack, src, topViaLine(t, inv)); !bytes.Equal(got, want) {
		t.Errorf("upstream read the ACK\n%q\nwant\n%q", got, want)
	}
	if ackSrc != invSrc {
		t.Errorf("ACK came on %s, the INVITE on %s", ackSrc, invSrc)
	}
	waitFor(t, "the ACK to be counted", func() bool { return rl.r.Stats().ForwardedACK == 1 })
	if st := rl.r.Stats(); st.TxACKs != 1 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}

	// A 2xx and its ACK, which has a branch of its own.
	u.SetMode(relaytest.Answer)
	resp = finalOf(t, c, relaytest.Request("INVITE", "ok1", 10, 70, ""))
	if resp.StatusCode != 200 {
		t.Fatalf("INVITE: %d, want 200", resp.StatusCode)
	}
	inv, _ = upstreamRequest(t, u, 7)
	ack = ackFor(t, resp, "ack-ok1")
	if _, err := c.Write(ack); err != nil {
		t.Fatal(err)
	}
	got, _ = upstreamRequest(t, u, 8)
	if bytes.Equal(topViaLine(t, got), topViaLine(t, inv)) {
		t.Errorf("the ACK of a 2xx has the INVITE's Via %q", topViaLine(t, got))
	}
	if want := expected(t, ack, src, topViaLine(t, got)); !bytes.Equal(got, want) {
		t.Errorf("upstream read the ACK\n%q\nwant\n%q", got, want)
	}
	waitFor(t, "the ACK to be counted", func() bool { return rl.r.Stats().ForwardedACK == 2 })
	if st := rl.r.Stats(); st.TxACKs != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestACKOnce: an INVITE awaits one ACK; a second one with its branch is
// forwarded with a Via of its own.
func TestACKOnce(t *testing.T) {
	u := startUpstream(t, relaytest.Reject)
	rl := startRelay(t, u.Addr(), relay.Config{PoolSize: 1}, nil)
	c := dial(t, rl.addr)
	resp := finalOf(t, c, relaytest.Request("INVITE", "twice", 1, 70, ""))
	inv, _ := upstreamRequest(t, u, 1)
	ack := ackFor(t, resp, "twice")
	for n := 2; n <= 3; n++ {
		if _, err := c.Write(ack); err != nil {
			t.Fatal(err)
		}
		got, _ := upstreamRequest(t, u, n)
		if same := bytes.Equal(topViaLine(t, got), topViaLine(t, inv)); same != (n == 2) {
			t.Errorf("ACK %d: Via %q, INVITE's %q", n-1, topViaLine(t, got), topViaLine(t, inv))
		}
	}
	waitFor(t, "the ACKs to be counted", func() bool { return rl.r.Stats().ForwardedACK == 2 })
	if st := rl.r.Stats(); st.TxACKs != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestACKExpired: an INVITE awaits its ACK for 64*T1 (the upstream's timer
// H) by the relay's clock; a later ACK is forwarded with a Via of its own.
func TestACKExpired(t *testing.T) {
	u := startUpstream(t, relaytest.Reject)
	var now atomic.Int64
	rl := startRelayWith(t, u.Addr(), relay.Config{PoolSize: 1}, nil, func(r *relay.Relay) {
		relay.SetClock(r, func() time.Duration { return time.Duration(now.Load()) })
	})
	c := dial(t, rl.addr)
	early := finalOf(t, c, relaytest.Request("INVITE", "early", 1, 70, ""))
	late := finalOf(t, c, relaytest.Request("INVITE", "late", 2, 70, ""))
	invLate, _ := upstreamRequest(t, u, 2)
	invEarly := u.Requests()[0]

	now.Add(int64(relay.AckWait - 1))
	if _, err := c.Write(ackFor(t, early, "early")); err != nil {
		t.Fatal(err)
	}
	got, _ := upstreamRequest(t, u, 3)
	if !bytes.Equal(topViaLine(t, got), topViaLine(t, invEarly)) {
		t.Errorf("ACK in time: Via %q, INVITE's %q", topViaLine(t, got), topViaLine(t, invEarly))
	}
	now.Add(1)
	if _, err := c.Write(ackFor(t, late, "late")); err != nil {
		t.Fatal(err)
	}
	got, _ = upstreamRequest(t, u, 4)
	if bytes.Equal(topViaLine(t, got), topViaLine(t, invLate)) {
		t.Errorf("ACK after 64*T1 has the INVITE's Via %q", topViaLine(t, got))
	}
	waitFor(t, "the ACKs to be counted", func() bool { return rl.r.Stats().ForwardedACK == 2 })
	if st := rl.r.Stats(); st.TxACKs != 1 {
		t.Errorf("stats %+v", st)
	}
}
