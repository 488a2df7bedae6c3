package sipparse

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sipcm/sipcm/internal/corpus"
)

// TestTier2Idempotent calls each tier-2 method twice and ParseAll after
// them: the results and the lists do not change.
func TestTier2Idempotent(t *testing.T) {
	for _, msg := range corpus.Messages() {
		t.Run(msg.Name, func(t *testing.T) {
			var m Message
			if err := m.Parse(msg.Bytes); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				if err := m.ParseURI(); err != nil {
					t.Fatal(err)
				}
				if err := m.ParseVias(); err != nil {
					t.Fatal(err)
				}
				if err := m.ParseAddrs(); err != nil {
					t.Fatal(err)
				}
			}
			vias, contacts, routes, rrs := len(m.Vias), len(m.Contacts), len(m.Routes), len(m.RecordRoutes)
			ruri := m.RequestURI
			for i := 0; i < 2; i++ {
				if err := m.ParseAll(); err != nil {
					t.Fatal(err)
				}
			}
			if len(m.Vias) != vias || len(m.Contacts) != contacts || len(m.Routes) != routes || len(m.RecordRoutes) != rrs || m.RequestURI != ruri {
				t.Errorf("ParseAll after the tier-2 methods changed the lists")
			}
			if s := checkAccepted(&m); s != "" {
				t.Error(s)
			}
			// A new Parse forgets the tier-2 results.
			if err := m.Parse(msg.Bytes); err != nil {
				t.Fatal(err)
			}
			if len(m.Vias) != 1 || len(m.Contacts) != 0 || len(m.Routes) != 0 || len(m.RecordRoutes) != 0 {
				t.Errorf("after a new Parse: %d Vias %d Contacts", len(m.Vias), len(m.Contacts))
			}
			if m.Request && m.RequestURI.Scheme != SchemeOther {
				t.Errorf("after a new Parse the Request-URI is still parsed")
			}
		})
	}
}

// TestTier2Errors checks that a tier-2 error is a *ParseError, that it is
// returned again by every later tier-2 call, and that ParseAll returns the
// first one.
func TestTier2Errors(t *testing.T) {
	b := options("sip:a@example.com?h=v", "Via: SIP/2.0/UDP h;branch=1, bad", "+Contact: <sip:x@example.com")
	var m Message
	if err := m.Parse(b); err != nil {
		t.Fatal(err)
	}
	err1 := m.ParseURI()
	wantErr(t, "ParseURI", err1, ErrBadRequestURI)
	if err := m.ParseVias(); !errors.Is(err, ErrBadRequestURI) {
		t.Errorf("ParseVias after a failed ParseURI = %v, want the first error", err)
	}
	if err := m.ParseAll(); !errors.Is(err, ErrBadRequestURI) {
		t.Errorf("ParseAll = %v, want the first error", err)
	}
	if err := m.ParseURI(); err != err1 {
		t.Errorf("ParseURI again = %v", err)
	}

	// ParseAll stops at nothing: every part is tried, the first error kept.
	if err := m.Parse(b); err != nil {
		t.Fatal(err)
	}
	err := m.ParseAll()
	wantErr(t, "ParseAll", err, ErrBadRequestURI)
	if pe := err.(*ParseError); pe.Status != 400 || pe.Header != HdrOther {
		t.Errorf("ParseAll error %+v", pe)
	}
	if len(m.Vias) != 1 {
		t.Errorf("%d Vias", len(m.Vias))
	}

	// A response has no Request-URI to parse.
	resp := mustParse(t, build("SIP/2.0 200 OK", []string{"CSeq: 1 INVITE"}, ""))
	if resp.RequestURI.Raw.Len != 0 {
		t.Errorf("response with a Request-URI")
	}
	// A new Parse clears the tier-2 error.
	if err := m.Parse(options("sip:a@example.com")); err != nil {
		t.Fatal(err)
	}
	if err := m.ParseAll(); err != nil {
		t.Errorf("ParseAll after a new Parse = %v", err)
	}
}

// TestMessageReuse parses different messages with one Message: nothing of
// an earlier one leaks into a later one.
func TestMessageReuse(t *testing.T) {
	var m Message
	msgs := corpus.Messages()
	big, _ := corpus.Lookup(corpus.Big4K)
	for round := 0; round < 2; round++ {
		for _, msg := range append(msgs, big) {
			if err := m.Parse(msg.Bytes); err != nil {
				t.Fatal(err)
			}
			if err := m.ParseAll(); err != nil {
				t.Fatal(err)
			}
			var fresh Message
			if err := fresh.Parse(msg.Bytes); err != nil {
				t.Fatal(err)
			}
			if err := fresh.ParseAll(); err != nil {
				t.Fatal(err)
			}
			if !sameMessage(&m, &fresh) {
				t.Errorf("%s: a reused Message differs from a fresh one", msg.Name)
			}
		}
		// a failure in between
		if m.Parse([]byte("garbage\r\n\r\n")) == nil {
			t.Fatal("garbage parsed")
		}
	}
}

