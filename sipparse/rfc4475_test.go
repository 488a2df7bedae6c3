package sipparse

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rfc4475 says what each torture message of RFC 4475 must produce (see
// testdata/rfc4475/INDEX.md): err nil means Parse accepts it; otherwise Parse
// refuses it with that sentinel and the status a server answers.
var rfc4475 = []struct {
	file   string
	err    error
	status int
	check  func(t *testing.T, m *Message)
}{
	// 3.1.1 valid messages
	{file: "wsinv", check: func(t *testing.T, m *Message) {
		want(t, m, "method", m.MethodName, "INVITE")
		want(t, m, "To", m.To.URI.Raw, "sip:vivekg@chair-dnrc.example.com")
		want(t, m, "To tag", m.To.Tag, "1918181833n")
		want(t, m, "From display", m.From.Display, `J Rosenberg \\\"`)
		want(t, m, "From tag", m.From.Tag, "98asjd8")
		wantInt(t, "Max-Forwards", m.MaxForwards, 68)
		wantInt(t, "CSeq", int(m.CSeq.Num), 9)
		want(t, m, "CSeq method", m.CSeq.MethodName, "INVITE")
		wantInt(t, "Vias", len(m.Vias), 3)
		want(t, m, "Via0 transport", m.Vias[0].Transport, "UDP")
		want(t, m, "Via0 host", m.Vias[0].Host, "192.0.2.2")
		want(t, m, "Via0 branch", m.Vias[0].Branch, "390skdjuw")
		want(t, m, "Via1 transport", m.Vias[1].Transport, "TCP")
		want(t, m, "Via1 host", m.Vias[1].Host, "spindle.example.com")
		want(t, m, "Via1 branch", m.Vias[1].Branch, "z9hG4bK9ikj8")
		want(t, m, "Via2 branch", m.Vias[2].Branch, "z9hG4bK30239")
		wantInt(t, "Routes", len(m.Routes), 1)
		wantBool(t, "Route lr", m.Routes[0].URI.LR, true)
		wantInt(t, "Contacts", len(m.Contacts), 1)
		want(t, m, "Contact display", m.Contacts[0].Display, `Quoted string \"\"`)
		wantInt(t, "body", int(m.Body.Len), 150)
		want(t, m, "Content-Type", m.ContentType, "application/sdp")
		if v, ok := LookupParam(m.Buf(), m.Contacts[0].Params, "q"); !ok || string(v.Bytes(m.Buf())) != "0.33" {
			t.Errorf("Contact q = %q %v", v.Bytes(m.Buf()), ok)
		}
		for _, h := range m.Headers {
			if string(h.Name.Bytes(m.Buf())) == "UnknownHeaderWithUnusualValue" {
				want(t, m, "unusual value", h.Value, ";;,,;;,;")
			}
		}
	}},
	{file: "intmeth", check: func(t *testing.T, m *Message) {
		wantBool(t, "unknown method", m.Method == MethodUnknown, true)
		want(t, m, "method", m.MethodName, "!interesting-Method0123456789_*+`.%indeed'~")
		want(t, m, "R-URI user", m.RequestURI.User, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
		want(t, m, "R-URI password", m.RequestURI.Password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
		want(t, m, "R-URI host", m.RequestURI.Host, "example.com")
		want(t, m, "branch", m.Vias[0].Branch, "z9hG4bK-.!%66*_+`'~")
		want(t, m, "From tag", m.From.Tag, "_token~1'+`*%!-.")
		want(t, m, "Call-ID", m.CallID, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
	}},
	{file: "esc01", check: func(t *testing.T, m *Message) {
		want(t, m, "R-URI user", m.RequestURI.User, "sips%3Auser%40example.com")
		want(t, m, "Call-ID (compact i)", m.CallID, "esc01.239409asdfakjkn23onasd0-3234")
		want(t, m, "Content-Type (compact c)", m.ContentType, "application/sdp")
	}},
	{file: "escnull", check: func(t *testing.T, m *Message) {
		wantInt(t, "Contacts", len(m.Contacts), 2)
		want(t, m, "Contact0 user", m.Contacts[0].URI.User, "%00")
		want(t, m, "Contact1 user", m.Contacts[1].URI.User, "%00%00")
	}},
	{file: "esc02", check: func(t *testing.T, m *Message) {
		wantBool(t, "unknown method", m.Method == MethodUnknown, true)
		wantInt(t, "Contacts", len(m.Contacts), 2) // C%6Fntact is another header
		want(t, m, "To display", m.To.Display, "%Z%45")
	}},
	{file: "lwsdisp", check: func(t *testing.T, m *Message) {
		want(t, m, "From display", m.From.Display, "caller")
	}},
	{file: "longreq", check: func(t *testing.T, m *Message) {
		wantInt(t, "Vias", len(m.Vias), 34)
	}},
	{file: "dblreq", check: func(t *testing.T, m *Message) {
		wantInt(t, "body", int(m.Body.Len), 0)
		want(t, m, "method", m.MethodName, "REGISTER")
	}},
	{file: "semiuri", check: func(t *testing.T, m *Message) {
		want(t, m, "R-URI user", m.RequestURI.User, "user;par=u%40example.net")
		want(t, m, "R-URI host", m.RequestURI.Host, "example.com")
	}},
	{file: "transports", check: func(t *testing.T, m *Message) {
		wantInt(t, "Vias", len(m.Vias), 5)
		for i, tr := range []string{"UDP", "SCTP", "TLS", "UNKNOWN", "TCP"} {
			want(t, m, "transport", m.Vias[i].Transport, tr)
		}
	}},
	{file: "mpart01", check: func(t *testing.T, m *Message) {
		wantInt(t, "body", int(m.Body.Len), 553)
	}},
	{file: "unreason", check: func(t *testing.T, m *Message) {
		wantInt(t, "status", m.StatusCode, 200)
		wantBool(t, "UTF-8 reason", strings.ContainsAny(string(m.Reason.Bytes(m.Buf())), "доброе"), true)
	}},
	{file: "noreason", check: func(t *testing.T, m *Message) {
		wantInt(t, "status", m.StatusCode, 100)
		wantInt(t, "reason length", int(m.Reason.Len), 0)
	}},
	// 3.1.2 invalid messages
	{file: "badinv01", err: ErrBadVia, status: 400},
	{file: "clerr", err: ErrShortBody, status: 400},
	{file: "ncl", err: ErrBadContentLength, status: 400},
	{file: "scalar02", err: ErrBadCSeq, status: 400},
	{file: "scalarlg", err: ErrBadCSeq},
	{file: "quotbal", err: ErrBadAddress, status: 400},
	{file: "ltgtruri", err: ErrBadRequestURI, status: 400},
	{file: "lwsruri", err: ErrBadRequestURI, status: 400},
	{file: "lwsstart", err: ErrBadRequestURI, status: 400},
	{file: "trws", err: ErrBadStartLine, status: 400},
	{file: "escruri", err: ErrBadRequestURI, status: 400},
	{file: "baddate"}, // "may reject, but should not"
	{file: "regbadct", err: ErrBadAddress, status: 400},
	{file: "badaspec", err: ErrBadAddress, status: 400},
	{file: "baddn", err: ErrBadAddress, status: 400}, // as stored it also lacks the empty line
	{file: "variants/baddn-terminated", err: ErrBadAddress, status: 400},
	{file: "badvers", err: ErrBadVersion, status: 505},
	{file: "mismatch01", err: ErrCSeqMismatch, status: 400},
	{file: "mismatch02", err: ErrCSeqMismatch, status: 501},
	{file: "bigcode", err: ErrBadStatus},
	// 3.2 transaction layer: parses; the branch is the magic cookie alone
	{file: "badbranch", check: func(t *testing.T, m *Message) {
		want(t, m, "branch", m.Vias[0].Branch, "z9hG4bK")
	}},
	// 3.3 application layer
	{file: "insuf", err: ErrMissingHeader, status: 400},
	{file: "unkscm", check: func(t *testing.T, m *Message) {
		wantBool(t, "opaque scheme", m.RequestURI.Scheme == SchemeOther, true)
		want(t, m, "scheme", m.RequestURI.SchemeName, "nobodyKnowsThisScheme")
	}},
	{file: "novelsc", check: func(t *testing.T, m *Message) {
		want(t, m, "scheme", m.RequestURI.SchemeName, "soap.beep")
	}},
	{file: "unksm2", check: func(t *testing.T, m *Message) {
		want(t, m, "To scheme", m.To.URI.SchemeName, "isbn")
		want(t, m, "From URI", m.From.URI.Raw, "http://www.example.com")
		want(t, m, "Contact URI", m.Contacts[0].URI.Raw, "name:John_Smith")
	}},
	{file: "bext01"},
	{file: "invut"},
	{file: "regaut01"},
	{file: "multi01", err: ErrDuplicateHeader, status: 400},
	{file: "mcl01", err: ErrContentLengthConflict, status: 400},
	{file: "bcast", check: func(t *testing.T, m *Message) {
		want(t, m, "Via1 host", m.Vias[1].Host, "255.255.255.255")
	}},
	{file: "zeromf", check: func(t *testing.T, m *Message) {
		wantInt(t, "Max-Forwards", m.MaxForwards, 0)
	}},
	{file: "cparam01", check: func(t *testing.T, m *Message) {
		c := m.Contacts[0]
		want(t, m, "contact-param", c.Params, "unknownparam")
		wantInt(t, "URI params", int(c.URI.Params.Len), 0)
	}},
	{file: "cparam02", check: func(t *testing.T, m *Message) {
		c := m.Contacts[0]
		want(t, m, "URI param", c.URI.Params, "unknownparam")
		wantInt(t, "contact-params", int(c.Params.Len), 0)
	}},
	{file: "regescrt", check: func(t *testing.T, m *Message) {
		want(t, m, "Contact URI headers", m.Contacts[0].URI.Headers, "Route=%3Csip:sip.example.com%3E")
		wantInt(t, "Content-Length (L:0)", m.ContentLen, 0)
	}},
	{file: "sdp01"},
	// 3.4: valid RFC 2543 syntax on a datagram
	{file: "inv2543", check: func(t *testing.T, m *Message) {
		wantInt(t, "Content-Length", m.ContentLen, -1)
		wantInt(t, "Max-Forwards", m.MaxForwards, -1)
		wantInt(t, "branch", int(m.Vias[0].Branch.Len), 0)
		wantBool(t, "body to the end", m.Body.End() == len(m.Buf()), true)
	}},
}

func readTorture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "rfc4475", name+".sip"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRFC4475Parse(t *testing.T) {
	files, _ := filepath.Glob("testdata/rfc4475/*.sip")
	if len(files) != 49 {
		t.Fatalf("%d torture messages in testdata, want 49", len(files))
	}
	covered := map[string]bool{}
	for _, tc := range rfc4475 {
		covered[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			var m Message
			err := m.Parse(readTorture(t, tc.file))
			if err == nil {
				err = m.ParseAll()
			}
			if tc.err == nil {
				if err != nil {
					t.Fatalf("Parse: %v, want success", err)
				}
				if tc.check != nil {
					tc.check(t, &m)
				}
				return
			}
			var pe *ParseError
			if !errors.Is(err, tc.err) || !errors.As(err, &pe) {
				t.Fatalf("Parse: %v, want %v", err, tc.err)
			}
			if m.Request && pe.Status != tc.status {
				t.Errorf("status %d, want %d", pe.Status, tc.status)
			}
			if tc.status != 0 && !m.Answerable() {
				t.Errorf("request refused with %d cannot be answered", tc.status)
			}
			if !m.Request && m.Answerable() {
				t.Errorf("a response must not be answered")
			}
		})
	}
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".sip"); !covered[name] {
			t.Errorf("%s has no expectation", name)
		}
	}
}

// TestRFC4475Stream checks the INDEX.md stream notes: the bytes of each file
// written onto a TCP/TLS connection.
func TestRFC4475Stream(t *testing.T) {
	tests := []struct {
		file  string
		n     int // whole-message length, 0 for none
		err   error
		fatal bool
	}{
		{file: "clerr", err: ErrNeedMore}, // waits for 9999 bytes: the timeouts end it
		{file: "ncl", err: ErrBadContentLength, fatal: true},
		{file: "mcl01", err: ErrContentLengthConflict, fatal: true},
		{file: "inv2543", err: ErrNoContentLength, fatal: true},
		{file: "baddn", err: ErrNeedMore},
		{file: "dblreq", n: 300}, // then the INVITE after it is a message of its own
		{file: "mpart01", n: 1290},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b := readTorture(t, tc.file)
			var f Framer
			n, kind, err := f.Next(b)
			if tc.err == nil {
				if err != nil || kind != FrameMessage || n != tc.n {
					t.Fatalf("Next = %d, %v, %v; want message of %d", n, kind, err, tc.n)
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("Next error %v, want %v", err, tc.err)
			}
			var fe *FrameError
			if errors.As(err, &fe) != tc.fatal || (fe != nil && fe.Fatal != tc.fatal) {
				t.Errorf("fatal = %v, want %v", fe != nil && fe.Fatal, tc.fatal)
			}
		})
	}
	// dblreq: after a CRLF to skip, the second request frames on its own
	// and parses as an INVITE.
	b := readTorture(t, "dblreq")
	var f Framer
	n, _, _ := f.Next(b)
	if n2, kind, err := f.Next(b[n:]); err != nil || kind != FrameSkip || n2 != 2 {
		t.Fatalf("after the REGISTER: %d, %v, %v; want a CRLF to skip", n2, kind, err)
	}
	rest := b[n+2:]
	n2, kind, err := f.Next(rest)
	if err != nil || kind != FrameMessage || n2 > len(rest) {
		t.Fatalf("second frame = %d, %v, %v; want a message", n2, kind, err)
	}
	var m Message
	if err := m.Parse(rest[:n2]); err != nil || m.Method != MethodInvite {
		t.Fatalf("second message: %v, method %v", err, m.Method)
	}
}

func want(t *testing.T, m *Message, what string, s Span, w string) {
	t.Helper()
	if got := string(s.Bytes(m.Buf())); got != w {
		t.Errorf("%s = %q, want %q", what, got, w)
	}
}

func wantInt(t *testing.T, what string, got, w int) {
	t.Helper()
	if got != w {
		t.Errorf("%s = %d, want %d", what, got, w)
	}
}

func wantBool(t *testing.T, what string, got, w bool) {
	t.Helper()
	if got != w {
		t.Errorf("%s = %v, want %v", what, got, w)
	}
}
