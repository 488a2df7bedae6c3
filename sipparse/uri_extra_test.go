package sipparse

import (
	"testing"
)

// uriWant is what a parsed URI must hold; empty strings must be empty spans.
type uriWant struct {
	scheme               Scheme
	schemeName           string
	user, password, host string
	port                 uint16
	params, headers      string
	transport, maddr, gr string
	hasGR, lr, ob        bool
}

func checkURI(t *testing.T, m *Message, u *URI, w uriWant) {
	t.Helper()
	if u.Scheme != w.scheme {
		t.Errorf("Scheme = %d, want %d", u.Scheme, w.scheme)
	}
	for _, c := range []struct {
		what string
		s    Span
		want string
	}{
		{"SchemeName", u.SchemeName, w.schemeName},
		{"User", u.User, w.user},
		{"Password", u.Password, w.password},
		{"Host", u.Host, w.host},
		{"Params", u.Params, w.params},
		{"Headers", u.Headers, w.headers},
		{"Transport", u.Transport, w.transport},
		{"Maddr", u.Maddr, w.maddr},
		{"GR", u.GR, w.gr},
	} {
		if got := str(m, c.s); got != c.want {
			t.Errorf("%s = %q, want %q", c.what, got, c.want)
		}
	}
	if u.Port != w.port {
		t.Errorf("Port = %d, want %d", u.Port, w.port)
	}
	if u.HasGR != w.hasGR || u.LR != w.lr || u.OB != w.ob {
		t.Errorf("HasGR, LR, OB = %v %v %v, want %v %v %v", u.HasGR, u.LR, u.OB, w.hasGR, w.lr, w.ob)
	}
}

func TestRequestURI(t *testing.T) {
	tests := []struct {
		uri  string
		want uriWant
	}{
		{"sip:alice@example.com", uriWant{scheme: SchemeSIP, schemeName: "sip", user: "alice", host: "example.com"}},
		{"SIP:alice@Example.COM", uriWant{scheme: SchemeSIP, schemeName: "SIP", user: "alice", host: "Example.COM"}},
		{"sips:bob:secret@192.0.2.4:5061", uriWant{scheme: SchemeSIPS, schemeName: "sips", user: "bob", password: "secret", host: "192.0.2.4", port: 5061}},
		{"Sips:example.com", uriWant{scheme: SchemeSIPS, schemeName: "Sips", host: "example.com"}},
		{"sip:example.com:65535", uriWant{scheme: SchemeSIP, schemeName: "sip", host: "example.com", port: 65535}},
		{"sip:a:@example.com", uriWant{scheme: SchemeSIP, schemeName: "sip", user: "a", host: "example.com"}},
		{"sip:[2001:db8::10]:5070;transport=tcp", uriWant{scheme: SchemeSIP, schemeName: "sip", host: "[2001:db8::10]", port: 5070, params: "transport=tcp", transport: "tcp"}},
		{"sip:[::1]", uriWant{scheme: SchemeSIP, schemeName: "sip", host: "[::1]"}},
		{"sip:[::ffff:192.0.2.1]:5060", uriWant{scheme: SchemeSIP, schemeName: "sip", host: "[::ffff:192.0.2.1]", port: 5060}},
		{"sip:u@[2001:DB8::1]", uriWant{scheme: SchemeSIP, schemeName: "sip", user: "u", host: "[2001:DB8::1]"}},
		{"sip:proxy.example.com;lr", uriWant{scheme: SchemeSIP, schemeName: "sip", host: "proxy.example.com", params: "lr", lr: true}},
		{
			"sip:example.com;lr;ob;gr=urn:uuid:f81d4fae-7dec-11d0;maddr=239.255.255.1;transport=udp",
			uriWant{
				scheme: SchemeSIP, schemeName: "sip", host: "example.com",
				params:    "lr;ob;gr=urn:uuid:f81d4fae-7dec-11d0;maddr=239.255.255.1;transport=udp",
				transport: "udp", maddr: "239.255.255.1", gr: "urn:uuid:f81d4fae-7dec-11d0",
				hasGR: true, lr: true, ob: true,
			},
		},
		{"sip:alice@example.com;gr", uriWant{scheme: SchemeSIP, schemeName: "sip", user: "alice", host: "example.com", params: "gr", hasGR: true}},
		{"sip:example.com;LR;Transport=TLS;OB;MADDR=[2001:db8::1]", uriWant{
			scheme: SchemeSIP, schemeName: "sip", host: "example.com",
			params: "LR;Transport=TLS;OB;MADDR=[2001:db8::1]", transport: "TLS", maddr: "[2001:db8::1]", lr: true, ob: true,
		}},
		{"sip:example.com;user=phone;x-unknown", uriWant{scheme: SchemeSIP, schemeName: "sip", host: "example.com", params: "user=phone;x-unknown"}},
		{"sip:%61lice@example.com", uriWant{scheme: SchemeSIP, schemeName: "sip", user: "%61lice", host: "example.com"}},
		{"sip:%00@example.com", uriWant{scheme: SchemeSIP, schemeName: "sip", user: "%00", host: "example.com"}},
		{"sip:bob:p%40ss@example.com", uriWant{scheme: SchemeSIP, schemeName: "sip", user: "bob", password: "p%40ss", host: "example.com"}},
		{"sip:user;par=u%40example.net@example.com", uriWant{scheme: SchemeSIP, schemeName: "sip", user: "user;par=u%40example.net", host: "example.com"}},
		{"sip:+1-212-555-1212@gw.example.com;user=phone", uriWant{scheme: SchemeSIP, schemeName: "sip", user: "+1-212-555-1212", host: "gw.example.com", params: "user=phone"}},
		{"sip:host_with_underscore.example.com", uriWant{scheme: SchemeSIP, schemeName: "sip", host: "host_with_underscore.example.com"}},
		{"tel:+1-201-555-0123", uriWant{scheme: SchemeTel, schemeName: "tel", user: "+1-201-555-0123"}},
		{"TEL:7042;phone-context=example.com", uriWant{scheme: SchemeTel, schemeName: "TEL", user: "7042", params: "phone-context=example.com"}},
		{"urn:service:sos", uriWant{scheme: SchemeOther, schemeName: "urn"}},
		{"mailto:alice@example.com", uriWant{scheme: SchemeOther, schemeName: "mailto"}},
		{"soap.beep://192.0.2.103:3002", uriWant{scheme: SchemeOther, schemeName: "soap.beep"}},
		{"x+y-z:opaque;with?all=sorts&of=chars", uriWant{scheme: SchemeOther, schemeName: "x+y-z"}},
	}
	for _, tc := range tests {
		t.Run(tc.uri, func(t *testing.T) {
			b := options(tc.uri)
			var m Message
			if err := m.Parse(b); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := str(&m, m.RequestURI.Raw); got != tc.uri {
				t.Errorf("Raw after Parse = %q", got)
			}
			if err := m.ParseURI(); err != nil {
				t.Fatalf("ParseURI: %v", err)
			}
			if got := str(&m, m.RequestURI.Raw); got != tc.uri {
				t.Errorf("Raw = %q", got)
			}
			checkURI(t, &m, &m.RequestURI, tc.want)
		})
	}
}

