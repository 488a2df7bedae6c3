package dispatch

import (
	"errors"
	"testing"

	"github.com/sipcm/sipcm/sipparse"
)

const aliceGRUU = "sip:alice@example.com;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"

// routeSet is the endpoints of the routing tests.
type routeSet struct {
	alice, alice2, bob, carol, def *Endpoint
}

func newRouteSet(t *testing.T, d *Dispatcher) routeSet {
	t.Helper()
	s := routeSet{
		alice:  mustEndpoint(t, EndpointConfig{AOR: "sip:alice@example.com", GRUU: aliceGRUU, Token: "alicetok"}),
		alice2: mustEndpoint(t, EndpointConfig{AOR: "sip:alice@EXAMPLE.com:5070;transport=tcp", Token: "alice2tok"}),
		bob:    mustEndpoint(t, EndpointConfig{AOR: "sips:bob@Example.COM", Token: "BobTok", Kind: PeerToPeer}),
		carol:  mustEndpoint(t, EndpointConfig{AOR: "sip:carol@example.net", GRUU: "sip:tgruu.7hs==jd7vnzga5w7@example.net;gr", Token: "caroltok"}),
		def:    mustEndpoint(t, EndpointConfig{AOR: "sip:default@example.com", Token: "deftok"}),
	}
	if err := d.Add(s.alice, s.alice2, s.bob, s.carol, s.def); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoute(t *testing.T) {
	env := newEnv(t, Config{})
	d := env.d
	s := newRouteSet(t, d)
	if err := d.Claim(s.carol, []byte("call-1@192.0.2.1"), []byte("dlg")); err != nil {
		t.Fatal(err)
	}
	route := "Route: <sip:proxy.example.com;lr;sipcm-ctx=caroltok>\r\n"
	tests := []struct {
		name        string
		ruri, toTag string
		extra       string
		def         bool // set the default endpoint
		want        *Endpoint
		rule        Rule
	}{
		{"token", "sip:x@elsewhere.org;sipcm-ctx=BobTok", "", "", false, s.bob, RuleToken},
		{"token case-insensitive", "sip:x@elsewhere.org;SIPCM-CTX=bobtok", "", "", false, s.bob, RuleToken},
		{"token beats GRUU and AOR", aliceGRUU + ";sipcm-ctx=caroltok", "", "", false, s.carol, RuleToken},
		{"token in top Route", "sip:x@elsewhere.org", "", route, false, s.carol, RuleToken},
		{"token in Request-URI beats Route", "sip:x@h;sipcm-ctx=bobtok", "", route, false, s.bob, RuleToken},
		{"unknown token falls through", "sip:alice@example.com;sipcm-ctx=nobody", "", "", false, s.alice, RuleAOR},
		{"public GRUU", aliceGRUU, "", "", false, s.alice, RuleGRUU},
		{"public GRUU case-insensitive", "sip:alice@Example.Com;GR=URN:UUID:F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6", "", "", false, s.alice, RuleGRUU},
		{"temporary GRUU", "sip:tgruu.7hs==jd7vnzga5w7@example.net;gr", "", "", false, s.carol, RuleGRUU},
		{"unknown GRUU falls to AOR", "sip:alice@example.com;gr=urn:uuid:other", "", "", false, s.alice, RuleAOR},
		{"AOR", "sip:alice@example.com", "", "", false, s.alice, RuleAOR},
		{"AOR earliest of two", "sip:alice@example.com:5080;transport=tls", "", "", false, s.alice, RuleAOR},
		{"AOR host case-insensitive", "sip:bob@EXAMPLE.com", "", "", false, s.bob, RuleAOR},
		{"AOR scheme ignored", "sips:carol@example.net", "", "", false, s.carol, RuleAOR},
		{"AOR escaped user", "sip:%61lice@example.com", "", "", false, s.alice, RuleAOR},
		{"AOR user case-sensitive", "sip:Alice@example.com", "", "", false, nil, RuleNone},
		{"tel URI", "tel:+15551234", "", "", false, nil, RuleNone},
		{"default", "sip:nobody@example.com", "", "", true, s.def, RuleDefault},
		{"none", "sip:nobody@example.com", "", "", false, nil, RuleNone},
		{"dialog claim", "sip:x@elsewhere.org", "dlg", "", false, s.carol, RuleDialog},
		{"dialog claim beats token", "sip:x@h;sipcm-ctx=bobtok", "dlg", "", false, s.carol, RuleDialog},
		{"unclaimed dialog uses rules", "sip:x@h;sipcm-ctx=bobtok", "other", "", false, s.bob, RuleToken},
		{"unclaimed dialog, no rule", "sip:x@h", "other", "", false, nil, RuleNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := (*Endpoint)(nil)
			if tt.def {
				def = s.def
			}
			if err := d.SetDefault(def); err != nil {
				t.Fatal(err)
			}
			m := parse(t, request("INVITE", tt.ruri, tt.toTag, tt.extra))
			e, rule, err := d.Route(m)
			if err != nil {
				t.Fatal(err)
			}
			if e != tt.want || rule != tt.rule {
				t.Errorf("Route = %v %v, want %v %v", name(e), rule, name(tt.want), tt.rule)
			}
		})
	}
}

