package sipparse

import (
	"fmt"
	"testing"
)

// viaWant is what one parsed via-parm must hold.
type viaWant struct {
	raw, protocol, transport, host string
	port                           uint16
	params, branch, received       string
	rport                          string
	hasRPort                       bool
	maddr, alias                   string
	hasAlias                       bool
}

func checkVia(t *testing.T, m *Message, v *Via, w viaWant) {
	t.Helper()
	for _, c := range []struct {
		what string
		s    Span
		want string
	}{
		{"Raw", v.Raw, w.raw},
		{"Protocol", v.Protocol, w.protocol},
		{"Transport", v.Transport, w.transport},
		{"Host", v.Host, w.host},
		{"Params", v.Params, w.params},
		{"Branch", v.Branch, w.branch},
		{"Received", v.Received, w.received},
		{"RPort", v.RPort, w.rport},
		{"Maddr", v.Maddr, w.maddr},
		{"Alias", v.Alias, w.alias},
	} {
		if got := str(m, c.s); got != c.want {
			t.Errorf("%s = %q, want %q", c.what, got, c.want)
		}
	}
	if v.Port != w.port {
		t.Errorf("Port = %d, want %d", v.Port, w.port)
	}
	if v.HasRPort != w.hasRPort || v.HasAlias != w.hasAlias {
		t.Errorf("HasRPort, HasAlias = %v %v, want %v %v", v.HasRPort, v.HasAlias, w.hasRPort, w.hasAlias)
	}
}

func TestVia(t *testing.T) {
	tests := []struct {
		value string
		want  viaWant
	}{
		{"SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1", viaWant{
			raw: "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1", protocol: "SIP/2.0", transport: "UDP",
			host: "192.0.2.1", port: 5060, params: "branch=z9hG4bK1", branch: "z9hG4bK1",
		}},
		{"SIP/2.0/TCP client.example.com", viaWant{
			raw: "SIP/2.0/TCP client.example.com", protocol: "SIP/2.0", transport: "TCP", host: "client.example.com",
		}},
		{"SIP / 2.0 / TCP host.example.com ; branch = z9hG4bK2 ; received = 192.0.2.9", viaWant{
			raw: "SIP / 2.0 / TCP host.example.com ; branch = z9hG4bK2 ; received = 192.0.2.9", protocol: "SIP / 2.0",
			// Params keeps the LWS after the first ';' (trailing LWS is trimmed).
			transport: "TCP", host: "host.example.com", params: " branch = z9hG4bK2 ; received = 192.0.2.9",
			branch: "z9hG4bK2", received: "192.0.2.9",
		}},
		{"SIP/2.0/UDP\thost\t:\t5062\t;branch=b", viaWant{
			raw: "SIP/2.0/UDP\thost\t:\t5062\t;branch=b", protocol: "SIP/2.0", transport: "UDP",
			host: "host", port: 5062, params: "branch=b", branch: "b",
		}},
		{"SIP/2.0/UDP\r\n host;branch=folded", viaWant{
			raw: "SIP/2.0/UDP\r\n host;branch=folded", protocol: "SIP/2.0", transport: "UDP",
			host: "host", params: "branch=folded", branch: "folded",
		}},
		{"sip/2.0/udp h", viaWant{raw: "sip/2.0/udp h", protocol: "sip/2.0", transport: "udp", host: "h"}},
		{"SIP/2.0/TLS [2001:db8::1]:5061;branch=b;rport", viaWant{
			raw: "SIP/2.0/TLS [2001:db8::1]:5061;branch=b;rport", protocol: "SIP/2.0", transport: "TLS",
			host: "[2001:db8::1]", port: 5061, params: "branch=b;rport", branch: "b", hasRPort: true,
		}},
		{"SIP/2.0/TCP [::1];received=::1", viaWant{
			raw: "SIP/2.0/TCP [::1];received=::1", protocol: "SIP/2.0", transport: "TCP",
			host: "[::1]", params: "received=::1", received: "::1",
		}},
		{"SIP/2.0/UDP h;rport=5070;branch=b;received=192.0.2.3", viaWant{
			raw: "SIP/2.0/UDP h;rport=5070;branch=b;received=192.0.2.3", protocol: "SIP/2.0", transport: "UDP",
			host: "h", params: "rport=5070;branch=b;received=192.0.2.3", branch: "b",
			rport: "5070", hasRPort: true, received: "192.0.2.3",
		}},
		{"SIP/2.0/TCP h;alias", viaWant{
			raw: "SIP/2.0/TCP h;alias", protocol: "SIP/2.0", transport: "TCP", host: "h", params: "alias", hasAlias: true,
		}},
		{"SIP/2.0/TCP h;ALIAS=1;RPORT;Branch=B1;MADDR=224.2.0.1;ttl=16", viaWant{
			raw: "SIP/2.0/TCP h;ALIAS=1;RPORT;Branch=B1;MADDR=224.2.0.1;ttl=16", protocol: "SIP/2.0", transport: "TCP",
			host: "h", params: "ALIAS=1;RPORT;Branch=B1;MADDR=224.2.0.1;ttl=16", branch: "B1", maddr: "224.2.0.1",
			alias: "1", hasAlias: true, hasRPort: true,
		}},
		{"SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks", viaWant{
			raw: "SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks", protocol: "SIP/2.0", transport: "WSS",
			host: "df7jal23ls0d.invalid", params: "branch=z9hG4bK56sdasks", branch: "z9hG4bK56sdasks",
		}},
		{"SIP/2.0/UDP h;x=\"quoted;value\";branch=b  ", viaWant{
			raw: "SIP/2.0/UDP h;x=\"quoted;value\";branch=b", protocol: "SIP/2.0", transport: "UDP", host: "h",
			params: "x=\"quoted;value\";branch=b", branch: "b",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			b := options("sip:example.com", "Via: "+tc.value)
			var m Message
			if err := m.Parse(b); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(m.Vias) != 1 {
				t.Fatalf("%d Vias after Parse", len(m.Vias))
			}
			checkVia(t, &m, &m.Vias[0], tc.want)
			if err := m.ParseVias(); err != nil {
				t.Fatalf("ParseVias: %v", err)
			}
			if len(m.Vias) != 1 {
				t.Fatalf("%d Vias after ParseVias", len(m.Vias))
			}
			checkVia(t, &m, &m.Vias[0], tc.want)
		})
	}
}

