package sipparse

import (
	"fmt"
	"testing"
)

// addrWant is what one parsed address must hold.
type addrWant struct {
	raw, display, uri, params, tag string
	star                           bool
}

func checkAddr(t *testing.T, m *Message, a *Addr, w addrWant) {
	t.Helper()
	for _, c := range []struct {
		what string
		s    Span
		want string
	}{
		{"Raw", a.Raw, w.raw},
		{"Display", a.Display, w.display},
		{"URI", a.URI.Raw, w.uri},
		{"Params", a.Params, w.params},
		{"Tag", a.Tag, w.tag},
	} {
		if got := str(m, c.s); got != c.want {
			t.Errorf("%s = %q, want %q", c.what, got, c.want)
		}
	}
	if a.Star != w.star {
		t.Errorf("Star = %v", a.Star)
	}
}

func TestAddrFromTo(t *testing.T) {
	tests := []struct {
		value string
		want  addrWant
	}{
		{`"Alice Smith" <sip:alice@example.com>;tag=88`, addrWant{
			raw: `"Alice Smith" <sip:alice@example.com>;tag=88`, display: "Alice Smith",
			uri: "sip:alice@example.com", params: "tag=88", tag: "88",
		}},
		{`Alice <sip:alice@example.com>`, addrWant{raw: `Alice <sip:alice@example.com>`, display: "Alice", uri: "sip:alice@example.com"}},
		{`Alice   Smith <sip:a@example.com>`, addrWant{raw: `Alice   Smith <sip:a@example.com>`, display: "Alice   Smith", uri: "sip:a@example.com"}},
		{`caller<sip:caller@example.com>;tag=323`, addrWant{
			raw: `caller<sip:caller@example.com>;tag=323`, display: "caller", uri: "sip:caller@example.com", params: "tag=323", tag: "323",
		}},
		{`<sip:a@example.com>`, addrWant{raw: `<sip:a@example.com>`, uri: "sip:a@example.com"}},
		{`sip:alice@example.com;tag=1`, addrWant{raw: `sip:alice@example.com;tag=1`, uri: "sip:alice@example.com", params: "tag=1", tag: "1"}},
		{`sip:alice@example.com`, addrWant{raw: `sip:alice@example.com`, uri: "sip:alice@example.com"}},
		{`"" <sip:a@example.com>`, addrWant{raw: `"" <sip:a@example.com>`, uri: "sip:a@example.com"}},
		{`"a \"q\" b"<sip:a@example.com>`, addrWant{raw: `"a \"q\" b"<sip:a@example.com>`, display: `a \"q\" b`, uri: "sip:a@example.com"}},
		{`"Bob \\" <sip:b@example.com>`, addrWant{raw: `"Bob \\" <sip:b@example.com>`, display: `Bob \\`, uri: "sip:b@example.com"}},
		{`<sip:a@example.com;lr>;tag=x`, addrWant{raw: `<sip:a@example.com;lr>;tag=x`, uri: "sip:a@example.com;lr", params: "tag=x", tag: "x"}},
		{`<sip:a@example.com> ; tag = x ; foo`, addrWant{
			raw: `<sip:a@example.com> ; tag = x ; foo`, uri: "sip:a@example.com", params: ` tag = x ; foo`, tag: "x",
		}},
		{`<sip:a@example.com>;TAG=Up`, addrWant{raw: `<sip:a@example.com>;TAG=Up`, uri: "sip:a@example.com", params: "TAG=Up", tag: "Up"}},
		{`<sip:a@example.com>;x="a;tag=no";tag=yes`, addrWant{
			raw: `<sip:a@example.com>;x="a;tag=no";tag=yes`, uri: "sip:a@example.com", params: `x="a;tag=no";tag=yes`, tag: "yes",
		}},
		{`<tel:+15555550123>`, addrWant{raw: `<tel:+15555550123>`, uri: "tel:+15555550123"}},
		{`<sips:[2001:db8::1]:5061>;tag=v6`, addrWant{raw: `<sips:[2001:db8::1]:5061>;tag=v6`, uri: "sips:[2001:db8::1]:5061", params: "tag=v6", tag: "v6"}},
		{"Folded\r\n <sip:f@example.com>\r\n ;tag=f", addrWant{
			raw: "Folded\r\n <sip:f@example.com>\r\n ;tag=f", display: "Folded", uri: "sip:f@example.com", params: "tag=f", tag: "f",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			for _, name := range []string{"From", "To"} {
				m := mustParse(t, options("sip:example.com", name+": "+tc.value))
				a := &m.From
				if name == "To" {
					a = &m.To
				}
				checkAddr(t, m, a, tc.want)
			}
		})
	}
	// ParseAddrs parses the URIs of From and To.
	m := mustParse(t, options("sip:example.com", `To: "Bob" <sips:bob@[2001:db8::5]:5061;transport=tls>;tag=t`))
	checkURI(t, m, &m.To.URI, uriWant{
		scheme: SchemeSIPS, schemeName: "sips", user: "bob", host: "[2001:db8::5]", port: 5061,
		params: "transport=tls", transport: "tls",
	})
	checkURI(t, m, &m.From.URI, uriWant{scheme: SchemeSIP, schemeName: "sip", user: "alice", host: "example.com"})
}

