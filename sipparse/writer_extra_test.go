package sipparse

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/sipcm/sipcm/internal/corpus"
)

// parseResponse parses the output of AppendResponse and checks what RFC 3261
// §8.2.6 asks of it against the request req.
func parseResponse(t *testing.T, req *Message, out []byte, status int, reason string) *Message {
	t.Helper()
	resp := new(Message)
	if err := resp.Parse(out); err != nil {
		t.Fatalf("response does not parse: %v\n%s", err, out)
	}
	if err := resp.ParseAll(); err != nil {
		t.Fatalf("response ParseAll: %v\n%s", err, out)
	}
	if resp.Request || resp.StatusCode != status || str(resp, resp.Reason) != reason {
		t.Errorf("status line %q", str(resp, resp.StartLine))
	}
	if resp.ContentLen != 0 || resp.Body.Len != 0 || resp.HeaderLen != len(out) {
		t.Errorf("Content-Length %d, body %d, header %d of %d", resp.ContentLen, resp.Body.Len, resp.HeaderLen, len(out))
	}
	if str(resp, resp.CallID) != str(req, req.CallID) || resp.CSeq.Num != req.CSeq.Num ||
		str(resp, resp.CSeq.MethodName) != str(req, req.CSeq.MethodName) {
		t.Errorf("Call-ID %q CSeq %d %q", str(resp, resp.CallID), resp.CSeq.Num, str(resp, resp.CSeq.MethodName))
	}
	if str(resp, resp.From.Raw) != str(req, req.From.Raw) {
		t.Errorf("From = %q, want %q", str(resp, resp.From.Raw), str(req, req.From.Raw))
	}
	if err := req.ParseVias(); err != nil {
		t.Fatal(err)
	}
	if len(resp.Vias) != len(req.Vias) {
		t.Fatalf("%d Vias, want %d", len(resp.Vias), len(req.Vias))
	}
	for i := 1; i < len(req.Vias); i++ {
		if str(resp, resp.Vias[i].Raw) != str(req, req.Vias[i].Raw) {
			t.Errorf("Vias[%d] = %q, want %q", i, str(resp, resp.Vias[i].Raw), str(req, req.Vias[i].Raw))
		}
	}
	// Only the five header fields, in the order of the request.
	var got, want []HeaderID
	for _, h := range resp.Headers {
		got = append(got, h.ID)
	}
	for _, h := range req.Headers {
		switch h.ID {
		case HdrVia, HdrFrom, HdrTo, HdrCallID, HdrCSeq:
			want = append(want, h.ID)
		}
	}
	want = append(want, HdrContentLength)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("header fields %v, want %v", got, want)
	}
	return resp
}

func TestAppendResponseCorpus(t *testing.T) {
	for _, msg := range corpus.Messages() {
		var req Message
		if err := req.Parse(msg.Bytes); err != nil {
			t.Fatal(err)
		}
		if !req.Request {
			continue
		}
		t.Run(msg.Name, func(t *testing.T) {
			req.SetSource([]byte("198.51.100.9"), 5099)
			out := AppendResponse(nil, &req, 200, "OK", []byte("srv1"))
			resp := parseResponse(t, &req, out, 200, "OK")
			top, rtop := &req.Vias[0], &resp.Vias[0]
			if str(resp, rtop.Branch) != str(&req, top.Branch) || str(resp, rtop.Host) != str(&req, top.Host) {
				t.Errorf("top Via %q", str(resp, rtop.Raw))
			}
			if str(resp, rtop.Received) != "198.51.100.9" {
				t.Errorf("received = %q", str(resp, rtop.Received))
			}
			if top.HasRPort && str(resp, rtop.RPort) != "5099" {
				t.Errorf("rport = %q", str(resp, rtop.RPort))
			}
			if !top.HasRPort && rtop.HasRPort {
				t.Errorf("rport added to a Via without one")
			}
			wantTag := str(&req, req.To.Tag)
			if wantTag == "" {
				wantTag = "srv1"
			}
			if str(resp, resp.To.Tag) != wantTag {
				t.Errorf("To tag = %q, want %q", str(resp, resp.To.Tag), wantTag)
			}
			if str(resp, resp.To.URI.Raw) != str(&req, req.To.URI.Raw) {
				t.Errorf("To URI = %q", str(resp, resp.To.URI.Raw))
			}
			// appended to what dst holds
			prefix := []byte("PREFIX")
			out2 := AppendResponse(append([]byte(nil), prefix...), &req, 200, "OK", []byte("srv1"))
			if !bytes.Equal(out2, append(prefix, out...)) {
				t.Error("AppendResponse does not append")
			}
		})
	}
}

