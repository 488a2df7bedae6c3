package sipparse

import (
	"fmt"
	"strings"
	"testing"
)

// TestCompactForms checks every compact form the parser knows (RFC 3261
// §7.3.3 and the IANA registry), in both cases, through LookupHeader and in
// a message, and that the letters without a registered field are unknown.
func TestCompactForms(t *testing.T) {
	known := map[byte]HeaderID{
		'a': HdrAcceptContact, 'b': HdrReferredBy, 'c': HdrContentType, 'd': HdrRequestDisposition,
		'e': HdrContentEncoding, 'f': HdrFrom, 'i': HdrCallID, 'j': HdrRejectContact,
		'k': HdrSupported, 'l': HdrContentLength, 'm': HdrContact, 'n': HdrIdentityInfo,
		'o': HdrEvent, 'r': HdrReferTo, 's': HdrSubject, 't': HdrTo, 'u': HdrAllowEvents,
		'v': HdrVia, 'x': HdrSessionExpires, 'y': HdrIdentity,
	}
	for c := byte('a'); c <= 'z'; c++ {
		want := known[c]
		for _, l := range []byte{c, c - 'a' + 'A'} {
			if got := LookupHeader([]byte{l}); got != want {
				t.Errorf("LookupHeader(%q) = %v, want %v", l, got, want)
			}
		}
	}
	// In a message: each letter whose field Parse does not interpret, as an
	// extra line; the interpreted ones replace the base lines.
	edits := []string{
		"-Via", "-From", "-To", "-Call-ID", "-Content-Length",
		"+V: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKc",
		"+f: <sip:a@example.com>;tag=1",
		"+T: <sip:b@example.com>",
		"+I: compact-call-id",
		"+C: application/sdp",
		"+M: <sip:a@192.0.2.1>",
		"+l: 4",
	}
	var letters []byte
	for c := byte('a'); c <= 'z'; c++ {
		if id := known[c]; id != HdrOther && !strings.ContainsRune("cfilmtv", rune(c)) {
			edits = append(edits, fmt.Sprintf("+%c: x", c))
			letters = append(letters, c)
		}
	}
	b := build("OPTIONS sip:example.com SIP/2.0", edits, "body")
	m := mustParse(t, b)
	if str(m, m.CallID) != "compact-call-id" || str(m, m.ContentType) != "application/sdp" ||
		m.ContentLen != 4 || str(m, m.Body) != "body" || str(m, m.From.Tag) != "1" ||
		str(m, m.To.URI.Raw) != "sip:b@example.com" || str(m, m.Vias[0].Branch) != "z9hG4bKc" ||
		len(m.Contacts) != 1 {
		t.Errorf("compact fields not parsed: %+v", m)
	}
	for _, c := range letters {
		found := false
		for _, h := range m.Headers {
			if str(m, h.Name) == string(c) {
				found = true
				if h.ID != known[c] || !m.Has(h.ID) {
					t.Errorf("%c: ID %v, want %v", c, h.ID, known[c])
				}
			}
		}
		if !found {
			t.Errorf("%c: no header line", c)
		}
	}
	for _, c := range "ghpqwz" {
		if LookupHeader([]byte{byte(c)}) != HdrOther {
			t.Errorf("%c is not a registered compact form", c)
		}
	}
}