// TestViaList checks comma lists and several Via lines: every via-parm in
// order, each naming the line it came from.
func TestViaList(t *testing.T) {
	b := build("SIP/2.0 200 OK", []string{
		"Via: SIP/2.0/UDP a.example.com;branch=b1 , SIP/2.0/TCP b.example.com:5070;branch=b2",
		"+Record-Route: <sip:p.example.com;lr>",
		"+v: SIP/2.0/UDP [2001:db8::3];branch=b3,\r\n\tSIP/2.0/TLS d.example.com;branch=b4",
		"+VIA: SIP/2.0/SCTP e.example.com;branch=b5",
	}, "")
	var m Message
	if err := m.Parse(b); err != nil {
		t.Fatal(err)
	}
	if len(m.Vias) != 1 || str(&m, m.Vias[0].Branch) != "b1" {
		t.Fatalf("after Parse: %d Vias", len(m.Vias))
	}
	if err := m.ParseVias(); err != nil {
		t.Fatal(err)
	}
	wantHosts := []string{"a.example.com", "b.example.com", "[2001:db8::3]", "d.example.com", "e.example.com"}
	wantLines := []int{0, 0, 7, 7, 8}
	if len(m.Vias) != len(wantHosts) {
		t.Fatalf("%d Vias, want %d", len(m.Vias), len(wantHosts))
	}
	for i, v := range m.Vias {
		if str(&m, v.Host) != wantHosts[i] || str(&m, v.Branch) != fmt.Sprintf("b%d", i+1) {
			t.Errorf("Vias[%d] = host %q branch %q", i, str(&m, v.Host), str(&m, v.Branch))
		}
		if int(v.Header) != wantLines[i] || m.Headers[v.Header].ID != HdrVia {
			t.Errorf("Vias[%d].Header = %d, want %d", i, v.Header, wantLines[i])
		}
	}
	if m.Vias[1].Port != 5070 {
		t.Errorf("Vias[1].Port = %d", m.Vias[1].Port)
	}
}

