package tlsbridge

import (
	"crypto/x509"
	"encoding/asn1"
	"net/url"
	"strings"
)

// oidSubjectAltName is id-ce-subjectAltName (RFC 5280 §4.2.1.6).
var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// Identities returns the SIP domain identities of cert by the rules of
// RFC 5922 §7.1:
//
//   - the domains of subjectAltName URIs of scheme sip with no user part
//     ("sip:example.com"; port and parameters are not part of the name);
//   - only when there is no such URI, the subjectAltName DNS names;
//   - only when the certificate has no subjectAltName extension at all, the
//     subject Common Name.
//
// Names are returned as they appear in the certificate (not lowercased).
// It may be called from any goroutine.
func Identities(cert *x509.Certificate) []string {
	return AppendIdentities(nil, cert)
}

// AppendIdentities appends the identities of cert (see [Identities]) to dst
// and returns the extended slice. It allocates only when dst must grow: the
// names are substrings of the certificate's own strings.
func AppendIdentities(dst []string, cert *x509.Certificate) []string {
	if cert == nil {
		return dst
	}
	n := len(dst)
	for _, u := range cert.URIs {
		if d, ok := sipDomain(u); ok {
			dst = append(dst, d)
		}
	}
	if len(dst) > n {
		return dst
	}
	if len(cert.DNSNames) > 0 {
		return append(dst, cert.DNSNames...)
	}
	if hasSAN(cert) {
		return dst
	}
	if cert.Subject.CommonName != "" {
		dst = append(dst, cert.Subject.CommonName)
	}
	return dst
}

// sipDomain returns the domain of a SAN URI "sip:domain[:port][;params]"
// with no user part. Schemes other than sip (sips, tel, https...) are not
// identities (RFC 5922 §7.1).
func sipDomain(u *url.URL) (string, bool) {
	if u == nil || !strings.EqualFold(u.Scheme, "sip") {
		return "", false
	}
	s := u.Opaque // "sip:example.com" parses with Opaque "example.com"
	if s == "" || strings.IndexByte(s, '@') >= 0 {
		return "", false
	}
	if i := strings.IndexAny(s, ";?"); i >= 0 {
		s = s[:i]
	}
	if strings.HasPrefix(s, "[") {
		i := strings.IndexByte(s, ']')
		if i < 0 {
			return "", false
		}
		s = s[1:i]
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return "", false
	}
	return s, true
}

func hasSAN(cert *x509.Certificate) bool {
	for i := range cert.Extensions {
		if cert.Extensions[i].Id.Equal(oidSubjectAltName) {
			return true
		}
	}
	return false
}

// MatchName reports whether identity and name are the same domain name:
// compared whole and case-insensitively, a trailing dot ignored on either
// side. There are no wildcards: RFC 5922 §7.2 says names match in their
// entirety, never by suffix, and a leading "*." or "." in a certificate
// matches only itself. An empty name matches nothing.
func MatchName(identity, name string) bool {
	identity = strings.TrimSuffix(identity, ".")
	name = strings.TrimSuffix(name, ".")
	return name != "" && strings.EqualFold(identity, name)
}

// matchAny returns the first of names that matches one of ids.
func matchAny(ids []string, names ...string) (string, bool) {
	for _, n := range names {
		for _, id := range ids {
			if MatchName(id, n) {
				return n, true
			}
		}
	}
	return "", false
}