// TestHeaderNames checks every long name in three cases, through
// LookupHeader and through Parse (whose lookup reads eight bytes at a time,
// so names near the end of the buffer are also tried).
func TestHeaderNames(t *testing.T) {
	for id := HdrVia; id <= HdrPath; id++ {
		name := id.String()
		if name == "" {
			t.Fatalf("HeaderID %d has no name", id)
		}
		for _, n := range []string{name, strings.ToUpper(name), strings.ToLower(name), swapCase(name)} {
			if got := LookupHeader([]byte(n)); got != id {
				t.Errorf("LookupHeader(%q) = %v, want %v", n, got, id)
			}
		}
		// near misses
		for _, n := range []string{name + "x", name[:len(name)-1], "x" + name[1:], name + " "} {
			if len(n) == 1 {
				continue // a compact form
			}
			if got := LookupHeader([]byte(n)); got == id {
				t.Errorf("LookupHeader(%q) = %v", n, got)
			}
		}
		if id >= HdrAcceptContact { // fields Parse does not interpret
			n := swapCase(name)
			b := options("sip:example.com", "+"+n+": v")
			m := mustParse(t, b)
			if h := m.Headers[len(m.Headers)-2]; str(m, h.Name) != n || h.ID != id || !m.Has(id) {
				t.Errorf("%s: line %q has ID %v", n, str(m, h.Name), h.ID)
			}
			if v, ok := m.Header(id); !ok || str(m, v) != "v" {
				t.Errorf("Header(%v) = %q, %v", id, str(m, v), ok)
			}
		}
	}
	if HdrOther.String() != "" || HeaderID(200).String() != "" {
		t.Error("String of an unknown ID is not empty")
	}
	for _, n := range []string{"", "X-Custom", "Viaa", "Vi", "P-Asserted-Identity", "Content-Lengthy", "Content_Length", "Call\rID"} {
		if got := LookupHeader([]byte(n)); got != HdrOther {
			t.Errorf("LookupHeader(%q) = %v, want HdrOther", n, got)
		}
	}
	// Names in odd case that Parse interprets, with and without room for
	// the eight-byte reads after them.
	b := []byte("OPTIONS sip:example.com SIP/2.0\r\n" +
		"vIA: SIP/2.0/UDP h;branch=1\r\nFROM: <sip:a@example.com>;tag=1\r\nto: <sip:b@example.com>\r\n" +
		"CALL-id: abc\r\ncseq: 1 OPTIONS\r\nmax-FORWARDS: 7\r\nEXPIRES: 30\r\ncontent-TYPE: text/plain\r\n" +
		"CONTENT-LENGTH: 0\r\n\r\n")
	m := mustParse(t, b)
	if str(m, m.CallID) != "abc" || m.MaxForwards != 7 || m.Expires != 30 || str(m, m.ContentType) != "text/plain" || m.ContentLen != 0 {
		t.Errorf("odd-case names not interpreted: %+v", m)
	}
	var m2 Message
	if err := m2.Parse(b[:len(b):len(b)]); err != nil {
		t.Fatal(err)
	}
}

func swapCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - 32
		case 'A' <= c && c <= 'Z':
			b[i] = c + 32
		}
	}
	return string(b)
}

