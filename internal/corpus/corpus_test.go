package corpus

import (
	"bytes"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// header is one header field of a message as the checker below sees it.
type header struct {
	name    string // canonical long form, lower case
	compact bool   // written in compact form
	value   string // trimmed
}

// compactForms maps the RFC 3261 §7.3.3 (and registry) compact forms used in
// the corpus to their long names.
var compactForms = map[string]string{
	"i": "call-id", "m": "contact", "e": "content-encoding",
	"l": "content-length", "c": "content-type", "f": "from",
	"s": "subject", "k": "supported", "t": "to", "v": "via",
	"u": "allow-events", "o": "event", "r": "refer-to", "b": "referred-by",
	"x": "session-expires", "a": "accept-contact", "y": "identity",
}

// split checks the framing of msg (CRLF lines, empty line, token names) and
// returns its start line, header fields and body.
func split(t *testing.T, msg []byte) (start string, hdrs []header, body []byte) {
	t.Helper()
	i := bytes.Index(msg, []byte("\r\n\r\n"))
	if i < 0 {
		t.Fatal("no empty line ends the header section")
	}
	head, body := string(msg[:i+2]), msg[i+4:]
	lines := strings.SplitAfter(head, "\r\n")
	lines = lines[:len(lines)-1] // SplitAfter leaves "" after the last CRLF
	for _, l := range lines {
		if !strings.HasSuffix(l, "\r\n") || strings.ContainsAny(l[:len(l)-2], "\r\n") {
			t.Fatalf("line %q is not terminated by exactly one CRLF", l)
		}
	}
	start = strings.TrimSuffix(lines[0], "\r\n")
	for _, l := range lines[1:] {
		l = strings.TrimSuffix(l, "\r\n")
		if l[0] == ' ' || l[0] == '\t' {
			t.Fatalf("folded line %q: the corpus uses none", l)
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok || name == "" || !isToken(name) {
			t.Fatalf("header line %q has no token name before ':'", l)
		}
		h := header{name: strings.ToLower(name), value: strings.Trim(value, " \t")}
		if long, ok := compactForms[h.name]; ok {
			h.name, h.compact = long, true
		}
		hdrs = append(hdrs, h)
	}
	return start, hdrs, body
}

// isToken reports whether s is an RFC 3261 token.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-.!%*_+`'~", c) >= 0:
		default:
			return false
		}
	}
	return s != ""
}

func values(hdrs []header, name string) []header {
	var out []header
	for _, h := range hdrs {
		if h.name == name {
			out = append(out, h)
		}
	}
	return out
}

func TestMessagesValid(t *testing.T) {
	sizes := map[string][2]int{ // inclusive byte-size range of each message
		Options:         {440, 460},
		Invite:          {850, 950},
		OK3Via:          {600, 1000},
		RegisterCompact: {350, 600},
		Big4K:           {3968, 4224},
	}
	for _, m := range Messages() {
		t.Run(m.Name, func(t *testing.T) {
			r, ok := sizes[m.Name]
			if !ok {
				t.Fatal("no size range for this message")
			}
			if n := len(m.Bytes); n < r[0] || n > r[1] {
				t.Errorf("size %d bytes, want %d..%d", n, r[0], r[1])
			}
			start, hdrs, body := split(t, m.Bytes)

			// Start line: Request-Line or Status-Line, SIP/2.0, single SPs.
			parts := strings.SplitN(start, " ", 3)
			if len(parts) != 3 {
				t.Fatalf("start line %q has fewer than three parts", start)
			}
			request := parts[0] != "SIP/2.0"
			var method string
			if request {
				method = parts[0]
				if !isToken(method) || strings.ContainsAny(parts[1], " \t") || parts[2] != "SIP/2.0" {
					t.Errorf("bad Request-Line %q", start)
				}
			} else if code, err := strconv.Atoi(parts[1]); err != nil || len(parts[1]) != 3 || code < 100 || code > 699 {
				t.Errorf("bad Status-Line %q", start)
			}

			// Content-Length: exactly one, equal to the body length.
			cl := values(hdrs, "content-length")
			if len(cl) != 1 {
				t.Fatalf("%d Content-Length fields, want 1", len(cl))
			}
			if n, err := strconv.Atoi(cl[0].value); err != nil || n != len(body) {
				t.Errorf("Content-Length %q, body is %d bytes", cl[0].value, len(body))
			}
			if len(body) > 0 && len(values(hdrs, "content-type")) != 1 {
				t.Error("body without exactly one Content-Type")
			}
			if len(body) > 0 && !bytes.HasSuffix(body, []byte("\r\n")) {
				t.Error("body does not end in CRLF")
			}

			// Mandatory header fields (RFC 3261 §8.1.1).
			for _, name := range []string{"to", "from", "call-id", "cseq"} {
				if n := len(values(hdrs, name)); n != 1 {
					t.Errorf("%d %s fields, want 1", n, name)
				}
			}
			vias := values(hdrs, "via")
			if len(vias) == 0 {
				t.Fatal("no Via")
			}
			top, _, _ := strings.Cut(vias[0].value, ",")
			if !strings.HasPrefix(top, "SIP/2.0/") || !strings.Contains(top, ";branch=z9hG4bK") {
				t.Errorf("top Via %q lacks SIP/2.0 or an RFC 3261 branch", top)
			}
			if len(values(hdrs, "from")) == 1 && !strings.Contains(values(hdrs, "from")[0].value, ";tag=") {
				t.Error("From has no tag")
			}
			cseq := strings.Fields(values(hdrs, "cseq")[0].value)
			if len(cseq) != 2 {
				t.Fatalf("CSeq %v is not number and method", cseq)
			}
			if _, err := strconv.ParseUint(cseq[0], 10, 31); err != nil {
				t.Errorf("CSeq number %q: %v", cseq[0], err)
			}
			if request {
				if cseq[1] != method {
					t.Errorf("CSeq method %q, Request-Line method %q", cseq[1], method)
				}
				if n := len(values(hdrs, "max-forwards")); n != 1 {
					t.Errorf("%d Max-Forwards fields, want 1", n)
				}
			} else if !strings.Contains(values(hdrs, "to")[0].value, ";tag=") {
				t.Error("response To has no tag")
			}
		})
	}
}