func TestAppendResponse(t *testing.T) {
	tests := []struct {
		name     string
		req      []byte
		source   string // "" for none
		status   int
		tag      string
		wantVia  string // the top Via value in the response
		wantTo   string // the To value in the response
		wantFrom string
	}{
		{
			name: "no source, no tag for 100", req: options("sip:b@example.com"), status: 100, tag: "t1",
			wantVia: "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds", wantTo: "<sip:bob@example.com>",
		},
		{
			name: "tag added for 180", req: options("sip:b@example.com"), status: 180, tag: "t1",
			wantVia: "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds", wantTo: "<sip:bob@example.com>;tag=t1",
		},
		{
			name: "no tag given", req: options("sip:b@example.com"), status: 486, tag: "",
			wantVia: "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds", wantTo: "<sip:bob@example.com>",
		},
		{
			name: "existing tag kept", req: options("sip:b@example.com", "To: Bob <sip:bob@example.com>;tag=abc"), status: 200, tag: "t1",
			wantVia: "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds", wantTo: "Bob <sip:bob@example.com>;tag=abc",
		},
		{
			name: "existing upper-case tag kept", req: options("sip:b@example.com", "To: <sip:bob@example.com> ; TAG = abc"), status: 200, tag: "t1",
			wantVia: "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds", wantTo: "<sip:bob@example.com> ; TAG = abc",
		},
		{
			name: "unbracketed To", req: options("sip:b@example.com", "To: sip:bob@example.com;x=y"), status: 404, tag: "t1",
			wantVia: "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds", wantTo: "sip:bob@example.com;x=y;tag=t1",
		},
		{
			name: "source equal to sent-by", req: options("sip:b@example.com"), source: "192.0.2.1", status: 200,
			wantVia: "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds", wantTo: "<sip:bob@example.com>",
		},
		{
			name: "source differs: received", req: options("sip:b@example.com"), source: "198.51.100.2", status: 200,
			wantVia: "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;received=198.51.100.2", wantTo: "<sip:bob@example.com>",
		},
		{
			name: "empty rport: received even when equal (RFC 3581 §4)", req: options("sip:b@example.com", "Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bK1"),
			source: "192.0.2.1", status: 200,
			wantVia: "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;received=192.0.2.1;rport=5099", wantTo: "<sip:bob@example.com>",
		},
		{
			// received replaced; an rport with a value is left alone (RFC 3581 §4
			// fills only an empty one)
			name: "received replaced, rport value kept", req: options("sip:b@example.com", "Via: SIP/2.0/TCP h.example.com;received=10.0.0.1;branch=z9hG4bK1;rport=1234;x"),
			source: "198.51.100.2", status: 200,
			wantVia: "SIP/2.0/TCP h.example.com;branch=z9hG4bK1;x;received=198.51.100.2;rport=1234", wantTo: "<sip:bob@example.com>",
		},
		{
			name: "IPv6 sent-by equal to the source", req: options("sip:b@example.com", "Via: SIP/2.0/TCP [2001:db8::1]:5060;branch=z9hG4bK1"),
			source: "2001:db8::1", status: 200,
			wantVia: "SIP/2.0/TCP [2001:db8::1]:5060;branch=z9hG4bK1", wantTo: "<sip:bob@example.com>",
		},
		{
			name: "IPv6 source", req: options("sip:b@example.com", "Via: SIP/2.0/TCP h;rport;branch=z9hG4bK1"),
			source: "2001:db8::9", status: 200,
			wantVia: "SIP/2.0/TCP h;branch=z9hG4bK1;received=2001:db8::9;rport=5099", wantTo: "<sip:bob@example.com>",
		},
		{
			name: "top Via in a comma list", req: options("sip:b@example.com", "Via: SIP/2.0/UDP a;branch=1;rport , SIP/2.0/UDP b;branch=2"),
			source: "192.0.2.8", status: 200,
			wantVia: "SIP/2.0/UDP a;branch=1;received=192.0.2.8;rport=5099 , SIP/2.0/UDP b;branch=2", wantTo: "<sip:bob@example.com>",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var req Message
			if err := req.Parse(tc.req); err != nil {
				t.Fatal(err)
			}
			if tc.source != "" {
				req.SetSource([]byte(tc.source), 5099)
			}
			out := AppendResponse(nil, &req, tc.status, "Reason Phrase", []byte(tc.tag))
			resp := parseResponse(t, &req, out, tc.status, "Reason Phrase")
			v, _ := resp.Header(HdrVia)
			sameViaLine(t, str(resp, v), tc.wantVia)
			if v, _ := resp.Header(HdrTo); str(resp, v) != tc.wantTo {
				t.Errorf("To: %q\nwant %q", str(resp, v), tc.wantTo)
			}
		})
	}
}