func TestViaBad(t *testing.T) {
	tests := []string{
		"",
		"SIP/2.0/UDP",
		"SIP/2.0/UDP ",
		"SIP/2.0/ h",
		"SIP/2.0 UDP h",
		"SIP/2.0/UDPh",
		"SIP//UDP h",
		"/2.0/UDP h",
		"SIP/2.0/UDP h:",
		"SIP/2.0/UDP h:70000",
		"SIP/2.0/UDP h:50x",
		"SIP/2.0/UDP h;branch=",
		"SIP/2.0/UDP h;",
		"SIP/2.0/UDP h;;branch=b",
		"SIP/2.0/UDP h;=b",
		"SIP/2.0/UDP h;x=\"unterminated",
		"SIP/2.0/UDP [::1",
		"SIP/2.0/UDP []",
		"SIP/2.0/UDP h junk",
		"SIP/2.0/UDP h;branch=b junk",
		"SIP/2.0/UDP .h",
		"SIP/2.0/UDP <h>",
		", SIP/2.0/UDP h",
	}
	for _, v := range tests {
		t.Run(v, func(t *testing.T) {
			var m Message
			err := m.Parse(options("sip:example.com", "Via: "+v))
			wantErr(t, "Parse", err, ErrBadVia)
			if pe, ok := err.(*ParseError); ok && (pe.Header != HdrVia || pe.Status != 400) {
				t.Errorf("Header %v Status %d, want Via 400", pe.Header, pe.Status)
			}
		})
	}
	// A bad second via-parm is found by ParseVias only.
	for _, v := range []string{
		"SIP/2.0/UDP h;branch=a, garbage",
		"SIP/2.0/UDP h;branch=a,",
		"SIP/2.0/UDP h;branch=a,,SIP/2.0/UDP g",
		"SIP/2.0/UDP h;branch=a, SIP/2.0/UDP g:",
	} {
		t.Run("second/"+v, func(t *testing.T) {
			var m Message
			if err := m.Parse(options("sip:example.com", "Via: "+v)); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			wantErr(t, "ParseVias", m.ParseVias(), ErrBadVia)
			if len(m.Vias) != 1 {
				t.Errorf("%d Vias kept, want the good one", len(m.Vias))
			}
		})
	}
	var m Message
	if err := m.Parse(options("sip:example.com", "+Via: SIP/2.0/UDP g;branch=2", "+Via: SIP/2.0/UDP g;branch=")); err != nil {
		t.Fatalf("Parse: %v", err)
	}
	wantErr(t, "ParseVias on a bad third line", m.ParseVias(), ErrBadVia)
}

func TestViaMaxValues(t *testing.T) {
	edits := []string{}
	for i := 0; i < 4; i++ {
		edits = append(edits, fmt.Sprintf("+Via: SIP/2.0/UDP h%d;branch=x, SIP/2.0/UDP g%d;branch=y", i, i))
	}
	b := options("sip:example.com", edits...) // 1 + 8 via-parms
	for _, tc := range []struct {
		max int
		err error
	}{{9, nil}, {8, ErrTooManyValues}, {0, nil}} {
		m := Message{Limits: Limits{MaxValues: tc.max}}
		if err := m.Parse(b); err != nil {
			t.Fatal(err)
		}
		err := m.ParseVias()
		wantErr(t, fmt.Sprintf("MaxValues %d", tc.max), err, tc.err)
		if tc.err != nil && len(m.Vias) != tc.max {
			t.Errorf("MaxValues %d: kept %d Vias", tc.max, len(m.Vias))
		}
	}
}
