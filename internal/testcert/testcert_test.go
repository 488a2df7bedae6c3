package testcert

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestIssue(t *testing.T) {
	ca := MustCA(t, "test CA")
	other := MustCA(t, "other CA")
	cases := []struct {
		name    string
		ca      *CA
		opts    Options
		usage   x509.ExtKeyUsage
		wantErr bool
	}{
		{"server", ca, Server("a.example.com"), x509.ExtKeyUsageServerAuth, false},
		{"client", ca, Client("a.example.com"), x509.ExtKeyUsageClientAuth, false},
		{"client-as-server", ca, Client("a.example.com"), x509.ExtKeyUsageServerAuth, true},
		{"expired", ca, Expired(Server("a.example.com")), x509.ExtKeyUsageServerAuth, true},
		{"untrusted", other, Server("a.example.com"), x509.ExtKeyUsageServerAuth, true},
	}
	for _, tc := range cases {
		leaf := tc.ca.MustIssue(t, tc.opts)
		_, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{tc.usage}})
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: Verify = %v", tc.name, err)
		}
	}
}

func TestLeafContents(t *testing.T) {
	ca := MustCA(t, "test CA")
	l := ca.MustIssue(t, Options{
		CommonName: "cn.example.com",
		URIs:       []string{"sip:example.com"},
		DNSNames:   []string{"dns.example.com"},
	})
	if l.Cert.Subject.CommonName != "cn.example.com" || len(l.Cert.URIs) != 1 ||
		l.Cert.URIs[0].String() != "sip:example.com" || !slices.Equal(l.Cert.DNSNames, []string{"dns.example.com"}) {
		t.Errorf("names: %+v", l.Cert)
	}
	if len(l.Cert.ExtKeyUsage) != 0 {
		t.Errorf("EKU %v, want none", l.Cert.ExtKeyUsage)
	}
	if !l.Cert.NotAfter.After(time.Now()) {
		t.Error("default validity already over")
	}
	pair, err := tls.X509KeyPair(l.CertPEM, l.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !pair.Leaf.Equal(l.Cert) || !l.TLS.Leaf.Equal(l.Cert) {
		t.Error("PEM or tls.Certificate does not hold the leaf")
	}
	c, err := ParsePEM(ca.PEM)
	if err != nil || !c.Equal(ca.Cert) || !c.IsCA {
		t.Errorf("CA PEM: %v", err)
	}
	if _, err := ParsePEM(l.KeyPEM); !errors.Is(err, ErrNoPEM) {
		t.Errorf("ParsePEM(key) = %v", err)
	}
	if _, err := ca.Issue(Options{URIs: []string{"%zz"}}); err == nil {
		t.Error("bad URI accepted")
	}
}