// sameViaLine compares two Via header values by meaning: the same via-parms
// in order, each with the same sent-protocol and sent-by and the same
// parameters in any order (names compared ignoring case), so that the
// writers may insert or replace parameters where they like.
func sameViaLine(t *testing.T, got, want string) {
	t.Helper()
	desc := func(v string) string {
		var m Message
		if err := m.Parse(options("sip:x", "Via: "+v)); err != nil {
			return "unparsable: " + err.Error()
		}
		if err := m.ParseVias(); err != nil {
			return "unparsable: " + err.Error()
		}
		var out []string
		for i := range m.Vias {
			v := &m.Vias[i]
			var ps []string
			if !v.Params.Empty() {
				b := m.Buf()
				for j, pe := int(v.Params.Off)-1, v.Params.End(); j < pe && b[j] == ';'; {
					name, value, next, err := nextParam(b, j, pe)
					if err != nil {
						ps = append(ps, "bad")
						break
					}
					ps = append(ps, strings.ToLower(str(&m, name))+"="+str(&m, value))
					j = skipLWS(b, next, pe)
				}
			}
			sort.Strings(ps)
			out = append(out, fmt.Sprintf("%s/%s %s:%d %v", str(&m, v.Protocol), str(&m, v.Transport), str(&m, v.Host), v.Port, ps))
		}
		return strings.Join(out, ", ")
	}
	if g, w := desc(got), desc(want); g != w {
		t.Errorf("Via %q\n is  %s\nwant %s", got, g, w)
	}
}

// TestAppendResponseRefused answers requests Parse refused, as the engine
// does with 400 and 505.
func TestAppendResponseRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  []byte
	}{
		{"bad version", []byte(strings.Replace(string(options("sip:b@example.com")), "SIP/2.0\r\n", "SIP/3.0\r\n", 1))},
		{"bad CSeq", options("sip:b@example.com", "CSeq: x OPTIONS")},
		{"missing Call-ID", options("sip:b@example.com", "-Call-ID")},
		{"bad top Via param", options("sip:b@example.com", "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;=")},
		{"bad To", options("sip:b@example.com", "To: <sip:b@example.com")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var req Message
			if req.Parse(tc.req) == nil {
				t.Fatal("Parse accepted")
			}
			if !req.Answerable() {
				t.Fatal("not answerable")
			}
			out := AppendResponse(nil, &req, 400, "Bad Request", []byte("x"))
			if !bytes.HasPrefix(out, []byte("SIP/2.0 400 Bad Request\r\n")) || !bytes.HasSuffix(out, []byte("\r\nContent-Length: 0\r\n\r\n")) {
				t.Errorf("response:\n%s", out)
			}
			if !bytes.Contains(out, []byte("\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds")) {
				t.Errorf("top Via not copied:\n%s", out)
			}
		})
	}
}

