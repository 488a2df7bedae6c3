package sipgoref

import (
	"errors"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/sipcm/sipcm/internal/corpus"
)

func TestParseCorpus(t *testing.T) {
	want := map[string]Fields{
		corpus.Options: {
			Request: true, Method: "OPTIONS",
			RequestURI: "sip:carol@chicago.example.com", RequestURIString: "sip:carol@chicago.example.com",
			SIPVersion: "SIP/2.0",
			HasCallID:  true, CallID: "a84b4c76e66710@pc33.atlanta.example.com",
			HasCSeq: true, CSeqNum: 63104, CSeqMethod: "OPTIONS",
			ViaCount: 1, TopBranch: "z9hG4bKhjhs8ass877",
			HasFrom: true, FromTag: "1928301774", HasTo: true,
		},
		corpus.Invite: {
			Request: true, Method: "INVITE",
			RequestURI: "sip:bob@biloxi.example.com", RequestURIString: "sip:bob@biloxi.example.com",
			SIPVersion: "SIP/2.0",
			HasCallID:  true, CallID: "3848276298220188511@atlanta.example.com",
			HasCSeq: true, CSeqNum: 1, CSeqMethod: "INVITE",
			ViaCount: 1, TopBranch: "z9hG4bK74bf9",
			HasFrom: true, FromTag: "9fxced76sl", HasTo: true,
			BodyLen: 288,
		},
		corpus.OK3Via: {
			StatusCode: 200, SIPVersion: "SIP/2.0",
			HasCallID: true, CallID: "3848276298220188511@atlanta.example.com",
			HasCSeq: true, CSeqNum: 2, CSeqMethod: "INVITE",
			ViaCount: 3, TopBranch: "z9hG4bK721e418c4.1",
			HasFrom: true, FromTag: "9fxced76sl", HasTo: true, ToTag: "314159",
			BodyLen: 147,
		},
		corpus.RegisterCompact: {
			Request: true, Method: "REGISTER",
			RequestURI: "sip:registrar.biloxi.example.com", RequestURIString: "sip:registrar.biloxi.example.com",
			SIPVersion: "SIP/2.0",
			HasCallID:  true, CallID: "843817637684230@998sdasdh09",
			HasCSeq: true, CSeqNum: 1826, CSeqMethod: "REGISTER",
			ViaCount: 1, TopBranch: "z9hG4bKnashds7",
			HasFrom: true, FromTag: "456248", HasTo: true,
		},
		corpus.Big4K: {
			Request: true, Method: "INVITE",
			RequestURI: "sip:+15555550123@ims.example.net;user=phone", RequestURIString: "sip:+15555550123@ims.example.net;user=phone",
			SIPVersion: "SIP/2.0",
			HasCallID:  true, CallID: "cb03a0s09a2sdfglkj490333@pcscf1.visited.example.net",
			HasCSeq: true, CSeqNum: 127, CSeqMethod: "INVITE",
			ViaCount: 3, TopBranch: "z9hG4bK8e6fa1.1",
			HasFrom: true, FromTag: "171828", HasTo: true,
			BodyLen: 1323,
		},
	}
	p := NewParser()
	for _, m := range corpus.Messages() {
		t.Run(m.Name, func(t *testing.T) {
			got, err := p.Parse(m.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if got != want[m.Name] {
				t.Errorf("got  %+v\nwant %+v", got, want[m.Name])
			}
		})
	}
}

// msg builds a message from CRLF-less lines.
func msg(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n"))
}

func TestParseNormalises(t *testing.T) {
	p := NewParser()
	got, err := p.Parse(msg(
		"invite sip:bob@example.com;transport=tcp SIP/2.0",
		"Via: SIP/2.0/TCP h.example.com;BRANCH = z9hG4bKx1",
		"From: <sip:a@example.com>;Tag = f1",
		"To: <sip:b@example.com> ; tag=t1",
		"Call-ID:   c1  ",
		"CSeq: 7   INVITE",
		"Content-Length: 3",
		"", "abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	want := Fields{
		Request: true, Method: "INVITE", // sipgo upper-cases the method
		RequestURI: "sip:bob@example.com;transport=tcp", RequestURIString: "sip:bob@example.com;transport=tcp",
		SIPVersion: "SIP/2.0",
		HasCallID:  true, CallID: "c1",
		HasCSeq: true, CSeqNum: 7, CSeqMethod: "INVITE",
		ViaCount: 1, TopBranch: "z9hG4bKx1",
		HasFrom: true, FromTag: "f1", HasTo: true, ToTag: "t1",
		BodyLen: 3, // bytes past Content-Length are ignored
	}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseAbsentHeaders(t *testing.T) {
	got, err := NewParser().Parse(msg("OPTIONS sip:x@example.com SIP/2.0", "Max-Forwards: 70", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	want := Fields{Request: true, Method: "OPTIONS", RequestURI: "sip:x@example.com",
		RequestURIString: "sip:x@example.com", SIPVersion: "SIP/2.0"}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"not-sip", msg("hello world", "", "")},
		{"bad-status", msg("SIP/2.0 2x0 OK", "Content-Length: 0", "", "")},
		{"cseq-over-2^31", msg("OPTIONS sip:x@example.com SIP/2.0", "CSeq: 4294967296 OPTIONS", "", "")},
		{"short-body", msg("OPTIONS sip:x@example.com SIP/2.0", "Content-Length: 10", "", "abc")},
		{"no-empty-line", []byte("OPTIONS sip:x@example.com SIP/2.0\r\nContent-Length: 0\r\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewParser().Parse(tc.msg)
			if !errors.Is(err, ErrRejected) {
				t.Fatalf("err = %v, want ErrRejected", err)
			}
			if f != (Fields{}) {
				t.Errorf("fields %+v on rejection, want zero", f)
			}
		})
	}
}

func TestParamLookup(t *testing.T) {
	params := sip.HeaderParams{{K: "lr", V: ""}, {K: " Branch ", V: " z9 "}, {K: "branch", V: "second"}}
	if v, ok := param(params, "branch"); !ok || v != "z9" {
		t.Errorf("param(branch) = %q, %v; want the first, trimmed", v, ok)
	}
	if v, ok := param(params, "lr"); !ok || v != "" {
		t.Errorf("param(lr) = %q, %v", v, ok)
	}
	if _, ok := param(params, "tag"); ok {
		t.Error("found absent param")
	}
}

func TestRequestURIToken(t *testing.T) {
	for in, want := range map[string]string{
		"INVITE sip:a@b SIP/2.0\r\n": "sip:a@b",
		"INVITE  sip:a@b SIP/2.0":    "",
		"SIP/2.0 200 OK\r\n":         "200",
		"INVITE\r\n":                 "",
		"INVITE sip:a@b\r\n":         "",
	} {
		if got := requestURIToken([]byte(in)); got != want {
			t.Errorf("requestURIToken(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDiff(t *testing.T) {
	base := Fields{
		Request: true, Method: "INVITE", RequestURI: "sip:a@b", RequestURIString: "sip:a@b",
		SIPVersion: "SIP/2.0", HasCallID: true, CallID: "c", HasCSeq: true, CSeqNum: 1,
		CSeqMethod: "INVITE", ViaCount: 1, TopBranch: "z9hG4bK1", HasFrom: true, FromTag: "f",
		HasTo: true, ToTag: "t", BodyLen: 4,
	}
	for _, tc := range []struct {
		name   string
		change func(*Fields)
		want   string // prefix of the only difference; "" for none
	}{
		{"equal", func(*Fields) {}, ""},
		{"method-case", func(f *Fields) { f.Method = "invite" }, ""},
		{"sipgo-only", func(f *Fields) { f.RequestURIString, f.SIPVersion = "x", "y" }, ""},
		{"method", func(f *Fields) { f.Method = "INVITEX" }, "Method"},
		{"kind", func(f *Fields) { f.Request, f.StatusCode = false, 200 }, "Request"},
		{"ruri", func(f *Fields) { f.RequestURI = "sip:a@c" }, "RequestURI"},
		{"status", func(f *Fields) { f.StatusCode = 100 }, "StatusCode"},
		{"callid", func(f *Fields) { f.CallID = "d" }, "CallID"},
		{"callid-absent", func(f *Fields) { f.HasCallID = false }, "CallID"},
		{"cseq", func(f *Fields) { f.CSeqNum = 2 }, "CSeqNum"},
		{"cseq-method", func(f *Fields) { f.CSeqMethod = "ACK" }, "CSeqMethod"},
		{"vias", func(f *Fields) { f.ViaCount = 2 }, "ViaCount"},
		{"branch", func(f *Fields) { f.TopBranch = "" }, "TopBranch"},
		{"from", func(f *Fields) { f.FromTag = "g" }, "FromTag"},
		{"to", func(f *Fields) { f.ToTag = "" }, "ToTag"},
		{"to-absent", func(f *Fields) { f.HasTo = false }, "ToTag"},
		{"body", func(f *Fields) { f.BodyLen = 5 }, "BodyLen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := base
			tc.change(&got)
			d := Diff(base, got)
			switch {
			case tc.want == "" && d != nil:
				t.Errorf("Diff = %q, want none", d)
			case tc.want != "" && (len(d) != 1 || !strings.HasPrefix(d[0], tc.want+":")):
				t.Errorf("Diff = %q, want one %s difference", d, tc.want)
			}
		})
	}
}

// TestParseRecoversPanic uses a Parser without a sipgo parser, on which sipgo
// dereferences nil, to check that a panic in sipgo becomes ErrPanic.
func TestParseRecoversPanic(t *testing.T) {
	m, _ := corpus.Lookup(corpus.Options)
	f, err := (&Parser{}).Parse(m.Bytes)
	if !errors.Is(err, ErrPanic) {
		t.Fatalf("err = %v, want ErrPanic", err)
	}
	if f != (Fields{}) {
		t.Errorf("fields %+v after a panic, want zero", f)
	}
}
