package sipparse

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/sipcm/sipcm/internal/corpus"
	"github.com/sipcm/sipcm/internal/sipgoref"
)

// Native fuzz targets. fuzz/run.sh runs them for a long time; plain go test
// runs their seeds and any failing input kept under testdata/fuzz.

// fuzzSeeds returns the corpus messages and every RFC 4475 file, in a fixed
// order.
func fuzzSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, m := range corpus.Messages() {
		seeds = append(seeds, m.Bytes)
	}
	files := readRFC4475(f)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		seeds = append(seeds, files[name])
	}
	return seeds
}

// wideLimits lets Parse accept what the writers produce from a message that
// was just under the default limits.
var wideLimits = Limits{MaxHeaderBytes: 1 << 20, MaxMessageBytes: 1 << 20, MaxHeaders: 1 << 16, MaxValues: 1 << 16}

var (
	fuzzHost = []byte("192.0.2.254")
	fuzzTag  = []byte("fz1")
)

const fuzzPort = 5099

// FuzzParse: Parse never panics; an accepted message has every view within
// its buffer and the body Content-Length says; the second tier never panics
// and keeps the views within bounds; the writers never panic, and what they
// write from an accepted request parses again with the same values.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte("OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h;rport\r\nFrom: <sip:a>;tag=1\r\nTo: <sip:b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Message
		err := m.Parse(data)
		if s := checkSpans(&m); s != "" {
			t.Fatalf("after Parse (err %v): %s", err, s)
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Err == nil || pe.Off < 0 || pe.Off > len(data) {
				t.Fatalf("Parse error %#v", err)
			}
			if m.Answerable() {
				// The engine answers refused requests.
				m.SetSource(fuzzHost, fuzzPort)
				out := AppendResponse(nil, &m, pe.Status, "Bad Request", fuzzTag)
				if !bytes.HasPrefix(out, []byte("SIP/2.0 "+strconv.Itoa(pe.Status)+" ")) ||
					!bytes.HasSuffix(out, []byte("\r\nContent-Length: 0\r\n\r\n")) {
					t.Fatalf("response to a refused request:\n%q", out)
				}
			}
			return
		}
		if s := checkAccepted(&m); s != "" {
			t.Fatal(s)
		}
		err1 := m.ParseAll()
		if err2 := m.ParseAll(); err1 != err2 {
			t.Fatalf("ParseAll not idempotent: %v then %v", err1, err2)
		}
		if s := checkAccepted(&m); s != "" {
			t.Fatalf("after ParseAll (err %v): %s", err1, s)
		}
		if !m.Request {
			return
		}
		// Parse again: ParseAll may have replaced the top Via by the one
		// ParseVias parsed; the writers must work on both.
		for round := 0; round < 2; round++ {
			if round == 1 {
				if err := m.Parse(data); err != nil {
					t.Fatal(err)
				}
			}
			checkWriters(t, &m, data)
		}
	})
}

// checkWriters runs AppendResponse and AppendForward on the accepted request
// m and parses what they write.
func checkWriters(t *testing.T, m *Message, data []byte) {
	t.Helper()
	m.SetSource(fuzzHost, fuzzPort)
	if m.Method != MethodAck {
		out := AppendResponse(nil, m, 200, "OK", fuzzTag)
		resp := Message{Limits: wideLimits}
		if err := resp.Parse(out); err != nil {
			t.Fatalf("response does not parse: %v\n%q", err, out)
		}
		if !bytes.Equal(resp.CallID.Bytes(out), m.CallID.Bytes(data)) || resp.CSeq != (CSeq{
			Num: m.CSeq.Num, Method: m.CSeq.Method, MethodName: resp.CSeq.MethodName,
		}) || !bytes.Equal(resp.CSeq.MethodName.Bytes(out), m.CSeq.MethodName.Bytes(data)) {
			t.Fatalf("response Call-ID or CSeq differ:\n%q", out)
		}
		if !bytes.Equal(resp.Vias[0].Branch.Bytes(out), m.Vias[0].Branch.Bytes(data)) {
			t.Fatalf("response top branch %q, want %q", resp.Vias[0].Branch.Bytes(out), m.Vias[0].Branch.Bytes(data))
		}
		if got, want := resp.To.Tag.Bytes(out), m.To.Tag.Bytes(data); len(want) > 0 && !bytes.Equal(got, want) {
			t.Fatalf("response To tag %q, want %q", got, want)
		}
		if _, has := LookupParam(data, m.To.Params, "tag"); !has && !bytes.Equal(resp.To.Tag.Bytes(out), fuzzTag) {
			t.Fatalf("response To tag %q, want the new one\n%q", resp.To.Tag.Bytes(out), out)
		}
		checkSource(t, &m.Vias[0], data, &resp.Vias[0], out)
	}

	out := AppendForward(nil, m, fuzzHost, fuzzPort)
	top := m.Vias[0].Raw
	if !bytes.HasPrefix(out, data[:top.Off]) || !bytes.HasSuffix(out, data[top.End():]) {
		t.Fatalf("AppendForward changed bytes outside the top via-parm:\n%q", out)
	}
	fwd := Message{Limits: wideLimits}
	if err := fwd.Parse(out); err != nil {
		t.Fatalf("forwarded request does not parse: %v\n%q", err, out)
	}
	if !bytes.Equal(fwd.Body.Bytes(out), m.Body.Bytes(data)) || fwd.HeaderLen-m.HeaderLen != len(out)-len(data) {
		t.Fatalf("forwarded request body or header changed")
	}
	checkSource(t, &m.Vias[0], data, &fwd.Vias[0], out)
}

