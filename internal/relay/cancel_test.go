package relay_test

import (
	"bytes"
	"testing"

	"github.com/sipcm/sipcm/internal/relay"
	"github.com/sipcm/sipcm/internal/relay/relaytest"
	"github.com/sipcm/sipcm/sipparse"
)

// readStatus reads the next response on c and returns its status and CSeq
// method.
func readStatus(t *testing.T, c *relaytest.Client) (int, string) {
	t.Helper()
	b, status, err := c.Response()
	if err != nil {
		t.Fatal(err)
	}
	var m sipparse.Message
	if err := m.Parse(b); err != nil {
		t.Fatal(err)
	}
	return status, string(m.Bytes(m.CSeq.MethodName))
}

// TestCancel: a CANCEL of an INVITE pending at the relay is answered 200
// by the relay and reaches the upstream under the INVITE's Via, so the
// upstream matches it (RFC 3261 §9.2) and ends the INVITE with 487.
func TestCancel(t *testing.T) {
	u := startUpstream(t, relaytest.Ring)
	rl := startRelay(t, u.Addr(), relay.Config{}, nil)
	c := dial(t, rl.addr)
	if _, err := c.Write(relaytest.Request("INVITE", "inv1", 1, 70, "")); err != nil {
		t.Fatal(err)
	}
	if status, method := readStatus(t, c); status != 180 || method != "INVITE" {
		t.Fatalf("got %d %s, want 180 INVITE", status, method)
	}
	if _, err := c.Write(relaytest.Request("CANCEL", "inv1", 1, 70, "")); err != nil {
		t.Fatal(err)
	}
	if status, method := readStatus(t, c); status != 200 || method != "CANCEL" {
		t.Fatalf("got %d %s, want 200 CANCEL", status, method)
	}
	b, status, err := c.Response()
	if err != nil || status != 487 {
		t.Fatalf("got %d (%v), want 487", status, err)
	}
	var terminated sipparse.Message
	if err := terminated.Parse(bytes.Clone(b)); err != nil {
		t.Fatal(err)
	}
	reqs := u.Requests()
	if len(reqs) != 2 {
		t.Fatalf("upstream read %d requests", len(reqs))
	}
	if inv, cancel := topViaLine(t, reqs[0]), topViaLine(t, reqs[1]); !bytes.Equal(inv, cancel) {
		t.Errorf("CANCEL Via %q, INVITE Via %q", cancel, inv)
	}
	if !bytes.HasPrefix(reqs[1], []byte("CANCEL ")) || !bytes.Contains(reqs[1], []byte("\r\nMax-Forwards: 69\r\n")) {
		t.Errorf("upstream CANCEL:\n%s", reqs[1])
	}
	// The ACK of the 487 goes under the INVITE's Via too.
	ack := ackFor(t, &terminated, "inv1")
	if _, err := c.Write(ack); err != nil {
		t.Fatal(err)
	}
	got, _ := upstreamRequest(t, u, 3)
	if want := expected(t, ack, localOf(t, c), topViaLine(t, reqs[0])); !bytes.Equal(got, want) {
		t.Errorf("upstream read the ACK\n%q\nwant\n%q", got, want)
	}
	waitFor(t, "the upstream's 200 to the CANCEL to be dropped", func() bool {
		return rl.r.Dispatcher().Stats().Stray == 1
	})
	waitFor(t, "the messages to be counted", func() bool {
		st := rl.r.Stats()
		return st.Relayed == 2 && st.ForwardedCancel == 1 && st.Forwarded == 1 && st.TxACKs == 1
	})
	if st := rl.r.Stats(); st.Cancels != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestCancelBeforeProvisional: a CANCEL that arrives before the INVITE's
// first response is answered at once and sent upstream once that response
// comes (RFC 3261 §9.1).
func TestCancelBeforeProvisional(t *testing.T) {
	u := startUpstream(t, relaytest.Hold)
	rl := startRelay(t, u.Addr(), relay.Config{}, nil)
	c := dial(t, rl.addr)
	if _, err := c.Write(relaytest.Request("INVITE", "inv2", 1, 70, "")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the upstream to read the INVITE", func() bool { return u.Read() == 1 })
	if _, err := c.Write(relaytest.Request("CANCEL", "inv2", 1, 70, "")); err != nil {
		t.Fatal(err)
	}
	if status, method := readStatus(t, c); status != 200 || method != "CANCEL" {
		t.Fatalf("got %d %s, want 200 CANCEL", status, method)
	}
	if n := u.Methods()["CANCEL"]; n != 0 {
		t.Fatalf("the CANCEL went upstream before a provisional response")
	}
	u.SetMode(relaytest.Ring)
	if n := u.Ring(); n != 1 {
		t.Fatalf("rang %d", n)
	}
	if status, _ := readStatus(t, c); status != 180 {
		t.Fatalf("got %d, want 180", status)
	}
	if status, method := readStatus(t, c); status != 487 || method != "INVITE" {
		t.Fatalf("got %d %s, want 487 INVITE", status, method)
	}
	waitFor(t, "the CANCEL to be counted", func() bool { return rl.r.Stats().ForwardedCancel == 1 })
	if st := rl.r.Stats(); st.Cancels != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestCancelUnknown: a CANCEL of no INVITE pending at the relay is
// forwarded like any request (RFC 3261 §16.10).
func TestCancelUnknown(t *testing.T) {
	u := startUpstream(t, relaytest.Ring)
	rl := startRelay(t, u.Addr(), relay.Config{}, nil)
	c := dial(t, rl.addr)
	if _, status := roundTrip(t, c, relaytest.Request("CANCEL", "nosuch", 1, 70, "")); status != 481 {
		t.Fatalf("status %d, want the upstream's 481", status)
	}
	waitFor(t, "the CANCEL to be counted", func() bool { return rl.r.Stats().Forwarded == 1 })
	if st := rl.r.Stats(); st.Cancels != 0 {
		t.Errorf("stats %+v", st)
	}
}