func TestRequestURIBad(t *testing.T) {
	tests := []string{
		"sip:",
		"sip:@example.com",
		"sip:alice@",
		"sip:example.com:",
		"sip:example.com:65536",
		"sip:example.com:99999999999999999999",
		"sip:example.com:5x",
		"sip:example.com:-1",
		"sip:[2001:db8::1",
		"sip:[]",
		"sip:[2001:db8::1]x",
		"sip:[xyz::1]",
		"sip:a%4@example.com",
		"sip:a%zz@example.com",
		"sip:a%@example.com",
		"sip:a:b%2@example.com",
		"sip:example.com;transport=",
		"sip:example.com;;lr",
		"sip:example.com;",
		"sip:example.com;=x",
		"sip:example.com?Subject=hi", // no headers in a Request-URI
		"sip:example.com?",
		"sip:.example.com",
		"sip:-example.com",
		"sip:exa\"mple.com",
		"sip:a@b@c",
		"sip:a@b.com>",
		"1sip:example.com",
		"+sip:example.com",
		"sip",
		":example.com",
		"tel:",
		"tel:;x=y",
		"urn:",
		"urn:a\"b",
		"sip:user@example.com;lr=",
	}
	for _, uri := range tests {
		t.Run(uri, func(t *testing.T) {
			var m Message
			if err := m.Parse(options(uri)); err != nil {
				t.Fatalf("Parse refused a Request-URI it leaves to ParseURI: %v", err)
			}
			err := m.ParseURI()
			wantErr(t, "ParseURI", err, ErrBadRequestURI)
			if pe, ok := err.(*ParseError); ok && pe.Status != 400 {
				t.Errorf("Status %d, want 400", pe.Status)
			}
		})
	}
}

// TestRequestURIStartLine covers Request-URIs that Parse itself refuses
// (white space and brackets, RFC 4475 §3.1.2.7-9).
func TestRequestURIStartLine(t *testing.T) {
	for _, uri := range []string{"<sip:a@example.com>", "sip:a@example.com; lr", "sip:a b@example.com"} {
		var m Message
		wantErr(t, uri, m.Parse(options(uri)), ErrBadRequestURI)
	}
}