func TestAppendForward(t *testing.T) {
	tests := []struct {
		name string
		via  string // the top Via line of the request
		host string
		want string // the top via-parm after AppendForward
	}{
		{"sent-by equal, no rport: unchanged", "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1", "192.0.2.1",
			"SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1"},
		{"sent-by differs: received", "Via: SIP/2.0/UDP pc.example.com:5060;branch=z9hG4bK1", "192.0.2.1",
			"SIP/2.0/UDP pc.example.com:5060;branch=z9hG4bK1;received=192.0.2.1"},
		{"no params", "Via: SIP/2.0/TCP pc.example.com", "192.0.2.1",
			"SIP/2.0/TCP pc.example.com;received=192.0.2.1"},
		{"empty rport filled", "Via: SIP/2.0/UDP 192.0.2.1;rport;branch=z9hG4bK1", "192.0.2.1",
			"SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;received=192.0.2.1;rport=6000"},
		{"existing received replaced", "Via: SIP/2.0/UDP pc.example.com;received=10.1.1.1;branch=z9hG4bK1", "192.0.2.1",
			"SIP/2.0/UDP pc.example.com;branch=z9hG4bK1;received=192.0.2.1"},
		{"upper-case names replaced", "Via: SIP/2.0/UDP pc.example.com;RECEIVED=10.1.1.1;Branch=z9hG4bK1;RPORT", "192.0.2.1",
			"SIP/2.0/UDP pc.example.com;Branch=z9hG4bK1;received=192.0.2.1;rport=6000"},
		{"comma list: only the first", "Via: SIP/2.0/UDP a.example.com;rport,SIP/2.0/UDP b.example.com;rport", "192.0.2.1",
			"SIP/2.0/UDP a.example.com;received=192.0.2.1;rport=6000"},
		{"compact form", "Via: SIP/2.0/UDP a.example.com", "192.0.2.1",
			"SIP/2.0/UDP a.example.com;received=192.0.2.1"},
		{"IPv6", "Via: SIP/2.0/TCP [2001:db8::1];rport", "2001:db8::1",
			"SIP/2.0/TCP [2001:db8::1];received=2001:db8::1;rport=6000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := build("INVITE sip:b@example.com SIP/2.0", []string{tc.via, "CSeq: 1 INVITE", "+v: SIP/2.0/UDP second.example.com;branch=z9hG4bK2",
				"+Route: <sip:p.example.com;lr>", "Content-Length: 4"}, "body")
			if tc.name == "compact form" {
				b = bytes.Replace(b, []byte("\r\nVia: "), []byte("\r\nv:"), 1)
			}
			var req Message
			if err := req.Parse(b); err != nil {
				t.Fatal(err)
			}
			top := req.Vias[0].Raw
			out := AppendForward(nil, &req, []byte(tc.host), 6000)
			// Every other byte is unchanged.
			if !bytes.HasPrefix(out, b[:top.Off]) || !bytes.HasSuffix(out, b[top.End():]) {
				t.Fatalf("bytes outside the top via-parm changed:\n%s", out)
			}
			sameViaLine(t, string(out[top.Off:len(out)-(len(b)-top.End())]), tc.want)
			var fwd Message
			if err := fwd.Parse(out); err != nil {
				t.Fatalf("forwarded message does not parse: %v\n%s", err, out)
			}
			if err := fwd.ParseAll(); err != nil {
				t.Fatalf("forwarded message ParseAll: %v\n%s", err, out)
			}
			if str(&fwd, fwd.Body) != "body" || str(&fwd, fwd.Vias[0].Host) != str(&req, req.Vias[0].Host) {
				t.Errorf("forwarded message: body %q host %q", str(&fwd, fwd.Body), str(&fwd, fwd.Vias[0].Host))
			}
			if want := strings.Contains(tc.want, "received="); want && str(&fwd, fwd.Vias[0].Received) != tc.host {
				t.Errorf("received = %q", str(&fwd, fwd.Vias[0].Received))
			}
			// appends to dst
			pre := []byte("xyz")
			if out2 := AppendForward(append([]byte(nil), pre...), &req, []byte(tc.host), 6000); !bytes.Equal(out2, append(pre, out...)) {
				t.Error("AppendForward does not append")
			}
		})
	}
}