// sameMessage compares the exported fields of two messages parsed from
// equal bytes.
func sameMessage(a, b *Message) bool {
	eq := func(x, y []Addr) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if len(a.Headers) != len(b.Headers) || len(a.Vias) != len(b.Vias) {
		return false
	}
	for i := range a.Headers {
		if a.Headers[i] != b.Headers[i] {
			return false
		}
	}
	for i := range a.Vias {
		if a.Vias[i] != b.Vias[i] {
			return false
		}
	}
	return a.Request == b.Request && a.Method == b.Method && a.MethodName == b.MethodName &&
		a.RequestURI == b.RequestURI && a.StatusCode == b.StatusCode && a.Reason == b.Reason &&
		a.StartLine == b.StartLine && a.From == b.From && a.To == b.To && a.CallID == b.CallID &&
		a.CSeq == b.CSeq && a.MaxForwards == b.MaxForwards && a.ContentLen == b.ContentLen &&
		a.ContentType == b.ContentType && a.Expires == b.Expires && a.Body == b.Body &&
		a.HeaderLen == b.HeaderLen && eq(a.Contacts, b.Contacts) && eq(a.Routes, b.Routes) &&
		eq(a.RecordRoutes, b.RecordRoutes) && bytes.Equal(a.Buf(), b.Buf())
}

func TestCopyTo(t *testing.T) {
	for _, msg := range corpus.Messages() {
		t.Run(msg.Name, func(t *testing.T) {
			buf := append([]byte(nil), msg.Bytes...)
			var m Message
			if err := m.Parse(buf); err != nil {
				t.Fatal(err)
			}
			if err := m.ParseAll(); err != nil {
				t.Fatal(err)
			}
			m.SetSource([]byte("198.51.100.1"), 5070)
			var want Message
			if err := want.Parse(msg.Bytes); err != nil {
				t.Fatal(err)
			}
			if err := want.ParseAll(); err != nil {
				t.Fatal(err)
			}
			wantResp := AppendResponse(nil, &m, 200, "OK", []byte("tt"))

			var dst Message
			m.CopyTo(&dst)
			for i := range buf {
				buf[i] = 'x' // the source buffer is reused
			}
			if !sameMessage(&dst, &want) {
				t.Fatal("the copy differs from the original")
			}
			if str(&dst, dst.CallID) != str(&want, want.CallID) {
				t.Errorf("Call-ID %q", str(&dst, dst.CallID))
			}
			if got := AppendResponse(nil, &dst, 200, "OK", []byte("tt")); !bytes.Equal(got, wantResp) {
				t.Errorf("response from the copy (source kept):\n%s\nwant\n%s", got, wantResp)
			}
			// The copy is independent of later parsing into the source.
			if err := m.Parse(msg.Bytes); err != nil {
				t.Fatal(err)
			}
			if !sameMessage(&dst, &want) {
				t.Fatal("the copy changed when the source Message was reused")
			}
			// Parsing into the copy uses header-line scratch of its own:
			// the two Messages may be parsed on two goroutines.
			var other Message
			if err := other.Parse(msg.Bytes); err != nil {
				t.Fatal(err)
			}
			other.CopyTo(&dst)
			if err := dst.Parse(msg.Bytes); err != nil {
				t.Fatal(err)
			}
			if len(dst.lines) == 0 || len(other.lines) == 0 || &dst.lines[0] == &other.lines[0] {
				t.Error("the copy shares the source's header-line scratch")
			}

			// At steady state CopyTo allocates nothing.
			m2 := want
			if n := testing.AllocsPerRun(50, func() { m2.CopyTo(&dst) }); n != 0 {
				t.Errorf("CopyTo into a used Message allocates %v times", n)
			}
			var fresh Message
			if n := testing.AllocsPerRun(1, func() { fresh = Message{}; m2.CopyTo(&fresh) }); n > 6 {
				t.Errorf("CopyTo into a new Message allocates %v times, want at most one per slice", n)
			}
		})
	}
}

func TestDetach(t *testing.T) {
	for _, msg := range corpus.Messages() {
		t.Run(msg.Name, func(t *testing.T) {
			buf := append([]byte(nil), msg.Bytes...)
			var m Message
			if err := m.Parse(buf); err != nil {
				t.Fatal(err)
			}
			if err := m.ParseAll(); err != nil {
				t.Fatal(err)
			}
			var want Message
			if err := want.Parse(msg.Bytes); err != nil {
				t.Fatal(err)
			}
			if err := want.ParseAll(); err != nil {
				t.Fatal(err)
			}
			m.Detach()
			for i := range buf {
				buf[i] = 0
			}
			if !sameMessage(&m, &want) {
				t.Fatal("the detached message changed with its old buffer")
			}
			if &m.Buf()[0] == &buf[0] {
				t.Fatal("Detach kept the buffer")
			}
			if n := testing.AllocsPerRun(100, m.Detach); n != 1 {
				t.Errorf("Detach allocates %v times, want 1", n)
			}
			m.SetSource([]byte("192.0.2.50"), 1)
			if n := testing.AllocsPerRun(100, m.Detach); n != 1 {
				t.Errorf("Detach with a source allocates %v times, want 1", n)
			}
		})
	}
	// The source address set before Detach is copied too.
	host := []byte("192.0.2.77")
	msg, _ := corpus.Lookup(corpus.Options)
	var m Message
	if err := m.Parse(msg.Bytes); err != nil {
		t.Fatal(err)
	}
	m.SetSource(host, 5099)
	m.Detach()
	copy(host, "xxxxxxxxxx")
	out := AppendResponse(nil, &m, 200, "OK", nil)
	if !bytes.Contains(out, []byte(";received=192.0.2.77")) {
		t.Errorf("source lost by Detach:\n%s", out)
	}
}