func TestHeaderSplitting(t *testing.T) {
	t.Run("folding", func(t *testing.T) {
		b := options("sip:example.com", "+Subject: first\r\n second\r\n\tthird", "Max-Forwards:\r\n 69")
		m := mustParse(t, b)
		v, ok := m.Header(HdrSubject)
		if !ok || str(m, v) != "first\r\n second\r\n\tthird" {
			t.Errorf("Subject = %q", str(m, v))
		}
		if m.MaxForwards != 69 {
			t.Errorf("folded Max-Forwards = %d", m.MaxForwards)
		}
	})
	t.Run("LWS before colon", func(t *testing.T) {
		m := mustParse(t, options("sip:example.com", "-Call-ID", "+Call-ID \t : spaced", "+X-Extra\t:x"))
		if str(m, m.CallID) != "spaced" {
			t.Errorf("Call-ID = %q", str(m, m.CallID))
		}
		for _, h := range m.Headers {
			if n := str(m, h.Name); strings.ContainsAny(n, " \t") {
				t.Errorf("name %q keeps white space", n)
			}
		}
	})
	t.Run("empty and spaced values", func(t *testing.T) {
		m := mustParse(t, options("sip:example.com", "+Subject:", "+X-A:    ", "+X-B:  v  "))
		if v, ok := m.Header(HdrSubject); !ok || !v.Empty() {
			t.Errorf("empty Subject = %q, %v", str(m, v), ok)
		}
		if h := m.Headers[len(m.Headers)-2]; str(m, h.Value) != "v" {
			t.Errorf("X-B = %q", str(m, h.Value))
		}
	})
	t.Run("unknown headers kept in order", func(t *testing.T) {
		m := mustParse(t, options("sip:example.com", "+X-1: a", "+P-Asserted-Identity: <sip:x@example.com>", "+X-1: b"))
		var got []string
		for _, h := range m.Headers {
			if h.ID == HdrOther {
				got = append(got, str(m, h.Name)+"="+str(m, h.Value))
			}
		}
		if strings.Join(got, ",") != "X-1=a,P-Asserted-Identity=<sip:x@example.com>,X-1=b" {
			t.Errorf("unknown headers = %v", got)
		}
		if len(m.Headers) != len(baseHeaders)+3 {
			t.Errorf("%d headers", len(m.Headers))
		}
	})

	bad := []struct {
		name string
		msg  []byte
		err  error
	}{
		{"bare CR in value", options("sip:example.com", "+Subject: a\rb"), ErrBadHeader},
		{"bare CR at value end", options("sip:example.com", "+Subject: a\r"), ErrBadHeader},
		{"bare CR in name", options("sip:example.com", "+Sub\rject: a"), ErrBadHeader},
		{"CR hiding Content-Length", options("sip:example.com", "-Content-Length", "+Content\rLength: 0"), ErrBadHeader},
		{"CR in a repeated known name", options("sip:example.com", "+Call\rID: other"), ErrBadHeader},
		{"CR before an error in its line", options("sip:example.com", "+Max\rForwards: x"), ErrBadHeader},
		{"bare CR in Request-URI", options("sip:a\r@example.com"), ErrBadHeader},
		{"bare LF ends a line", options("sip:example.com", "+Subject: a\nX-B: b"), ErrBadHeader},
		{"bare LF at line end", options("sip:example.com", "+Subject: a\n"), ErrBadHeader},
		{"LF only line endings", []byte(strings.ReplaceAll(string(options("sip:example.com")), "\r\n", "\n")), ErrBadStartLine},
		{"LF only header section", []byte(strings.Replace(strings.ReplaceAll(string(options("sip:example.com")), "\r\n", "\n"), "\n", "\r\n", 1)), ErrBadHeader},
		{"missing colon", options("sip:example.com", "+Subject a"), ErrBadHeader},
		{"empty name", options("sip:example.com", "+: a"), ErrBadHeader},
		{"space in name", options("sip:example.com", "+Sub ject: a"), ErrBadHeader},
		{"non-token name", options("sip:example.com", "+X@Y: a"), ErrBadHeader},
		{"fold before first header", []byte("OPTIONS sip:example.com SIP/2.0\r\n " + string(options("sip:example.com"))[len("OPTIONS sip:example.com SIP/2.0\r\n"):]), ErrBadHeader},
		{"no empty line", options("sip:example.com")[:len(options("sip:example.com"))-2], ErrBadHeader},
		{"no header end at all", []byte("OPTIONS sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP h"), ErrBadHeader},
		{"start line only", []byte("OPTIONS sip:example.com SIP/2.0\r\n"), ErrBadHeader},
		{"duplicate From", options("sip:example.com", "+From: <sip:x@example.com>;tag=2"), ErrDuplicateHeader},
		{"duplicate To", options("sip:example.com", "+t: <sip:x@example.com>"), ErrDuplicateHeader},
		{"duplicate Call-ID", options("sip:example.com", "+i: other"), ErrDuplicateHeader},
		{"duplicate CSeq", options("sip:example.com", "+CSeq: 314159 OPTIONS"), ErrDuplicateHeader},
		{"duplicate Max-Forwards", options("sip:example.com", "+Max-Forwards: 70"), ErrDuplicateHeader},
		{"duplicate Content-Type", options("sip:example.com", "+c: a/b", "+Content-Type: a/b"), ErrDuplicateHeader},
		{"duplicate Expires", options("sip:example.com", "+Expires: 1", "+Expires: 1"), ErrDuplicateHeader},
		{"conflicting Content-Length", options("sip:example.com", "+l: 1"), ErrContentLengthConflict},
		{"negative Content-Length", options("sip:example.com", "Content-Length: -1"), ErrBadContentLength},
		{"non-numeric Content-Length", options("sip:example.com", "Content-Length: zero"), ErrBadContentLength},
		{"Content-Length with junk", options("sip:example.com", "Content-Length: 0 0"), ErrBadContentLength},
		{"empty Content-Length", options("sip:example.com", "Content-Length:"), ErrBadContentLength},
		{"huge Content-Length", options("sip:example.com", "Content-Length: 2147483648"), ErrBadContentLength},
		{"short body", options("sip:example.com", "Content-Length: 10"), ErrShortBody},
		{"bad Max-Forwards", options("sip:example.com", "Max-Forwards: seventy"), ErrBadMaxForwards},
		{"Max-Forwards 256", options("sip:example.com", "Max-Forwards: 256"), ErrBadMaxForwards},
		{"negative Max-Forwards", options("sip:example.com", "Max-Forwards: -1"), ErrBadMaxForwards},
		{"empty Call-ID", options("sip:example.com", "Call-ID:"), ErrBadCallID},
		{"Call-ID with space", options("sip:example.com", "Call-ID: a b"), ErrBadCallID},
		{"Call-ID with control", options("sip:example.com", "Call-ID: a\x01b"), ErrBadCallID},
		{"CSeq without method", options("sip:example.com", "CSeq: 1"), ErrBadCSeq},
		{"CSeq without number", options("sip:example.com", "CSeq: OPTIONS"), ErrBadCSeq},
		{"CSeq non-numeric", options("sip:example.com", "CSeq: x1 OPTIONS"), ErrBadCSeq},
		{"CSeq 2^32", options("sip:example.com", "CSeq: 4294967296 OPTIONS"), ErrBadCSeq},
		{"CSeq junk after method", options("sip:example.com", "CSeq: 1 OPTIONS x"), ErrBadCSeq},
		{"CSeq non-token method", options("sip:example.com", "CSeq: 1 OPT@ONS"), ErrBadCSeq},
		{"CSeq no space", options("sip:example.com", "CSeq: 1OPTIONS"), ErrBadCSeq},
		{"CSeq method mismatch", options("sip:example.com", "CSeq: 1 INVITE"), ErrCSeqMismatch},
		{"CSeq method case", options("sip:example.com", "CSeq: 1 options"), ErrCSeqMismatch},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			wantErr(t, "Parse", m.Parse(tc.msg), tc.err)
		})
	}
	for _, id := range []HeaderID{HdrVia, HdrFrom, HdrTo, HdrCallID, HdrCSeq} {
		t.Run("missing "+id.String(), func(t *testing.T) {
			var m Message
			err := m.Parse(options("sip:example.com", "-"+id.String()))
			wantErr(t, "Parse", err, ErrMissingHeader)
			if pe, ok := err.(*ParseError); ok && pe.Header != id {
				t.Errorf("Header = %v, want %v", pe.Header, id)
			}
		})
	}
}