func TestRegisterCompactUsesCompactForms(t *testing.T) {
	m, ok := Lookup(RegisterCompact)
	if !ok {
		t.Fatal("no register-compact")
	}
	_, hdrs, _ := split(t, m.Bytes)
	for _, name := range []string{"via", "to", "from", "call-id", "contact", "supported", "allow-events", "content-length"} {
		hs := values(hdrs, name)
		if len(hs) == 0 {
			t.Errorf("no %s field", name)
		}
		for _, h := range hs {
			if !h.compact {
				t.Errorf("%s written in long form", name)
			}
		}
	}
}

func TestBig4KHasManyHeaders(t *testing.T) {
	m, _ := Lookup(Big4K)
	_, hdrs, _ := split(t, m.Bytes)
	if len(hdrs) < 40 {
		t.Errorf("%d header fields, want at least 40", len(hdrs))
	}
	for _, name := range []string{"route", "record-route", "p-asserted-identity", "supported", "allow", "via"} {
		if len(values(hdrs, name)) == 0 {
			t.Errorf("no %s field", name)
		}
	}
	if n := len(values(hdrs, "route")); n < 2 {
		t.Errorf("%d Route fields, want a Route set of at least 2", n)
	}
}

func TestOK3Via(t *testing.T) {
	m, _ := Lookup(OK3Via)
	_, hdrs, _ := split(t, m.Bytes)
	if n := len(values(hdrs, "via")); n != 3 {
		t.Errorf("%d Via fields, want 3", n)
	}
	if n := len(values(hdrs, "record-route")); n == 0 {
		t.Error("no Record-Route")
	}
}

// TestEmbedded checks that the embedded files are exactly the named messages,
// so no file is forgotten and no name lacks a file.
func TestEmbedded(t *testing.T) {
	got, err := fs.Glob(files, "testdata/*.sip")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, n := range Names() {
		want = append(want, "testdata/"+n+".sip")
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("embedded %v, want %v", got, want)
	}
}

func TestMessagesAreCopies(t *testing.T) {
	a := Messages()
	a[0].Bytes[0] = 'X'
	a[0].Name = "changed"
	b := Messages()
	if b[0].Bytes[0] == 'X' || b[0].Name == "changed" {
		t.Error("Messages shares state between calls")
	}
	if m, _ := Lookup(b[0].Name); !bytes.Equal(m.Bytes, b[0].Bytes) {
		t.Error("Lookup and Messages disagree")
	}
	if _, ok := Lookup("nonexistent"); ok {
		t.Error("Lookup found a message that does not exist")
	}
}
