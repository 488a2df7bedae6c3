package sipparse

import (
	"strings"
	"testing"
)

func TestStartLine(t *testing.T) {
	tests := []struct {
		line    string
		cseq    string // CSeq method, default the request method
		request bool
		method  Method
		name    string // method name as written
		ruri    string
		status  int
		reason  string
	}{
		{line: "OPTIONS sip:a@example.com SIP/2.0", request: true, method: MethodOptions, name: "OPTIONS", ruri: "sip:a@example.com"},
		{line: "INVITE sip:a@example.com SIP/2.0", request: true, method: MethodInvite, name: "INVITE", ruri: "sip:a@example.com"},
		{line: "ACK sip:a@example.com SIP/2.0", request: true, method: MethodAck, name: "ACK", ruri: "sip:a@example.com"},
		{line: "BYE sip:a SIP/2.0", request: true, method: MethodBye, name: "BYE", ruri: "sip:a"},
		{line: "CANCEL sip:a SIP/2.0", request: true, method: MethodCancel, name: "CANCEL", ruri: "sip:a"},
		{line: "REGISTER sip:example.com SIP/2.0", request: true, method: MethodRegister, name: "REGISTER", ruri: "sip:example.com"},
		{line: "PRACK sip:a SIP/2.0", request: true, method: MethodPrack, name: "PRACK", ruri: "sip:a"},
		{line: "SUBSCRIBE sip:a SIP/2.0", request: true, method: MethodSubscribe, name: "SUBSCRIBE", ruri: "sip:a"},
		{line: "NOTIFY sip:a SIP/2.0", request: true, method: MethodNotify, name: "NOTIFY", ruri: "sip:a"},
		{line: "PUBLISH sip:a SIP/2.0", request: true, method: MethodPublish, name: "PUBLISH", ruri: "sip:a"},
		{line: "INFO sip:a SIP/2.0", request: true, method: MethodInfo, name: "INFO", ruri: "sip:a"},
		{line: "REFER sip:a SIP/2.0", request: true, method: MethodRefer, name: "REFER", ruri: "sip:a"},
		{line: "MESSAGE sip:a SIP/2.0", request: true, method: MethodMessage, name: "MESSAGE", ruri: "sip:a"},
		{line: "UPDATE sip:a SIP/2.0", request: true, method: MethodUpdate, name: "UPDATE", ruri: "sip:a"},
		{line: "FOO sip:a SIP/2.0", request: true, method: MethodUnknown, name: "FOO", ruri: "sip:a"},
		{line: "invite sip:a SIP/2.0", request: true, method: MethodUnknown, name: "invite", ruri: "sip:a"}, // methods are case-sensitive
		{line: "OPTIONS sip:a sip/2.0", request: true, method: MethodOptions, name: "OPTIONS", ruri: "sip:a"},
		{line: "OPTIONS tel:+1555 SIP/2.0", request: true, method: MethodOptions, name: "OPTIONS", ruri: "tel:+1555"},
		{line: "SIP/2.0 200 OK", status: 200, reason: "OK"},
		{line: "SIP/2.0 100 Trying", status: 100, reason: "Trying"},
		{line: "SIP/2.0 180 Ringing here and there", status: 180, reason: "Ringing here and there"},
		{line: "SIP/2.0 699 x", status: 699, reason: "x"},
		{line: "SIP/2.0 100 ", status: 100, reason: ""},
		{line: "SIP/2.0 404", status: 404, reason: ""},
		{line: "sip/2.0 486 Busy Here", status: 486, reason: "Busy Here"},
		{line: "SIP/2.0 200 Très bien", status: 200, reason: "Très bien"},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			cseq := tc.cseq
			if cseq == "" {
				cseq = tc.name
			}
			if !tc.request {
				cseq = "INVITE"
			}
			var m Message
			if err := m.Parse(build(tc.line, []string{"CSeq: 7 " + cseq}, "")); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if str(&m, m.StartLine) != tc.line {
				t.Errorf("StartLine = %q", str(&m, m.StartLine))
			}
			if m.Request != tc.request || m.Method != tc.method || str(&m, m.MethodName) != tc.name ||
				str(&m, m.RequestURI.Raw) != tc.ruri || m.StatusCode != tc.status || str(&m, m.Reason) != tc.reason {
				t.Errorf("got request %v method %v %q R-URI %q status %d reason %q",
					m.Request, m.Method, str(&m, m.MethodName), str(&m, m.RequestURI.Raw), m.StatusCode, str(&m, m.Reason))
			}
			if tc.method != MethodUnknown && (tc.method.String() != tc.name || LookupMethod([]byte(tc.name)) != tc.method) {
				t.Errorf("Method %v String %q", tc.method, tc.method.String())
			}
			if m.Answerable() != (tc.request && tc.method != MethodAck) {
				t.Errorf("Answerable = %v", m.Answerable())
			}
		})
	}
	if MethodUnknown.String() != "" || Method(200).String() != "" || LookupMethod([]byte("INVITEX")) != MethodUnknown {
		t.Error("unknown methods")
	}
}