func TestHeaderValues(t *testing.T) {
	for _, tc := range []struct {
		edit                string
		maxFwd, expires, cl int
	}{
		{"Max-Forwards: 0", 0, -1, 0},
		{"Max-Forwards: 255", 255, -1, 0},
		{"Max-Forwards: 0070", 70, -1, 0},
		{"-Max-Forwards", -1, -1, 0},
		{"Expires: 3600", 70, 3600, 0},
		{"Expires: 4294967295", 70, 4294967295, 0},
		{"Expires: never", 70, 3600, 0}, // malformed means 3600
		{"Expires: Thu, 01 Dec 1994 16:00:00 GMT", 70, 3600, 0},
		{"Expires: 4294967296", 70, 3600, 0},
		{"Content-Length: 000", 70, -1, 0},
		{"-Content-Length", 70, -1, -1},
	} {
		t.Run(tc.edit, func(t *testing.T) {
			m := mustParse(t, options("sip:example.com", tc.edit))
			if m.MaxForwards != tc.maxFwd || m.Expires != tc.expires || m.ContentLen != tc.cl {
				t.Errorf("Max-Forwards %d, Expires %d, Content-Length %d", m.MaxForwards, m.Expires, m.ContentLen)
			}
		})
	}
	t.Run("CSeq", func(t *testing.T) {
		m := mustParse(t, build("INVITE sip:b@example.com SIP/2.0", []string{"CSeq:  4294967295 \t INVITE "}, ""))
		if m.CSeq.Num != 4294967295 || m.CSeq.Method != MethodInvite || str(m, m.CSeq.MethodName) != "INVITE" {
			t.Errorf("CSeq = %+v", m.CSeq)
		}
	})
	t.Run("same Content-Length twice", func(t *testing.T) {
		m := mustParse(t, build("OPTIONS sip:example.com SIP/2.0", []string{"Content-Length: 3", "+l: 3"}, "abc"))
		if m.ContentLen != 3 || str(m, m.Body) != "abc" {
			t.Errorf("Content-Length %d body %q", m.ContentLen, str(m, m.Body))
		}
	})
	t.Run("body cut to Content-Length", func(t *testing.T) {
		b := append(options("sip:example.com", "Content-Length: 3"), "abcdef"...)
		var m Message
		if err := m.Parse(b); err != nil {
			t.Fatal(err)
		}
		if str(&m, m.Body) != "abc" {
			t.Errorf("body %q", str(&m, m.Body))
		}
	})
	t.Run("body to the end without Content-Length", func(t *testing.T) {
		b := append(options("sip:example.com", "-Content-Length"), "abcdef"...)
		m := mustParse(t, b)
		if str(m, m.Body) != "abcdef" || m.HeaderLen != len(b)-6 {
			t.Errorf("body %q, HeaderLen %d", str(m, m.Body), m.HeaderLen)
		}
	})
	t.Run("Call-ID with UTF-8 and word chars", func(t *testing.T) {
		id := "f81d4fae-7dec-11d0-a765-00a0c91e6bf6@[2001:db8::1]:5060/x?y=<z>\"ü\""
		m := mustParse(t, options("sip:example.com", "Call-ID: "+id))
		if str(m, m.CallID) != id {
			t.Errorf("Call-ID %q", str(m, m.CallID))
		}
	})
}

