package relay

import (
	"strings"
	"testing"

	"github.com/sipcm/sipcm/sipparse"
)

func parse(t testing.TB, s string) *sipparse.Message {
	t.Helper()
	m := new(sipparse.Message)
	if err := m.Parse([]byte(s)); err != nil {
		t.Fatalf("parse: %v\n%s", err, s)
	}
	return m
}

func lines(s ...string) string { return strings.Join(s, "\r\n") }

func TestAppendRequest(t *testing.T) {
	const tail = "From: <sip:b@x>;tag=1\r\nTo: <sip:a@x>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\n"
	tests := []struct {
		name, in, want string
	}{{
		name: "decrement, received and rport",
		in:   "MESSAGE sip:a@x SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.7:5099;branch=z9hG4bKa;rport\r\nMax-Forwards: 70\r\n" + tail + "Content-Length: 2\r\n\r\nhi",
		want: "MESSAGE sip:a@x SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.7:5099;branch=z9hG4bKa;rport=40000;received=127.0.0.1\r\nMax-Forwards: 69\r\n" + tail + "Content-Length: 2\r\n\r\nhi",
	}, {
		name: "absent Max-Forwards is 69, added last",
		in:   "MESSAGE sip:a@x SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.7:5099;branch=z9hG4bKa\r\n" + tail + "Content-Length: 2\r\n\r\nhi",
		want: "MESSAGE sip:a@x SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.7:5099;branch=z9hG4bKa;received=127.0.0.1\r\n" + tail + "Content-Length: 2\r\nMax-Forwards: 69\r\n\r\nhi",
	}, {
		name: "Max-Forwards before the Via, fewer digits",
		in:   "MESSAGE sip:a@x SIP/2.0\r\nMax-Forwards: 10\r\nVia: SIP/2.0/TCP 127.0.0.1:40000;branch=z9hG4bKa\r\n" + tail + "Content-Length: 0\r\n\r\n",
		want: "MESSAGE sip:a@x SIP/2.0\r\nMax-Forwards: 9\r\nVia: SIP/2.0/TCP 127.0.0.1:40000;branch=z9hG4bKa\r\n" + tail + "Content-Length: 0\r\n\r\n",
	}, {
		name: "one hop left",
		in:   "MESSAGE sip:a@x SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:40000;branch=z9hG4bKa\r\n" + tail + "Max-Forwards:   1  \r\nContent-Length: 0\r\n\r\n",
		want: "MESSAGE sip:a@x SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:40000;branch=z9hG4bKa\r\n" + tail + "Max-Forwards:   0  \r\nContent-Length: 0\r\n\r\n",
	}, {
		name: "leading zeros",
		in:   "MESSAGE sip:a@x SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.9:40000;branch=z9hG4bKa;received=1.2.3.4, SIP/2.0/TCP h;branch=z9hG4bKb\r\nMax-Forwards: 0100\r\n" + tail + "Content-Length: 0\r\n\r\n",
		want: "MESSAGE sip:a@x SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.9:40000;branch=z9hG4bKa;received=127.0.0.1, SIP/2.0/TCP h;branch=z9hG4bKb\r\nMax-Forwards: 99\r\n" + tail + "Content-Length: 0\r\n\r\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := parse(t, tt.in)
			got := string(AppendRequest([]byte("prefix"), m, []byte("127.0.0.1"), 40000))
			if got != "prefix"+tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, "prefix"+tt.want)
			}
			parse(t, got[len("prefix"):])
		})
	}
}