func name(e *Endpoint) string {
	if e == nil {
		return "<nil>"
	}
	return e.AOR()
}

func TestRouteMalformed(t *testing.T) {
	env := newEnv(t, Config{})
	for _, ruri := range []string{"sip:alice@", "sip:a@h?x=y", "sip:a@host:99999"} {
		m := parse(t, request("INVITE", ruri, "", ""))
		_, _, err := env.d.Route(m)
		var pe *sipparse.ParseError
		if !errors.As(err, &pe) || pe.Status != 400 {
			t.Errorf("%s: Route error %v, want a ParseError with Status 400", ruri, err)
		}
	}
}

func TestAutomaticReplies(t *testing.T) {
	tests := []struct {
		method string
		ruri   string
		want   int // 0: no response
	}{
		{"INVITE", "sip:nobody@example.com", 500},
		{"OPTIONS", "sip:nobody@example.com", 500},
		{"BYE", "sip:nobody@example.com", 500},
		{"ACK", "sip:nobody@example.com", 0},
		{"CANCEL", "sip:nobody@example.com", 481},
		{"INVITE", "sip:alice@", 400},
		{"ACK", "sip:alice@", 0},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.ruri, func(t *testing.T) {
			env := newEnv(t, Config{})
			c := newConn(7)
			env.d.HandleMessage(c, parse(t, request(tt.method, tt.ruri, "", "")))
			n, status := c.status()
			if tt.want == 0 {
				if n != 0 {
					t.Fatalf("%d responses, want none", n)
				}
				return
			}
			if n != 1 || status != tt.want {
				t.Fatalf("%d responses, last %d; want one %d", n, status, tt.want)
			}
			resp := parse(t, c.resp)
			if resp.StatusCode != tt.want || resp.CSeq.MethodName.Len == 0 {
				t.Errorf("response %q", c.resp)
			}
		})
	}
}

func TestDecline(t *testing.T) {
	tests := []struct {
		method string
		status int // returned by the handler
		want   int // sent by the dispatcher, 0: none
	}{
		{"INVITE", 0, 0},
		{"INVITE", 486, 486},
		{"OPTIONS", 404, 404},
		{"INVITE", 42, 500},
		{"INVITE", 200, 500},
		{"ACK", 486, 0},
	}
	for _, tt := range tests {
		env := newEnv(t, Config{})
		h := &taker{status: tt.status}
		e := mustEndpoint(t, EndpointConfig{AOR: "sip:alice@example.com", Handler: h})
		if err := env.d.Add(e); err != nil {
			t.Fatal(err)
		}
		c := newConn(7)
		env.d.HandleMessage(c, parse(t, request(tt.method, "sip:alice@example.com", "", "")))
		if h.n.Load() != 1 {
			t.Errorf("%s/%d: handler called %d times", tt.method, tt.status, h.n.Load())
		}
		n, status := c.status()
		switch {
		case tt.want == 0 && n != 0:
			t.Errorf("%s/%d: %d responses, want none", tt.method, tt.status, n)
		case tt.want != 0 && (n != 1 || status != tt.want):
			t.Errorf("%s/%d: %d responses, last %d; want %d", tt.method, tt.status, n, status, tt.want)
		}
		if st := env.d.Stats(); tt.status != 0 && st.Declined != 1 {
			t.Errorf("%s/%d: Declined = %d", tt.method, tt.status, st.Declined)
		}
	}
}

func TestRouteStats(t *testing.T) {
	env := newEnv(t, Config{})
	s := newRouteSet(t, env.d)
	if err := env.d.SetDefault(s.def); err != nil {
		t.Fatal(err)
	}
	c := newConn(7)
	for _, ruri := range []string{"sip:x@h;sipcm-ctx=bobtok", aliceGRUU, "sip:alice@example.com", "sip:zz@h", "sip:@"} {
		env.d.HandleMessage(c, parse(t, request("OPTIONS", ruri, "", "")))
	}
	_ = env.d.SetDefault(nil)
	env.d.HandleMessage(c, parse(t, request("OPTIONS", "sip:zz@h", "", "")))
	got := env.d.Stats()
	want := Stats{Requests: 6, RoutedToken: 1, RoutedGRUU: 1, RoutedAOR: 1, RoutedDefault: 1,
		Unrouted: 1, Malformed: 1, Replies: 2}
	if got != want {
		t.Errorf("Stats = %+v\nwant %+v", got, want)
	}
}