func TestAddrBad(t *testing.T) {
	tests := []struct {
		value string
		err   error
	}{
		{``, ErrBadAddress},
		{`"unterminated <sip:a@example.com>`, ErrBadAddress},
		{`<sip:a@example.com`, ErrBadAddress},
		{`Alice sip:a@example.com`, ErrBadAddress},
		{`<sip:a@example.com> junk`, ErrBadAddress},
		{`"A" sip:a@example.com`, ErrBadAddress},
		{`Bell, Alexander <sip:a.g.bell@example.com>`, ErrBadAddress},
		{`<sip:a@example.com>;tag=`, ErrBadParam},
		{`<sip:a@example.com>;;tag=1`, ErrBadParam},
		{`<sip:a@example.com>;`, ErrBadParam},
		{`<sip:a@example.com>, <sip:b@example.com>`, ErrBadAddress}, // From is not a list
		{`*`, ErrBadAddress},
		{`justtext`, ErrBadAddress},
		{`sip:a@example.com?subject=x`, ErrBadAddress}, // headers need < > (regbadct)
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			var m Message
			err := m.Parse(options("sip:example.com", "From: "+tc.value))
			wantErr(t, "Parse", err, tc.err)
			if pe, ok := err.(*ParseError); ok && pe.Header != HdrFrom {
				t.Errorf("Header = %v, want From", pe.Header)
			}
		})
	}
	// URIs that scanning accepts and ParseAddrs refuses.
	for _, v := range []string{`< sip:a@example.com >`, `<sip:a@example.com >`, `<sip:>`, `<nourischeme>`, `<sip:a@b;x=>`} {
		t.Run("uri/"+v, func(t *testing.T) {
			var m Message
			if err := m.Parse(options("sip:example.com", "To: "+v)); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err := m.ParseAddrs()
			wantErr(t, "ParseAddrs", err, ErrBadAddress)
			if pe, ok := err.(*ParseError); ok && pe.Header != HdrTo {
				t.Errorf("Header = %v, want To", pe.Header)
			}
		})
	}
}