func TestAppendResponse(t *testing.T) {
	const rest = "From: <sip:b@x>;tag=1\r\nTo: <sip:a@x>;tag=2\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 2\r\n\r\nok"
	tests := []struct {
		name, in, want string
	}{{
		name: "own line",
		in:   "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKours\r\nVia: SIP/2.0/TCP c;branch=z9hG4bKc;received=1.2.3.4\r\n" + rest,
		want: "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP c;branch=z9hG4bKc;received=1.2.3.4\r\n" + rest,
	}, {
		name: "own line, trailing white space",
		in:   "SIP/2.0 200 OK\r\nv:SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKours \t\r\nVia: SIP/2.0/TCP c;branch=z9hG4bKc\r\n" + rest,
		want: "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP c;branch=z9hG4bKc\r\n" + rest,
	}, {
		name: "first of a list",
		in:   "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKours ,  SIP/2.0/TCP c;branch=z9hG4bKc\r\n" + rest,
		want: "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/TCP c;branch=z9hG4bKc\r\n" + rest,
	}, {
		name: "first of a folded list",
		in:   "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKours,\r\n SIP/2.0/TCP c;branch=z9hG4bKc\r\n" + rest,
		want: "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP c;branch=z9hG4bKc\r\n" + rest,
	}, {
		name: "Via after other fields",
		in:   "SIP/2.0 200 OK\r\nX-A: 1\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKours\r\nX-B: 2\r\nVia: SIP/2.0/TCP c;branch=z9hG4bKc\r\n" + rest,
		want: "SIP/2.0 200 OK\r\nX-A: 1\r\nX-B: 2\r\nVia: SIP/2.0/TCP c;branch=z9hG4bKc\r\n" + rest,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := parse(t, tt.in)
			got := string(AppendResponse(nil, m))
			if got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestAppendStatus(t *testing.T) {
	req := parse(t, lines("INVITE sip:a@x SIP/2.0", "Via: SIP/2.0/TCP 192.0.2.7:5099;branch=z9hG4bKa;rport",
		"From: <sip:b@x>;tag=1", "To: <sip:a@x>", "Call-ID: c", "CSeq: 1 INVITE", "Content-Length: 0", "", ""))
	req.SetSource([]byte("127.0.0.1"), 40000)
	tmpl := sipparse.AppendResponse(nil, req, 503, "Service Unavailable", []byte("tag9"))
	got := string(appendStatus(nil, tmpl, 408, "Request Timeout"))
	want := lines("SIP/2.0 408 Request Timeout", "Via: SIP/2.0/TCP 192.0.2.7:5099;branch=z9hG4bKa;rport=40000;received=127.0.0.1",
		"From: <sip:b@x>;tag=1", "To: <sip:a@x>;tag=tag9", "Call-ID: c", "CSeq: 1 INVITE", "Content-Length: 0", "", "")
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

// TestAllocs: building what is forwarded, both ways, allocates nothing
// once the buffers have room.
func TestAllocs(t *testing.T) {
	req := parse(t, lines("MESSAGE sip:a@x SIP/2.0", "Via: SIP/2.0/TCP 192.0.2.7:5099;branch=z9hG4bKa;rport",
		"From: <sip:b@x>;tag=1", "To: <sip:a@x>", "Call-ID: c", "CSeq: 1 MESSAGE", "Content-Length: 0", "", ""))
	resp := parse(t, lines("SIP/2.0 200 OK", "Via: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKours",
		"Via: SIP/2.0/TCP 192.0.2.7:5099;branch=z9hG4bKa", "From: <sip:b@x>;tag=1", "To: <sip:a@x>;tag=2",
		"Call-ID: c", "CSeq: 1 MESSAGE", "Content-Length: 0", "", ""))
	buf := make([]byte, 0, 4096)
	host := []byte("127.0.0.1")
	tmpl := sipparse.AppendResponse(nil, req, 503, "Service Unavailable", []byte("t"))
	tests := []struct {
		name string
		f    func()
	}{
		{"request", func() { buf = AppendRequest(buf[:0], req, host, 40000) }},
		{"response", func() { buf = AppendResponse(buf[:0], resp) }},
		{"status", func() { buf = appendStatus(buf[:0], tmpl, 408, "Request Timeout") }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, tt.f); n != 0 {
			t.Errorf("%s: %v allocations, want 0", tt.name, n)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	req := parse(b, lines("MESSAGE sip:a@x SIP/2.0", "Via: SIP/2.0/TCP 192.0.2.7:5099;branch=z9hG4bKa;rport",
		"From: <sip:b@x>;tag=1", "To: <sip:a@x>", "Call-ID: c", "CSeq: 1 MESSAGE", "Max-Forwards: 70",
		"Content-Length: 0", "", ""))
	resp := parse(b, lines("SIP/2.0 200 OK", "Via: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKours",
		"Via: SIP/2.0/TCP 192.0.2.7:5099;branch=z9hG4bKa", "From: <sip:b@x>;tag=1", "To: <sip:a@x>;tag=2",
		"Call-ID: c", "CSeq: 1 MESSAGE", "Content-Length: 0", "", ""))
	buf := make([]byte, 0, 4096)
	host := []byte("127.0.0.1")
	b.Run("request/relay", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = AppendRequest(buf[:0], req, host, 40000)
		}
	})
	b.Run("response/relay", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = AppendResponse(buf[:0], resp)
		}
	})
}