// checkSource checks the top via-parm after a writer added the source
// address: received and rport as RFC 3261 §18.2.1 and RFC 3581 §4 say,
// every other parameter kept.
func checkSource(t *testing.T, in *Via, data []byte, out *Via, obuf []byte) {
	t.Helper()
	if !bytes.Equal(in.Host.Bytes(data), out.Host.Bytes(obuf)) || in.Port != out.Port ||
		!bytes.Equal(in.Transport.Bytes(data), out.Transport.Bytes(obuf)) {
		t.Fatalf("sent-by changed: %q -> %q", in.Raw.Bytes(data), out.Raw.Bytes(obuf))
	}
	needReceived := in.HasRPort || !bytes.Equal(stripBrackets(in.Host.Bytes(data)), fuzzHost)
	if needReceived && !bytes.Equal(out.Received.Bytes(obuf), fuzzHost) {
		t.Fatalf("received = %q, want %s: %q -> %q", out.Received.Bytes(obuf), fuzzHost, in.Raw.Bytes(data), out.Raw.Bytes(obuf))
	}
	if in.HasRPort && in.RPort.Empty() && string(out.RPort.Bytes(obuf)) != strconv.Itoa(fuzzPort) {
		t.Fatalf("rport = %q: %q -> %q", out.RPort.Bytes(obuf), in.Raw.Bytes(data), out.Raw.Bytes(obuf))
	}
	if !in.HasRPort && out.HasRPort {
		t.Fatalf("rport added: %q -> %q", in.Raw.Bytes(data), out.Raw.Bytes(obuf))
	}
	others := func(b []byte, v *Via) string {
		var ps []string
		if !v.Params.Empty() {
			for j, pe := int(v.Params.Off)-1, v.Params.End(); j < pe && b[j] == ';'; {
				name, value, next, err := nextParam(b, j, pe)
				if err != nil {
					return "unparsable"
				}
				n := strings.ToLower(string(name.Bytes(b)))
				if n != "received" && n != "rport" {
					ps = append(ps, n+"="+string(value.Bytes(b)))
				}
				j = skipLWS(b, next, pe)
			}
		}
		sort.Strings(ps)
		return strings.Join(ps, ";")
	}
	if a, b := others(data, in), others(obuf, out); a != b {
		t.Fatalf("other Via parameters changed: %q -> %q", a, b)
	}
}

// framePool returns the messages a fuzzed stream is made of: the corpus and
// the RFC 4475 messages that Parse accepts and a Framer frames whole.
func framePool(f *testing.F) [][]byte {
	var pool [][]byte
	for _, b := range fuzzSeeds(f) {
		var m Message
		var fr Framer
		if m.Parse(b) != nil {
			continue
		}
		if n, kind, err := fr.Next(b); err == nil && kind == FrameMessage && n == len(b) {
			pool = append(pool, b)
		}
	}
	if len(pool) < 20 {
		f.Fatalf("only %d messages to build streams from", len(pool))
	}
	return pool
}

// fuzzLimits are small, so that arbitrary input reaches every limit.
var fuzzLimits = Limits{MaxHeaderBytes: 300, MaxMessageBytes: 600, MaxSkipBytes: 1200}

