package tlsbridge

import (
	"crypto/x509"
	"net"
	"slices"
	"testing"

	"github.com/sipcm/sipcm/internal/testcert"
)

func TestIdentities(t *testing.T) {
	ca := testcert.MustCA(t, "test CA")
	cases := []struct {
		name string
		opts testcert.Options
		want []string
	}{
		{"uri-first", testcert.Options{URIs: []string{"sip:a.example.com"}, DNSNames: []string{"b.example.com"}, CommonName: "c.example.com"}, []string{"a.example.com"}},
		{"several-uris", testcert.Options{URIs: []string{"sip:a.example.com", "sip:b.example.com"}}, []string{"a.example.com", "b.example.com"}},
		{"uri-scheme-case", testcert.Options{URIs: []string{"SIP:a.example.com"}}, []string{"a.example.com"}},
		{"uri-port-params", testcert.Options{URIs: []string{"sip:a.example.com:5061;transport=tls"}}, []string{"a.example.com"}},
		{"uri-ipv6", testcert.Options{URIs: []string{"sip:[2001:db8::1]:5061"}}, []string{"2001:db8::1"}},
		{"uri-user-part-ignored", testcert.Options{URIs: []string{"sip:alice@a.example.com"}, DNSNames: []string{"b.example.com"}}, []string{"b.example.com"}},
		{"sips-ignored", testcert.Options{URIs: []string{"sips:a.example.com"}, DNSNames: []string{"b.example.com"}}, []string{"b.example.com"}},
		{"other-scheme-ignored", testcert.Options{URIs: []string{"https://a.example.com/"}, DNSNames: []string{"b.example.com"}}, []string{"b.example.com"}},
		{"dns-all", testcert.Options{DNSNames: []string{"b.example.com", "c.example.com"}, CommonName: "d.example.com"}, []string{"b.example.com", "c.example.com"}},
		{"cn-when-no-san", testcert.Options{CommonName: "d.example.com"}, []string{"d.example.com"}},
		{"cn-hidden-by-ip-san", testcert.Options{CommonName: "d.example.com", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}, nil},
		{"cn-hidden-by-other-uri", testcert.Options{CommonName: "d.example.com", URIs: []string{"https://x/"}}, nil},
		{"nothing", testcert.Options{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			leaf := ca.MustIssue(t, tc.opts)
			if got := Identities(leaf.Cert); !slices.Equal(got, tc.want) {
				t.Errorf("Identities = %q, want %q", got, tc.want)
			}
			pre := []string{"x"}
			if got := AppendIdentities(pre, leaf.Cert); !slices.Equal(got, append([]string{"x"}, tc.want...)) {
				t.Errorf("AppendIdentities = %q", got)
			}
		})
	}
	if Identities(nil) != nil {
		t.Error("Identities(nil)")
	}
}

func TestAppendIdentitiesAllocs(t *testing.T) {
	ca := testcert.MustCA(t, "test CA")
	certs := []*x509.Certificate{
		ca.MustIssue(t, testcert.Options{URIs: []string{"sip:a.example.com:5061;transport=tls"}}).Cert,
		ca.MustIssue(t, testcert.Options{DNSNames: []string{"b.example.com"}}).Cert,
		ca.MustIssue(t, testcert.Options{CommonName: "c.example.com"}).Cert,
	}
	buf := make([]string, 0, 8)
	for _, c := range certs {
		if n := testing.AllocsPerRun(100, func() { buf = AppendIdentities(buf[:0], c) }); n != 0 {
			t.Errorf("%v: %v allocs", buf, n)
		}
	}
}

func TestMatchName(t *testing.T) {
	cases := []struct {
		id, name string
		want     bool
	}{
		{"example.com", "example.com", true},
		{"Example.COM", "example.com", true},
		{"example.com.", "example.com", true},
		{"example.com", "EXAMPLE.com.", true},
		{"example.com", "a.example.com", false},   // no suffix match
		{"a.example.com", "example.com", false},   // nor prefix
		{"*.example.com", "a.example.com", false}, // no wildcards (RFC 5922 §7.2)
		{".example.com", "a.example.com", false},
		{"*.example.com", "*.example.com", true}, // a wildcard only matches itself
		{"evilexample.com", "example.com", false},
		{"", "", false},
		{"example.com", "", false},
	}
	for _, tc := range cases {
		if got := MatchName(tc.id, tc.name); got != tc.want {
			t.Errorf("MatchName(%q, %q) = %v", tc.id, tc.name, got)
		}
	}
}