func TestAddrLists(t *testing.T) {
	b := build("INVITE sip:bob@example.com SIP/2.0", []string{
		"CSeq: 1 INVITE",
		`Contact: <sip:a@192.0.2.1>, "B, the second" <sip:b@example.com>;q=0.5 , sip:c@example.com;expires=60`,
		"+m: <sips:d@example.com;gr=urn:uuid:1>;+sip.instance=\"<urn:uuid:1>\"",
		"+Route: <sip:p1.example.com;lr>,<sip:p2.example.com;lr>",
		"+Record-Route: <sip:rr1.example.com;lr>",
		"+record-route: <sip:rr2.example.com;lr>,\r\n <sip:rr3.example.com;lr>",
	}, "")
	m := mustParse(t, b)
	contacts := []addrWant{
		{raw: "<sip:a@192.0.2.1>", uri: "sip:a@192.0.2.1"},
		{raw: `"B, the second" <sip:b@example.com>;q=0.5`, display: "B, the second", uri: "sip:b@example.com", params: "q=0.5"},
		{raw: "sip:c@example.com;expires=60", uri: "sip:c@example.com", params: "expires=60"},
		{raw: "<sips:d@example.com;gr=urn:uuid:1>;+sip.instance=\"<urn:uuid:1>\"", uri: "sips:d@example.com;gr=urn:uuid:1", params: "+sip.instance=\"<urn:uuid:1>\""},
	}
	if len(m.Contacts) != len(contacts) {
		t.Fatalf("%d contacts, want %d", len(m.Contacts), len(contacts))
	}
	for i, w := range contacts {
		checkAddr(t, m, &m.Contacts[i], w)
	}
	if !m.Contacts[3].URI.HasGR || str(m, m.Contacts[3].URI.GR) != "urn:uuid:1" {
		t.Errorf("gr = %q", str(m, m.Contacts[3].URI.GR))
	}
	if len(m.Routes) != 2 || str(m, m.Routes[1].URI.Host) != "p2.example.com" || !m.Routes[1].URI.LR {
		t.Errorf("Routes = %+v", m.Routes)
	}
	if len(m.RecordRoutes) != 3 {
		t.Fatalf("%d Record-Routes", len(m.RecordRoutes))
	}
	for i, rr := range m.RecordRoutes {
		if h := str(m, rr.URI.Host); h != fmt.Sprintf("rr%d.example.com", i+1) || !rr.URI.LR {
			t.Errorf("RecordRoutes[%d] host %q", i, h)
		}
	}

	star := mustParse(t, build("REGISTER sip:example.com SIP/2.0", []string{"CSeq: 2 REGISTER", "Contact: *", "Expires: 0"}, ""))
	if len(star.Contacts) != 1 || !star.Contacts[0].Star || star.Expires != 0 {
		t.Errorf("Contact * = %+v, Expires %d", star.Contacts, star.Expires)
	}

	for _, tc := range []struct {
		hdr string
		id  HeaderID
	}{
		{"Contact: *, <sip:a@example.com>", HdrContact},
		{"Contact: <sip:a@example.com>, *", HdrContact},
		{"Route: *", HdrRoute},
		{"Record-Route: *", HdrRecordRoute},
		{"Contact: <sip:a@example.com>,", HdrContact},
		{"Contact: <sip:a@example.com>,,<sip:b@example.com>", HdrContact},
		{"Contact: ,<sip:a@example.com>", HdrContact},
		{"Contact: <sip:a@example.com> <sip:b@example.com>", HdrContact},
		{"Route: <sip:a@example.com;lr>;=x", HdrRoute},
		{"Contact: sip:a@example.com?subject=x", HdrContact},
		{"Contact: \"x <sip:a@example.com>", HdrContact},
		{"Route: <sip:a@example.com;lr", HdrRoute},
	} {
		t.Run(tc.hdr, func(t *testing.T) {
			var m Message
			if err := m.Parse(options("sip:example.com", "+"+tc.hdr)); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err := m.ParseAddrs()
			var pe *ParseError
			if err == nil || !errorsAs(err, &pe) || pe.Header != tc.id {
				t.Errorf("ParseAddrs = %v, want a %v error", err, tc.id)
			}
		})
	}
}

func errorsAs(err error, pe **ParseError) bool {
	p, ok := err.(*ParseError)
	*pe = p
	return ok
}

func TestAddrMaxValues(t *testing.T) {
	b := options("sip:example.com", "Contact: <sip:a@x>, <sip:b@x>, <sip:c@x>", "+Contact: <sip:d@x>")
	for _, tc := range []struct {
		max int
		err error
	}{{4, nil}, {3, ErrTooManyValues}, {1, ErrTooManyValues}} {
		m := Message{Limits: Limits{MaxValues: tc.max}}
		if err := m.Parse(b); err != nil {
			t.Fatal(err)
		}
		wantErr(t, fmt.Sprintf("MaxValues %d", tc.max), m.ParseAddrs(), tc.err)
		if len(m.Contacts) > tc.max {
			t.Errorf("MaxValues %d: %d contacts kept", tc.max, len(m.Contacts))
		}
	}
}