// FuzzFrame: (1) a stream of valid messages, pings and CRLFs chosen by sel
// and cut into the reads chosen by cuts yields exactly the frames it was
// built from; (2) arbitrary bytes, cut the same way, never make Next panic,
// report more than it was given or wait for more than the limits, give the
// same frames as uncut, and every framed message that parses has the length
// its Content-Length says.
func FuzzFrame(f *testing.F) {
	pool := framePool(f)
	seeds := fuzzSeeds(f)
	for i, s := range seeds {
		f.Add([]byte{byte(i), byte(i * 7), 255, byte(i + 3)}, []byte{byte(i), 1, 0, 200}, s)
	}
	f.Add([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09"), []byte{}, []byte("\r\n\r\n\r\n"))
	f.Add([]byte{}, []byte{0}, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Fuzz(func(t *testing.T, sel, cuts, junk []byte) {
		// (1) valid stream
		if len(sel) > 64 {
			sel = sel[:64]
		}
		var parts []string
		for i, b := range sel {
			switch k := int(b) % (len(pool) + 2); {
			case k < len(pool):
				parts = append(parts, string(pool[k]))
			case k == len(pool):
				parts = append(parts, "\r\n\r\n")
			default: // a CRLF, then a message so it is not half a ping
				parts = append(parts, "\r\n", string(pool[i%len(pool)]))
			}
		}
		stream, want := streamOf(parts...)
		c := &conn{t: t, stream: stream}
		deliverCuts(c, cuts)
		if c.err != nil {
			t.Fatalf("valid stream: %v", c.err)
		}
		if len(c.frames) != len(want) {
			t.Fatalf("valid stream: %d frames, want %d", len(c.frames), len(want))
		}
		for i := range want {
			if c.frames[i] != want[i] {
				t.Fatalf("valid stream: frame %d is %v, want %v", i, c.frames[i], want[i])
			}
		}

		// (2) arbitrary bytes
		whole := &conn{t: t, stream: junk}
		whole.f.Limits = fuzzLimits
		whole.deliver(len(junk))
		checkWaiting(t, whole)
		cut := &conn{t: t, stream: junk}
		cut.f.Limits = fuzzLimits
		deliverCuts(cut, cuts)
		checkWaiting(t, cut)
		// The body of a refused message is skipped in whatever pieces
		// arrive, so adjacent skips are compared joined.
		if fmt.Sprint(joinSkips(whole.frames)) != fmt.Sprint(joinSkips(cut.frames)) || (whole.err == nil) != (cut.err == nil) {
			t.Fatalf("cuts change the framing:\nwhole %v %v\ncut   %v %v", whole.frames, whole.err, cut.frames, cut.err)
		}
		for _, fr := range whole.frames {
			if fr.kind != FrameMessage {
				continue
			}
			var m Message
			if m.Parse([]byte(fr.b)) == nil && m.HeaderLen+m.ContentLen != len(fr.b) {
				t.Fatalf("framed %d bytes; Parse says header %d + Content-Length %d\n%q", len(fr.b), m.HeaderLen, m.ContentLen, fr.b)
			}
		}
	})
}

// joinSkips returns frames with each run of FrameSkip frames joined into one.
func joinSkips(frames []frame) []frame {
	var out []frame
	for _, fr := range frames {
		if n := len(out); n > 0 && fr.kind == FrameSkip && out[n-1].kind == FrameSkip {
			out[n-1].b += fr.b
			continue
		}
		out = append(out, fr)
	}
	return out
}

// deliverCuts delivers c.stream in reads whose sizes come from cuts (cycled),
// or at once when cuts is empty.
func deliverCuts(c *conn, cuts []byte) {
	if len(cuts) == 0 {
		c.deliver(len(c.stream))
		return
	}
	for sent, i := 0, 0; sent < len(c.stream) && c.err == nil; i++ {
		b := int(cuts[i%len(cuts)])
		n := min(1+b*b/16, len(c.stream)-sent) // 1 to 4065 bytes, small ones likelier
		c.deliver(n)
		sent += n
	}
}

// checkWaiting checks that a Framer waiting for more bytes holds no more
// than its limits allow.
func checkWaiting(t *testing.T, c *conn) {
	t.Helper()
	if c.err != nil {
		var fe *FrameError
		if !errors.As(c.err, &fe) || !fe.Fatal {
			t.Fatalf("stopped on %v", c.err)
		}
		return
	}
	lim := c.f.Limits.withDefaults()
	buf := c.stream[c.start : c.start+c.have]
	if len(buf) > lim.MaxMessageBytes {
		t.Fatalf("waiting with %d bytes buffered, MaxMessageBytes %d", len(buf), lim.MaxMessageBytes)
	}
	// The header section ends at an empty line; the Framer takes an LF
	// alone as a line end there (Parse then refuses the message).
	if !bytes.Contains(buf, []byte("\n\r\n")) && len(buf) > lim.MaxHeaderBytes {
		t.Fatalf("waiting with a %d-byte header section, MaxHeaderBytes %d", len(buf), lim.MaxHeaderBytes)
	}
}

// diffFields extracts the fields sipgoref compares from a message Parse and
// ParseAll accepted (as bench/fields_test.go does).
func diffFields(m *Message) sipgoref.Fields {
	buf := m.Buf()
	f := sipgoref.Fields{
		Request:    m.Request,
		StatusCode: m.StatusCode,
		HasCallID:  true,
		CallID:     string(m.CallID.Bytes(buf)),
		HasCSeq:    true,
		CSeqNum:    m.CSeq.Num,
		CSeqMethod: string(m.CSeq.MethodName.Bytes(buf)),
		ViaCount:   len(m.Vias),
		HasFrom:    true,
		FromTag:    string(m.From.Tag.Bytes(buf)),
		HasTo:      true,
		ToTag:      string(m.To.Tag.Bytes(buf)),
		BodyLen:    int(m.Body.Len),
	}
	if m.Request {
		f.Method = string(m.MethodName.Bytes(buf))
		f.RequestURI = string(m.RequestURI.Raw.Bytes(buf))
	}
	if len(m.Vias) > 0 {
		f.TopBranch = string(m.Vias[0].Branch.Bytes(buf))
	}
	return f
}

// sipgoMisreads reports whether m holds a construct that sipgo v1.7.2 is
// known to parse wrongly, so that FuzzDiff does not report a sipgo defect as
// a disagreement (as sipgoref counts a sipgo panic as a rejection):
//
//   - a quoted-string parameter value in From, To or Via: sipgo splits it
//     at ';' and ',' (";x=\"a;tag=no\"" gives the tag `no"`, and a branch
//     after such a parameter is lost);
//   - a via-parm without parameters followed by another in the same Via
//     line ("SIP/2.0/UDP h, SIP/2.0/UDP k"): sipgo counts one Via.
func sipgoMisreads(m *Message) bool {
	buf := m.Buf()
	quoted := func(s Span) bool { return bytes.IndexByte(s.Bytes(buf), '"') >= 0 }
	if quoted(m.From.Params) || quoted(m.To.Params) {
		return true
	}
	for i := range m.Vias {
		if quoted(m.Vias[i].Params) {
			return true
		}
		// sipgo drops the parameters of "host:port ;branch=..." (white
		// space before the ';', which RFC 3261's SEMI allows).
		if v := &m.Vias[i]; v.Host.End() < len(buf) && buf[v.Host.End()] == ':' && v.Params.Off >= 2 && isLWS(buf[v.Params.Off-2]) {
			return true
		}
		if i+1 < len(m.Vias) && m.Vias[i].Params.Empty() && m.Vias[i+1].Header == m.Vias[i].Header {
			return true
		}
	}
	return false
}

// FuzzDiff: where sipcm (Parse and ParseAll) and sipgo both accept a
// message, they agree on the fields sipgoref.Diff compares, except where
// sipgoMisreads says sipgo is known to be wrong.
func FuzzDiff(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	for _, edits := range [][]string{
		{"Via: SIP / 2.0 / UDP h ; branch = z9hG4bK1 ; rport", "+v: SIP/2.0/TCP g;branch=z9hG4bK2,\r\n SIP/2.0/UDP k;branch=z9hG4bK3"},
		{"-To", "+t: Bob <sip:b@example.com>\r\n ;TAG = up", "CSeq:\r\n 1\r\n OPTIONS"},
		{"From: sip:a@example.com;tag=x", "Content-Length: 3"},
		{"To: <sip:b@example.com>;x=\"a;tag=no\";tag=yes"},
		{"Via: SIP/2.0/UDP h, SIP/2.0/UDP k;branch=z9hG4bK4"},
	} {
		f.Add(build("OPTIONS sip:bob@example.com SIP/2.0", edits, "abcdef"))
	}
	ref := sipgoref.NewParser()
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Message
		if m.Parse(data) != nil || m.ParseAll() != nil || sipgoMisreads(&m) {
			return
		}
		gf, err := ref.Parse(data)
		if err != nil {
			return
		}
		if d := sipgoref.Diff(gf, diffFields(&m)); d != nil {
			t.Fatalf("sipcm and sipgo disagree:\n%s\non %q", strings.Join(d, "\n"), data)
		}
	})
}