func TestTooManyHeaders(t *testing.T) {
	var edits []string
	for i := 0; i < 10; i++ {
		edits = append(edits, fmt.Sprintf("+X-%d: v", i))
	}
	b := options("sip:example.com", edits...)
	n := len(baseHeaders) + 10
	for _, tc := range []struct {
		max int
		err error
	}{{n, nil}, {n - 1, ErrTooManyHeaders}, {1, ErrTooManyHeaders}, {0, nil}} {
		m := Message{Limits: Limits{MaxHeaders: tc.max}}
		err := m.Parse(b)
		wantErr(t, fmt.Sprintf("MaxHeaders %d", tc.max), err, tc.err)
		if tc.err != nil && len(m.Headers) > tc.max {
			t.Errorf("MaxHeaders %d: kept %d lines", tc.max, len(m.Headers))
		}
	}
	// The default is 128 lines.
	edits = edits[:0]
	for i := 0; i < DefaultMaxHeaders; i++ {
		edits = append(edits, fmt.Sprintf("+X-%d: v", i))
	}
	var m Message
	wantErr(t, "default MaxHeaders", m.Parse(options("sip:example.com", edits...)), ErrTooManyHeaders)
}

func TestParseLimits(t *testing.T) {
	b := options("sip:example.com", "+X-Pad: "+strings.Repeat("p", 200))
	hl := strings.Index(string(b), "\r\n\r\n") + 4
	body := strings.Repeat("b", 100)
	withBody := build("OPTIONS sip:example.com SIP/2.0", []string{"+X-Pad: " + strings.Repeat("p", 200), "Content-Length: 100"}, body)
	tests := []struct {
		name string
		lim  Limits
		msg  []byte
		err  error
	}{
		{"header fits exactly", Limits{MaxHeaderBytes: hl}, b, nil},
		{"header one byte over", Limits{MaxHeaderBytes: hl - 1}, b, ErrHeaderTooLarge},
		{"header far over", Limits{MaxHeaderBytes: 64}, b, ErrHeaderTooLarge},
		{"message fits exactly", Limits{MaxMessageBytes: len(withBody)}, withBody, nil},
		{"message one byte over", Limits{MaxMessageBytes: len(withBody) - 1}, withBody, ErrMessageTooLarge},
		{"default header limit", Limits{}, options("sip:example.com", "+X-Pad: "+strings.Repeat("p", DefaultMaxHeaderBytes)), ErrHeaderTooLarge},
		{"default message limit", Limits{}, build("OPTIONS sip:example.com SIP/2.0", []string{"Content-Length: 65536"}, strings.Repeat("b", 65536)), ErrMessageTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := Message{Limits: tc.lim}
			err := m.Parse(tc.msg)
			wantErr(t, "Parse", err, tc.err)
			if pe, ok := err.(*ParseError); ok && pe.Status != 513 {
				t.Errorf("Status %d, want 513", pe.Status)
			}
		})
	}
}