func TestStartLineBad(t *testing.T) {
	rest := string(options("sip:a"))[len("OPTIONS sip:a SIP/2.0\r\n"):]
	tests := []struct {
		line   string
		err    error
		status int // 0: a response, or not answerable
	}{
		{"OPTIONS sip:a SIP/3.0", ErrBadVersion, 505},
		{"OPTIONS sip:a SIP/2.1", ErrBadVersion, 505},
		{"OPTIONS sip:a sip/20", ErrBadVersion, 505},
		{"OPTIONS sip:a HTTP/1.1", ErrBadStartLine, 400},
		{"OPTIONS sip:a SIP/2.0 ", ErrBadStartLine, 400},
		{"OPTIONS sip:a", ErrBadStartLine, 400},
		{"OPTIONS sip:a  SIP/2.0", ErrBadRequestURI, 400},
		{"OPTIONS  sip:a SIP/2.0", ErrBadRequestURI, 400},
		{"OPTIONS SIP/2.0", ErrBadRequestURI, 400},
		{"OPTIONS <sip:a> SIP/2.0", ErrBadRequestURI, 400},
		{"OPTIONS sip:a b SIP/2.0", ErrBadRequestURI, 400},
		{"OPTIONS\tsip:a\tSIP/2.0", ErrBadMethod, 400},
		{"OPT@ONS sip:a SIP/2.0", ErrBadMethod, 400},
		{"OPTIONS", ErrBadStartLine, 400},
		{" OPTIONS sip:a SIP/2.0", ErrBadStartLine, 400},
		{"", ErrBadStartLine, 0},
		{"SIP/2.0 700 Too Big", ErrBadStatus, 0},
		{"SIP/2.0 099 Too Small", ErrBadStatus, 0},
		{"SIP/2.0 20 OK", ErrBadStatus, 0},
		{"SIP/2.0 2000 OK", ErrBadStatus, 0},
		{"SIP/2.0 abc OK", ErrBadStatus, 0},
		{"SIP/2.0 4294967301 Big", ErrBadStatus, 0},
		{"SIP/2.0 -20 OK", ErrBadStatus, 0},
		{"SIP/2.0  200 OK", ErrBadStatus, 0},
		{"SIP/2.0", ErrBadVersion, 0}, // (a status line without a code; refused either way)
		{"SIP/3.0 200 OK", ErrBadVersion, 0},
		{"SIP/2.0200 OK", ErrBadVersion, 0},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			var m Message
			err := m.Parse([]byte(tc.line + "\r\n" + rest))
			wantErr(t, "Parse", err, tc.err)
			pe, _ := err.(*ParseError)
			if tc.status != 0 {
				if pe == nil || pe.Status != tc.status || !m.Answerable() {
					t.Errorf("status %v answerable %v, want %d", pe, m.Answerable(), tc.status)
				}
			}
		})
	}
	// Line ends and buffers that have no start line at all.
	for _, b := range []string{"", "\r\n", "\n", "OPTIONS sip:a SIP/2.0\n" + rest, "OPTIONS sip:a SIP/2.0", "\r\nOPTIONS sip:a SIP/2.0\r\n" + rest} {
		var m Message
		if err := m.Parse([]byte(b)); err == nil {
			t.Errorf("Parse(%q) succeeded", b)
		} else if m.Answerable() && strings.HasPrefix(b, "\r") {
			t.Errorf("Parse(%q): answerable", b)
		}
	}
}
