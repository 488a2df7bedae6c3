package sipparse

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/sipcm/sipcm/internal/corpus"
)

// Defects found while writing the extra tests. Each test fails until the
// parser is fixed; see the comment on each for the proposed fix.

// TestBugDetachAddsEmptyReceived: Detach and CopyTo turn a nil source
// address into an empty, non-nil one (own[len(buf):]), so AppendResponse
// then believes SetSource was called and writes ";received=" with no value
// and ";rport=0" when rport is present, which is not a valid Via.
//
// Fix: in Detach and CopyTo keep srcHost nil when it was nil, or test
// len(m.srcHost) > 0 in AppendResponse.
func TestBugDetachAddsEmptyReceived(t *testing.T) {
	msg, _ := corpus.Lookup(corpus.RegisterCompact) // its Via has rport
	var m Message
	if err := m.Parse(msg.Bytes); err != nil {
		t.Fatal(err)
	}
	want := AppendResponse(nil, &m, 200, "OK", []byte("x"))

	var cp Message
	m.CopyTo(&cp)
	if got := AppendResponse(nil, &cp, 200, "OK", []byte("x")); !bytes.Equal(got, want) {
		t.Errorf("after CopyTo without SetSource the response changes:\n%s\nwant\n%s", got, want)
	}
	m.Detach()
	if got := AppendResponse(nil, &m, 200, "OK", []byte("x")); !bytes.Equal(got, want) {
		t.Errorf("after Detach without SetSource the response changes:\n%s\nwant\n%s", got, want)
	}
}

// TestBugEmptyAddrURI: "From: <>" (and To) pass Parse and ParseAddrs,
// because ParseAddrs skips From and To when URI.Raw is empty; name-addr
// requires an addr-spec (RFC 3261 §25.1), and the same "<>" in Contact is
// refused.
//
// Fix: in ParseAddrs skip only when the Addr was never scanned (for example
// test a.Raw.Empty() instead of a.URI.Raw.Empty()), so parseAddrURI refuses
// the empty URI.
func TestBugEmptyAddrURI(t *testing.T) {
	for _, v := range []string{"From: <>;tag=1", "To: <>", "From: Alice <>;tag=1"} {
		var m Message
		if err := m.Parse(options("sip:b@example.com", v)); err != nil {
			continue // refused by Parse: fine too
		}
		if err := m.ParseAddrs(); err == nil {
			t.Errorf("%q: accepted with an empty URI", v)
		}
	}
	var m Message
	if err := m.Parse(options("sip:b@example.com", "+Contact: <>")); err != nil {
		t.Fatal(err)
	}
	if m.ParseAddrs() == nil {
		t.Error("Contact: <> accepted")
	}
}

// TestBugFramerFoldAfterContentLengthUnbounded: after a header line that
// starts with 'l' or 'c' (a possible Content-Length), the Framer waits for
// the next line to begin, to see whether the value is folded, and its two
// ErrNeedMore returns in that loop skip the MaxHeaderBytes check. A peer
// that sends "C: 1\r\n" and then folded continuation lines (or one without
// an LF) is buffered without bound, and each read rescans the line: found
// by FuzzFrame (testdata/fuzz/FuzzFrame/45a0cc8e4e3917da).
//
// Fix: in Framer.header, before each "f.scanned = pos; return 0,
// ErrNeedMore" inside the Content-Length fold loop, return
// f.fatal(ErrHeaderTooLarge, lim.MaxHeaderBytes) when len(buf) >
// lim.MaxHeaderBytes (or check end+1 > lim.MaxHeaderBytes in the loop).
func TestBugFramerFoldAfterContentLengthUnbounded(t *testing.T) {
	lim := Limits{MaxHeaderBytes: 300, MaxMessageBytes: 600}
	for _, tc := range []struct {
		name   string
		stream string
	}{
		{"fold without LF", "OPTIONS sip:a SIP/2.0\r\nC: 1\r\n " + strings.Repeat("x", 2000)},
		{"many folds", "OPTIONS sip:a SIP/2.0\r\nContent-Length: 1\r\n" + strings.Repeat(" 1\r\n", 500)},
		{"line ends at the buffer end", strings.Repeat("0", 39) + " SIP/" + strings.Repeat("0", 200) + "\nC" + strings.Repeat("0", 67) + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := []byte(tc.stream)
			whole := Framer{Limits: lim}
			if _, _, err := whole.Next(b); !errors.Is(err, ErrHeaderTooLarge) {
				t.Errorf("all %d bytes at once: %v", len(b), err)
			}
			f := Framer{Limits: lim}
			for i := 1; i <= len(b); i++ {
				_, _, err := f.Next(b[:i])
				if err != ErrNeedMore {
					if !errors.Is(err, ErrHeaderTooLarge) {
						t.Fatalf("%d bytes: %v", i, err)
					}
					return
				}
				if i > lim.MaxHeaderBytes {
					t.Fatalf("waiting with %d bytes buffered, MaxHeaderBytes %d", i, lim.MaxHeaderBytes)
				}
			}
			t.Fatalf("still waiting after %d bytes", len(b))
		})
	}
}
