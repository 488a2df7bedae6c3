package sipparse

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Helpers shared by the *_extra_test.go tables and fuzz_test.go.

// baseHeaders are the header lines of the request that build starts from.
var baseHeaders = []string{
	"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds",
	"From: Alice <sip:alice@example.com>;tag=1928301774",
	"To: <sip:bob@example.com>",
	"Call-ID: a84b4c76e66710@192.0.2.1",
	"CSeq: 314159 OPTIONS",
	"Max-Forwards: 70",
	"Content-Length: 0",
}

// build returns a message made of start, the base header lines changed by
// edits, the empty line and body. An edit "Name: value" replaces the base
// line whose name (the text before ':') is Name, or is inserted before
// Content-Length when there is none; "-Name" deletes that line; "+Name:
// value" always inserts. The Content-Length line is kept as written, so a
// test that sends a body edits it.
func build(start string, edits []string, body string) []byte {
	hs := append([]string(nil), baseHeaders...)
	for _, e := range edits {
		switch {
		case strings.HasPrefix(e, "-"):
			hs = deleteHeader(hs, e[1:])
		case strings.HasPrefix(e, "+"):
			hs = insertHeader(hs, e[1:])
		default:
			name, _, _ := strings.Cut(e, ":")
			if i := findHeader(hs, name); i >= 0 {
				hs[i] = e
			} else {
				hs = insertHeader(hs, e)
			}
		}
	}
	return []byte(start + "\r\n" + strings.Join(hs, "\r\n") + "\r\n\r\n" + body)
}

func findHeader(hs []string, name string) int {
	for i, h := range hs {
		if n, _, ok := strings.Cut(h, ":"); ok && n == name {
			return i
		}
	}
	return -1
}

func deleteHeader(hs []string, name string) []string {
	if i := findHeader(hs, name); i >= 0 {
		return append(hs[:i:i], hs[i+1:]...)
	}
	return hs
}

func insertHeader(hs []string, line string) []string {
	i := findHeader(hs, "Content-Length")
	if i < 0 {
		return append(hs, line)
	}
	return append(hs[:i:i], append([]string{line}, hs[i:]...)...)
}

// options returns an OPTIONS request to ruri with the base header lines
// changed by edits.
func options(ruri string, edits ...string) []byte {
	return build("OPTIONS "+ruri+" SIP/2.0", edits, "")
}

// str returns the bytes of s in m's buffer as a string.
func str(m *Message, s Span) string { return string(s.Bytes(m.Buf())) }

// mustParse parses b with Parse and ParseAll and fails the test on error.
func mustParse(t testing.TB, b []byte) *Message {
	t.Helper()
	m := new(Message)
	if err := m.Parse(b); err != nil {
		t.Fatalf("Parse: %v\n%s", err, b)
	}
	if err := m.ParseAll(); err != nil {
		t.Fatalf("ParseAll: %v\n%s", err, b)
	}
	return m
}

// wantErr checks that err is a *ParseError wrapping sentinel (nil: no error).
func wantErr(t testing.TB, what string, err, sentinel error) {
	t.Helper()
	if sentinel == nil {
		if err != nil {
			t.Errorf("%s: %v, want success", what, err)
		}
		return
	}
	var pe *ParseError
	if !errors.Is(err, sentinel) || !errors.As(err, &pe) {
		t.Errorf("%s: error %v, want a *ParseError wrapping %v", what, err, sentinel)
	}
}

// readRFC4475 returns every RFC 4475 torture message in testdata, variants
// included, by name.
func readRFC4475(t testing.TB) map[string][]byte {
	t.Helper()
	var files []string
	for _, pat := range []string{"*.sip", "variants/*.sip"} {
		fs, err := filepath.Glob(filepath.Join("testdata", "rfc4475", pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".sip")] = b
	}
	if len(out) < 49 {
		t.Fatalf("found %d RFC 4475 files, want at least 49", len(out))
	}
	return out
}