func TestAppendForwardCorpus(t *testing.T) {
	for _, msg := range corpus.Messages() {
		t.Run(msg.Name, func(t *testing.T) {
			var m Message
			if err := m.Parse(msg.Bytes); err != nil {
				t.Fatal(err)
			}
			host := string(stripBrackets(m.Vias[0].Host.Bytes(msg.Bytes)))
			// An address equal to sent-by and no rport: the message as is.
			if !m.Vias[0].HasRPort {
				if out := AppendForward(nil, &m, []byte(host), 5060); !bytes.Equal(out, msg.Bytes) {
					t.Errorf("unchanged message rewritten:\n%s", out)
				}
			}
			out := AppendForward(nil, &m, []byte("203.0.113.250"), 40000)
			var fwd Message
			if err := fwd.Parse(out); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if str(&fwd, fwd.Vias[0].Received) != "203.0.113.250" {
				t.Errorf("received = %q", str(&fwd, fwd.Vias[0].Received))
			}
			if m.Vias[0].HasRPort && str(&fwd, fwd.Vias[0].RPort) != "40000" {
				t.Errorf("rport = %q", str(&fwd, fwd.Vias[0].RPort))
			}
			if len(out)-len(msg.Bytes) != int(fwd.Vias[0].Raw.Len)-int(m.Vias[0].Raw.Len) {
				t.Errorf("length changed by %d, via-parm by %d", len(out)-len(msg.Bytes), int(fwd.Vias[0].Raw.Len)-int(m.Vias[0].Raw.Len))
			}
		})
	}
}

// appendResponseSafe runs AppendResponse and turns a panic into an error, so
// one defect does not stop the other tests.
func appendResponseSafe(m *Message, status int, reason string, tag []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return AppendResponse(nil, m, status, reason, tag), nil
}

// TestAppendResponseBadTopVia: a request whose top Via Parse refuses is
// answerable, and AppendResponse answers it after SetSource, as the engine
// does before answering 400, copying the top Via as written. (It once
// panicked here: Parse kept a half-parsed Vias[0].)
func TestAppendResponseBadTopVia(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  []byte
	}{
		{"RFC 4475 badinv01", readTorture(t, "badinv01")},
		{"empty param", options("sip:b@example.com", "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;")},
		{"no sent-by", options("sip:b@example.com", "Via: SIP/2.0/UDP")},
		{"junk after params", options("sip:b@example.com", "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1 junk")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			if m.Parse(tc.req) == nil || !m.Answerable() {
				t.Fatal("want a refused, answerable request")
			}
			m.SetSource([]byte("192.0.2.99"), 5060)
			out, err := appendResponseSafe(&m, 400, "Bad Request", []byte("x"))
			if err != nil {
				t.Fatalf("AppendResponse on a request with a bad top Via: %v", err)
			}
			top, _ := m.Header(HdrVia)
			if !bytes.HasPrefix(out, []byte("SIP/2.0 400 Bad Request\r\n")) ||
				!bytes.Contains(out, []byte("\r\nVia: "+str(&m, top)+"\r\n")) {
				t.Errorf("response:\n%s", out)
			}
		})
	}
}