func TestLimitsValidate(t *testing.T) {
	for _, tc := range []struct {
		lim Limits
		ok  bool
	}{
		{Limits{}, true},
		{Limits{MaxHeaderBytes: 1024, MaxMessageBytes: 1024}, true},
		{Limits{MaxHeaderBytes: 2048, MaxMessageBytes: 1024}, false},
		{Limits{MaxHeaderBytes: DefaultMaxMessageBytes + 1}, false},
		{Limits{MaxMessageBytes: 1024}, false}, // the default header limit is larger
		{Limits{MaxMessageBytes: 1<<30 + 1}, false},
		{Limits{MaxMessageBytes: 1 << 30}, true},
		{Limits{MaxHeaderBytes: -1}, false},
		{Limits{MaxMessageBytes: -1}, false},
		{Limits{MaxHeaders: -1}, false},
		{Limits{MaxValues: -1}, false},
		{Limits{MaxSkipBytes: -1}, false},
	} {
		err := tc.lim.Validate()
		if (err == nil) != tc.ok || (err != nil && err != ErrBadLimits) {
			t.Errorf("%+v.Validate() = %v, want ok %v", tc.lim, err, tc.ok)
		}
	}
}

func TestErrorText(t *testing.T) {
	var m Message
	err := m.Parse(options("sip:example.com", "Via: SIP/2.0/UDP"))
	if err == nil || !strings.HasPrefix(err.Error(), "sipparse: ") || !strings.Contains(err.Error(), "(Via)") {
		t.Errorf("error text %q", err)
	}
	fe := &FrameError{Err: ErrNotSIP, Off: 3, Fatal: true}
	if s := fe.Error(); !strings.HasPrefix(s, "sipparse: ") || !strings.Contains(s, "offset 3") || !strings.Contains(s, "cannot continue") {
		t.Errorf("frame error text %q", s)
	}
}