// checkSpans returns a description of the first span of m that does not
// lie within its buffer, or of a broken invariant between the fields Parse
// and the tier-2 methods fill; "" when all hold.
func checkSpans(m *Message) string {
	n := uint64(len(m.Buf()))
	var bad string
	in := func(what string, s Span) {
		if bad == "" && uint64(s.Off)+uint64(s.Len) > n {
			bad = fmt.Sprintf("%s span {%d,%d} outside the %d-byte buffer", what, s.Off, s.Len, n)
		}
	}
	uri := func(what string, u *URI) {
		in(what+".Raw", u.Raw)
		for _, p := range []struct {
			name string
			s    Span
		}{
			{"SchemeName", u.SchemeName}, {"User", u.User}, {"Password", u.Password},
			{"Host", u.Host}, {"Params", u.Params}, {"Headers", u.Headers},
			{"Transport", u.Transport}, {"Maddr", u.Maddr}, {"GR", u.GR},
		} {
			in(what+"."+p.name, p.s)
			if bad == "" && p.s.Len > 0 && (p.s.Off < u.Raw.Off || p.s.End() > u.Raw.End()) {
				bad = fmt.Sprintf("%s.%s outside its URI", what, p.name)
			}
		}
	}
	addr := func(what string, a *Addr) {
		in(what+".Raw", a.Raw)
		in(what+".Display", a.Display)
		in(what+".Params", a.Params)
		in(what+".Tag", a.Tag)
		uri(what+".URI", &a.URI)
	}
	in("MethodName", m.MethodName)
	uri("RequestURI", &m.RequestURI)
	in("Reason", m.Reason)
	in("StartLine", m.StartLine)
	for i := range m.Headers {
		h := &m.Headers[i]
		in(fmt.Sprintf("Headers[%d].Name", i), h.Name)
		in(fmt.Sprintf("Headers[%d].Value", i), h.Value)
	}
	for i := range m.Vias {
		v := &m.Vias[i]
		w := fmt.Sprintf("Vias[%d]", i)
		for _, p := range []struct {
			name string
			s    Span
		}{
			{"Raw", v.Raw}, {"Protocol", v.Protocol}, {"Transport", v.Transport},
			{"Host", v.Host}, {"Params", v.Params}, {"Branch", v.Branch},
			{"Received", v.Received}, {"RPort", v.RPort}, {"Maddr", v.Maddr}, {"Alias", v.Alias},
		} {
			in(w+"."+p.name, p.s)
		}
	}
	addr("From", &m.From)
	addr("To", &m.To)
	in("CallID", m.CallID)
	in("CSeq.MethodName", m.CSeq.MethodName)
	in("ContentType", m.ContentType)
	in("Body", m.Body)
	for i := range m.Contacts {
		addr(fmt.Sprintf("Contacts[%d]", i), &m.Contacts[i])
	}
	for i := range m.Routes {
		addr(fmt.Sprintf("Routes[%d]", i), &m.Routes[i])
	}
	for i := range m.RecordRoutes {
		addr(fmt.Sprintf("RecordRoutes[%d]", i), &m.RecordRoutes[i])
	}
	if bad == "" && uint64(m.HeaderLen) > n {
		bad = fmt.Sprintf("HeaderLen %d beyond the %d-byte buffer", m.HeaderLen, n)
	}
	return bad
}

// checkAccepted checks what must hold for a message Parse accepted, after
// ParseAll (whatever it returned): every span in bounds, the body where
// Content-Length says, each Via inside the Via header field line it names.
func checkAccepted(m *Message) string {
	if s := checkSpans(m); s != "" {
		return s
	}
	if m.ContentLen >= 0 && int(m.Body.Len) != m.ContentLen {
		return fmt.Sprintf("body of %d bytes, Content-Length %d", m.Body.Len, m.ContentLen)
	}
	if int(m.Body.Off) != m.HeaderLen {
		return fmt.Sprintf("body at %d, header section ends at %d", m.Body.Off, m.HeaderLen)
	}
	if len(m.Vias) == 0 {
		return "accepted without a Via"
	}
	for i := range m.Vias {
		v := &m.Vias[i]
		if int(v.Header) >= len(m.Headers) || m.Headers[v.Header].ID != HdrVia {
			return fmt.Sprintf("Vias[%d].Header = %d is not a Via line", i, v.Header)
		}
		hv := m.Headers[v.Header].Value
		if v.Raw.Off < hv.Off || v.Raw.End() > hv.End() {
			return fmt.Sprintf("Vias[%d] outside its header line", i)
		}
	}
	return ""
}
