package dispatch

import (
	"testing"

	"github.com/sipcm/sipcm/sipparse"
)

// TestRoutingZeroAlloc proves that routing a request by every rule,
// answering it automatically (500, 481, a decline) and dropping an ACK
// allocate nothing.
func TestRoutingZeroAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	env := newEnv(t, Config{})
	d := env.d
	s := newRouteSet(t, d)
	decliner := mustEndpoint(t, EndpointConfig{AOR: "sip:busy@example.com", Handler: &taker{status: 486}})
	if err := d.Add(decliner); err != nil {
		t.Fatal(err)
	}
	if err := d.Claim(s.carol, []byte("call-1@192.0.2.1"), []byte("dlg")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		msg     []byte
		def     bool
		replies int // responses the dispatcher writes
	}{
		{"token", request("INVITE", "sip:x@h;sipcm-ctx=bobtok", "", ""), false, 0},
		{"token in Route", request("INVITE", "sip:x@h", "", "Route: <sip:p.example.com;lr;sipcm-ctx=caroltok>\r\n"), false, 0},
		{"gruu", request("INVITE", aliceGRUU, "", ""), false, 0},
		{"aor", request("INVITE", "sip:alice@EXAMPLE.COM", "", ""), false, 0},
		{"aor escaped", request("OPTIONS", "sip:%61lice@Example.Com:5060;transport=tcp", "", ""), false, 0},
		{"dialog", request("BYE", "sip:x@h", "dlg", ""), false, 0},
		{"default", request("INVITE", "sip:nobody@h", "", ""), true, 0},
		{"500", request("INVITE", "sip:nobody@h", "", ""), false, 1},
		{"481 CANCEL", request("CANCEL", "sip:nobody@h", "", ""), false, 1},
		{"ACK dropped", request("ACK", "sip:nobody@h", "", ""), false, 0},
		{"declined 486", request("INVITE", "sip:busy@example.com", "", ""), false, 1},
		{"400", request("INVITE", "sip:alice@", "", ""), false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := (*Endpoint)(nil)
			if tt.def {
				def = s.def
			}
			_ = d.SetDefault(def)
			c := newConn(5)
			var m sipparse.Message
			run := func() {
				if err := m.Parse(tt.msg); err != nil {
					t.Fatal(err)
				}
				d.HandleMessage(c, &m)
			}
			run() // grow m and c.resp
			before, _ := c.status()
			const runs = 200
			if n := testing.AllocsPerRun(runs, run); n != 0 {
				t.Errorf("%v allocations per message", n)
			}
			after, _ := c.status()
			if want := tt.replies * (runs + 1); after-before != want {
				t.Errorf("%d replies, want %d", after-before, want)
			}
		})
	}
}

// TestResponseZeroAlloc proves that delivering a provisional response and
// dropping stray and late ones allocate nothing.
func TestResponseZeroAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	env := newEnv(t, Config{})
	d, c := env.d, env.conn
	e := addSender(t, d, false)
	n := 0
	fn := func(Conn, *sipparse.Message, error) { n++ }
	if err := d.Send(e, peer, outRequest("INVITE"), fn); err != nil {
		t.Fatal(err)
	}
	sent := c.lastSent(t)
	ringing := sipparse.AppendResponse(nil, parse(t, sent), 180, "Ringing", []byte("peer"))
	stray := sipparse.AppendResponse(nil, parse(t, request("INVITE", "sip:a@h", "", "")), 200, "OK", nil)
	for _, tt := range []struct {
		name string
		msg  []byte
	}{{"provisional", ringing}, {"stray", stray}} {
		var m sipparse.Message
		run := func() {
			if err := m.Parse(tt.msg); err != nil {
				t.Fatal(err)
			}
			d.HandleMessage(c, &m)
		}
		run()
		if a := testing.AllocsPerRun(200, run); a != 0 {
			t.Errorf("%s: %v allocations per response", tt.name, a)
		}
	}
	// Each AllocsPerRun calls run once more to warm up.
	if n != 202 {
		t.Errorf("%d provisional responses delivered, want 202", n)
	}
	if st := d.Stats(); st.Stray != 202 {
		t.Errorf("Stray = %d", st.Stray)
	}
}

// TestAppendViaZeroAlloc proves that AppendVia allocates nothing when its
// buffer has room.
func TestAppendViaZeroAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	env := newEnv(t, Config{})
	buf := make([]byte, 0, 256)
	branch := []byte("z9hG4bK0123abcd.1f")
	if n := testing.AllocsPerRun(200, func() { buf = env.d.AppendVia(buf[:0], env.conn, "tcp", branch) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