// TestContactURI covers URIs inside < >, where headers are allowed.
func TestContactURI(t *testing.T) {
	tests := []struct {
		uri  string
		want uriWant
	}{
		{"sip:alice@example.com?Subject=hi&Priority=urgent", uriWant{scheme: SchemeSIP, schemeName: "sip", user: "alice", host: "example.com", headers: "Subject=hi&Priority=urgent"}},
		{"sip:a@b.example.com:5080;transport=tcp?h=v", uriWant{scheme: SchemeSIP, schemeName: "sip", user: "a", host: "b.example.com", port: 5080, params: "transport=tcp", transport: "tcp", headers: "h=v"}},
		{"sip:example.com?Route=%3Csip:sip.example.com%3E", uriWant{scheme: SchemeSIP, schemeName: "sip", host: "example.com", headers: "Route=%3Csip:sip.example.com%3E"}},
		{"sips:[2001:db8::2]:5061;ob", uriWant{scheme: SchemeSIPS, schemeName: "sips", host: "[2001:db8::2]", port: 5061, params: "ob", ob: true}},
		{"tel:+15555550123;ext=12", uriWant{scheme: SchemeTel, schemeName: "tel", user: "+15555550123", params: "ext=12"}},
		{"http://www.example.com/a?b", uriWant{scheme: SchemeOther, schemeName: "http"}},
	}
	for _, tc := range tests {
		t.Run(tc.uri, func(t *testing.T) {
			m := mustParse(t, options("sip:example.com", "Contact: <"+tc.uri+">;expires=60"))
			if len(m.Contacts) != 1 {
				t.Fatalf("%d contacts", len(m.Contacts))
			}
			c := &m.Contacts[0]
			if got := str(m, c.URI.Raw); got != tc.uri {
				t.Errorf("Raw = %q", got)
			}
			if got := str(m, c.Params); got != "expires=60" {
				t.Errorf("contact params = %q", got)
			}
			checkURI(t, m, &c.URI, tc.want)
		})
	}
	for _, uri := range []string{"sip:example.com?", "sip:example.com?a=<b>", "sip:", "sip:a@b;x=", "sip:a@b c"} {
		t.Run("bad/"+uri, func(t *testing.T) {
			var m Message
			if err := m.Parse(options("sip:example.com", "Contact: <"+uri+">")); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			wantErr(t, "ParseAddrs", m.ParseAddrs(), ErrBadAddress)
		})
	}
}

func TestLookupParam(t *testing.T) {
	buf := []byte(`x;branch=z9hG4bK1 ; RPort ;received = 192.0.2.9;q="a;b=c";maddr=[2001:db8::1];empty=;last`)
	params := Span{Off: 2, Len: uint32(len(buf) - 2)}
	tests := []struct {
		name  string
		value string
		ok    bool
	}{
		{"branch", "z9hG4bK1", true},
		{"BRANCH", "z9hG4bK1", true},
		{"rport", "", true},
		{"received", "192.0.2.9", true},
		{"q", `"a;b=c"`, true},
		{"b", "", false}, // inside a quoted string
		{"maddr", "[2001:db8::1]", true},
		{"empty", "", true},
		{"last", "", true},
		{"ttl", "", false},
		{"branc", "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		v, ok := LookupParam(buf, params, tc.name)
		if ok != tc.ok || string(v.Bytes(buf)) != tc.value {
			t.Errorf("LookupParam(%q) = %q, %v; want %q, %v", tc.name, v.Bytes(buf), ok, tc.value, tc.ok)
		}
	}
	if _, ok := LookupParam(buf, Span{}, "branch"); ok {
		t.Error("found a parameter in an empty list")
	}
	if n := testing.AllocsPerRun(100, func() { LookupParam(buf, params, "maddr") }); n != 0 {
		t.Errorf("LookupParam allocates %v times", n)
	}
	// On a parsed message: a Via, an Addr and a URI parameter list.
	m := mustParse(t, options("sip:a@example.com;user=phone;foo=bar",
		"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK2;ttl=16",
		"To: <sip:bob@example.com>;x-param=1"))
	for _, c := range []struct {
		params Span
		name   string
		want   string
	}{
		{m.Vias[0].Params, "ttl", "16"},
		{m.To.Params, "x-param", "1"},
		{m.RequestURI.Params, "foo", "bar"},
		{m.RequestURI.Params, "user", "phone"},
	} {
		if v, ok := LookupParam(m.Buf(), c.params, c.name); !ok || str(m, v) != c.want {
			t.Errorf("LookupParam(%q) = %q, %v; want %q", c.name, str(m, v), ok, c.want)
		}
	}
}
