package sipparse

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sipcm/sipcm/internal/corpus"
)

// frame is one frame a Framer reported.
type frame struct {
	kind FrameKind
	b    string
}

func (f frame) String() string { return fmt.Sprintf("%d:%q", f.kind, f.b) }

// conn simulates a connection's receive buffer: bytes arrive in chunks and
// the reader consumes what the Framer reports.
type conn struct {
	t      testing.TB
	f      Framer
	stream []byte
	start  int // first unconsumed byte
	have   int // bytes received past start
	frames []frame
	err    error // the last error other than ErrNeedMore
}

// deliver makes n more bytes of the stream available and frames what it
// can. It checks what Next promises whatever the input: n within the buffer,
// ErrNeedMore only with n 0, a non-fatal error only for an intact header.
func (c *conn) deliver(n int) {
	c.have += n
	for c.err == nil {
		buf := c.stream[c.start : c.start+c.have]
		n, kind, err := c.f.Next(buf)
		if err == ErrNeedMore {
			if n != 0 {
				c.t.Fatalf("ErrNeedMore with n %d", n)
			}
			return
		}
		if n < 0 || n > len(buf) {
			c.t.Fatalf("n = %d for a %d-byte buffer", n, len(buf))
		}
		if err != nil {
			c.err = err
			var fe *FrameError
			if !errors.As(err, &fe) {
				c.t.Fatalf("error %v is not a *FrameError", err)
			}
			if fe.Fatal {
				return
			}
			if n == 0 || n != fe.HeaderLen || !errors.Is(err, ErrMessageTooLarge) {
				c.t.Fatalf("non-fatal %v with n %d, HeaderLen %d", err, n, fe.HeaderLen)
			}
			c.frames = append(c.frames, frame{0, string(buf[:n])})
			c.err = nil
		} else {
			if n == 0 || kind < FrameMessage || kind > FrameSkip {
				c.t.Fatalf("n %d kind %d", n, kind)
			}
			c.frames = append(c.frames, frame{kind, string(buf[:n])})
		}
		c.start += n
		c.have -= n
	}
}

func TestFramerPing(t *testing.T) {
	msg := string(options("sip:a@example.com"))
	tests := []struct {
		name   string
		chunks []string
		want   []frame
		more   bool // the last call wants more bytes
	}{
		{"ping", []string{"\r\n\r\n"}, []frame{{FramePing, "\r\n\r\n"}}, true},
		{"ping split 1+3", []string{"\r", "\n\r\n"}, []frame{{FramePing, "\r\n\r\n"}}, true},
		{"ping split 2+2", []string{"\r\n", "\r\n"}, []frame{{FramePing, "\r\n\r\n"}}, true},
		{"ping split 3+1", []string{"\r\n\r", "\n"}, []frame{{FramePing, "\r\n\r\n"}}, true},
		{"ping byte by byte", []string{"\r", "\n", "\r", "\n"}, []frame{{FramePing, "\r\n\r\n"}}, true},
		{"two pings", []string{"\r\n\r\n\r\n\r\n"}, []frame{{FramePing, "\r\n\r\n"}, {FramePing, "\r\n\r\n"}}, true},
		{"CRLF before a message", []string{"\r\n" + msg}, []frame{{FrameSkip, "\r\n"}, {FrameMessage, msg}}, true},
		{"CRLF then message later", []string{"\r\n", msg}, []frame{{FrameSkip, "\r\n"}, {FrameMessage, msg}}, true},
		{"ping then message", []string{"\r\n\r\n" + msg}, []frame{{FramePing, "\r\n\r\n"}, {FrameMessage, msg}}, true},
		{"ping, CRLF, message", []string{"\r\n\r\n\r\n" + msg}, []frame{{FramePing, "\r\n\r\n"}, {FrameSkip, "\r\n"}, {FrameMessage, msg}}, true},
		{"message then ping", []string{msg + "\r\n\r\n"}, []frame{{FrameMessage, msg}, {FramePing, "\r\n\r\n"}}, true},
		{"bare LF skipped", []string{"\n" + msg}, []frame{{FrameSkip, "\n"}, {FrameMessage, msg}}, true},
		// A lone CRLF (a pong) may be the start of a ping: it waits.
		{"lone CRLF", []string{"\r\n"}, nil, true},
		{"lone CR", []string{"\r"}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &conn{t: t, stream: []byte(strings.Join(tc.chunks, ""))}
			for _, ch := range tc.chunks {
				c.deliver(len(ch))
			}
			if c.err != nil {
				t.Fatalf("error %v", c.err)
			}
			if fmt.Sprint(c.frames) != fmt.Sprint(tc.want) {
				t.Errorf("frames %v\nwant %v", c.frames, tc.want)
			}
		})
	}
	for _, bad := range []string{"\rX", "\r\rINVITE", "\r\n\rX", "\r\r\n\r\n"} {
		c := &conn{t: t, stream: []byte(bad)}
		c.deliver(len(bad))
		if !errors.Is(c.err, ErrNotSIP) || !c.err.(*FrameError).Fatal {
			t.Errorf("%q: %v (frames %v), want a fatal ErrNotSIP", bad, c.err, c.frames)
		}
	}
}

// streamOf lays messages back to back and returns the stream and the
// frames that a Framer must report for it.
func streamOf(parts ...string) ([]byte, []frame) {
	var want []frame
	for _, p := range parts {
		switch p {
		case "\r\n\r\n":
			want = append(want, frame{FramePing, p})
		case "\r\n":
			want = append(want, frame{FrameSkip, p})
		default:
			want = append(want, frame{FrameMessage, p})
		}
	}
	return []byte(strings.Join(parts, "")), want
}

// TestFramerCuts delivers a stream cut at every byte boundary: in two
// pieces at each cut point, and one byte at a time.
func TestFramerCuts(t *testing.T) {
	msgs := corpus.Messages()
	const text = "body\r\n\r\nwith\r\n\r\nCRLFCRLF"
	withBody := string(build("MESSAGE sip:b@example.com SIP/2.0", []string{"CSeq: 2 MESSAGE", "-Content-Length",
		fmt.Sprintf("+l: %d", len(text)), "Content-Type: text/plain"}, text))
	stream, want := streamOf(
		string(msgs[0].Bytes), "\r\n\r\n", withBody, "\r\n", string(msgs[2].Bytes), string(msgs[3].Bytes),
		"\r\n\r\n", "\r\n\r\n", withBody,
	)
	// uncut
	c := &conn{t: t, stream: stream}
	c.deliver(len(stream))
	if c.err != nil || fmt.Sprint(c.frames) != fmt.Sprint(want) {
		t.Fatalf("uncut: %v\nframes %v\nwant %v", c.err, c.frames, want)
	}
	// two pieces, cut at every byte
	for cut := 1; cut < len(stream); cut++ {
		c := &conn{t: t, stream: stream}
		c.deliver(cut)
		c.deliver(len(stream) - cut)
		if c.err != nil || fmt.Sprint(c.frames) != fmt.Sprint(want) {
			t.Fatalf("cut at %d: %v\nframes %v", cut, c.err, c.frames)
		}
	}
	// growing prefixes, one byte at a time
	c = &conn{t: t, stream: stream}
	for i := 0; i < len(stream); i++ {
		c.deliver(1)
	}
	if c.err != nil || fmt.Sprint(c.frames) != fmt.Sprint(want) {
		t.Fatalf("byte by byte: %v\nframes %v", c.err, c.frames)
	}
	// random cuts of the 100-message corpus stream
	big, ends := corpus.Stream(corpus.StreamLen)
	for seed := uint64(1); seed <= 5; seed++ {
		c := &conn{t: t, stream: big}
		for _, ch := range corpus.Cut(big, seed, 1+int(seed)*300) {
			c.deliver(len(ch))
		}
		if c.err != nil || len(c.frames) != len(ends) {
			t.Fatalf("seed %d: %v, %d frames", seed, c.err, len(c.frames))
		}
		prev := 0
		for i, e := range ends {
			if c.frames[i].kind != FrameMessage || c.frames[i].b != string(big[prev:e]) {
				t.Fatalf("seed %d: frame %d differs", seed, i)
			}
			prev = e
		}
	}
}

// TestFramerPipelined frames many messages that arrive in one buffer.
func TestFramerPipelined(t *testing.T) {
	stream, ends := corpus.Stream(20)
	var f Framer
	buf := stream
	for i, e := range ends {
		start := len(stream) - len(buf)
		n, kind, err := f.Next(buf)
		if err != nil || kind != FrameMessage || start+n != e {
			t.Fatalf("message %d: %d %v %v, want end %d", i, n, kind, err, e)
		}
		var m Message
		if err := m.Parse(buf[:n]); err != nil {
			t.Fatalf("message %d does not parse: %v", i, err)
		}
		buf = buf[n:]
	}
	if n, _, err := f.Next(buf); err != ErrNeedMore || n != 0 {
		t.Errorf("after the stream: %d %v", n, err)
	}
}

func TestFramerContentLength(t *testing.T) {
	base := func(edits ...string) []byte { return build("OPTIONS sip:a SIP/2.0", edits, "") }
	tests := []struct {
		name string
		msg  []byte
		err  error // nil: one message of len(msg)
	}{
		{"compact l", base("-Content-Length", "+l: 0"), nil},
		{"compact L no space", base("-Content-Length", "+L:0"), nil},
		{"LWS before colon", base("-Content-Length", "+Content-Length \t: 0"), nil},
		{"lower case", base("-Content-Length", "+content-length: 0"), nil},
		{"upper case", base("-Content-Length", "+CONTENT-LENGTH: 0"), nil},
		{"compact with a tab", base("-Content-Length", "+L\t: 0"), nil},
		{"look-alikes are not it", base("+Content-Lengtx: 5", "+Call-ID-Length: 5", "+Lx: 5", "+c: 5"), nil},
		{"folded", base("Content-Length:\r\n 0"), nil},
		{"folded twice", base("Content-Length:\r\n\t\r\n  0  "), nil},
		{"leading zeros", base("Content-Length: 0000"), nil},
		{"same twice", base("+l: 0"), nil},
		{"with body", build("OPTIONS sip:a SIP/2.0", []string{"Content-Length: 5"}, "hello"), nil},
		{"Content-Type is not it", base("-Content-Length", "+Content-Type: application/sdp", "+c: 5"), ErrNoContentLength},
		{"missing", base("-Content-Length"), ErrNoContentLength},
		{"in a fold only", base("-Content-Length", "+Subject: x\r\n Content-Length: 0"), ErrNoContentLength},
		{"other header", base("-Content-Length", "+Content-Length-X: 0"), ErrNoContentLength},
		{"negative", base("Content-Length: -1"), ErrBadContentLength},
		{"non-numeric", base("Content-Length: abc"), ErrBadContentLength},
		{"empty", base("Content-Length:"), ErrBadContentLength},
		{"two numbers", base("Content-Length: 1 2"), ErrBadContentLength},
		{"hex", base("Content-Length: 0x10"), ErrBadContentLength},
		{"too big", base("Content-Length: 99999999999999999999"), ErrBadContentLength},
		{"2^31", base("Content-Length: 2147483648"), ErrBadContentLength},
		{"conflicting", base("+l: 5"), ErrContentLengthConflict},
		{"conflicting folded", base("+Content-Length:\r\n 7"), ErrContentLengthConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f Framer
			n, kind, err := f.Next(tc.msg)
			if tc.err == nil {
				if err != nil || kind != FrameMessage || n != len(tc.msg) {
					t.Fatalf("Next = %d %v %v, want a %d-byte message", n, kind, err, len(tc.msg))
				}
				var m Message
				if err := m.Parse(tc.msg[:n]); err != nil {
					t.Errorf("framed message does not parse: %v", err)
				}
				return
			}
			var fe *FrameError
			if !errors.Is(err, tc.err) || !errors.As(err, &fe) || !fe.Fatal || n != 0 {
				t.Fatalf("Next = %d %v %v, want a fatal %v", n, kind, err, tc.err)
			}
		})
	}
	// The body is taken by count, whatever it holds.
	body := "v=0\r\n\r\n\r\nSIP/2.0 200 OK\r\n\r\n"
	msg := build("MESSAGE sip:a SIP/2.0", []string{"CSeq: 1 MESSAGE", fmt.Sprintf("Content-Length: %d", len(body))}, body)
	var f Framer
	if n, _, err := f.Next(append(msg, "INVITE"...)); err != nil || n != len(msg) {
		t.Errorf("body with CRLFs: %d %v", n, err)
	}
}

func TestFramerNotSIP(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		err  error
	}{
		{"HTTP", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", ErrNotSIP},
		{"HTTP line only", "GET / HTTP/1.1\r\n", ErrNotSIP},
		{"text", "hello world\n", ErrNotSIP},
		{"TLS hello on a plain port", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n", ErrNotSIP},
		{"status line typo", "SIP2.0 200 OK\r\n\r\n", ErrNotSIP},
		{"space first", " INVITE sip:a SIP/2.0\r\n", nil}, // looks like a request line; Parse refuses it
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &conn{t: t, stream: []byte(tc.in)}
			c.deliver(len(tc.in))
			if tc.err == nil {
				if c.err != nil {
					t.Errorf("error %v", c.err)
				}
				return
			}
			if !errors.Is(c.err, tc.err) || !c.err.(*FrameError).Fatal {
				t.Errorf("error %v, want a fatal %v", c.err, tc.err)
			}
		})
	}
	// Garbage without a line end is waited for until the header limit.
	f := Framer{Limits: Limits{MaxHeaderBytes: 100, MaxMessageBytes: 200}}
	junk := bytes.Repeat([]byte{0xff}, 101)
	for i := 1; i <= 100; i++ {
		if _, _, err := f.Next(junk[:i]); err != ErrNeedMore {
			t.Fatalf("%d bytes: %v", i, err)
		}
	}
	if _, _, err := f.Next(junk); !errors.Is(err, ErrHeaderTooLarge) {
		t.Errorf("101 bytes: %v", err)
	}
}

// TestFramerHeaderLimit: a header section over the limit is a fatal error
// found before more than the limit is buffered.
func TestFramerHeaderLimit(t *testing.T) {
	lim := Limits{MaxHeaderBytes: 512, MaxMessageBytes: 1024}
	long := build("OPTIONS sip:a SIP/2.0", []string{"+X-Pad: " + strings.Repeat("p", 600)}, "")
	f := Framer{Limits: lim}
	for i := 1; i <= len(long); i++ {
		n, _, err := f.Next(long[:i])
		if err == ErrNeedMore {
			if i > lim.MaxHeaderBytes {
				t.Fatalf("asked for more with %d bytes buffered, limit %d", i, lim.MaxHeaderBytes)
			}
			continue
		}
		var fe *FrameError
		if !errors.Is(err, ErrHeaderTooLarge) || !errors.As(err, &fe) || !fe.Fatal || n != 0 {
			t.Fatalf("%d bytes: %d %v", i, n, err)
		}
		break
	}
	// Whole, in one buffer.
	f.Reset()
	if _, _, err := f.Next(long); !errors.Is(err, ErrHeaderTooLarge) {
		t.Errorf("whole: %v", err)
	}
	// Exactly at the limit.
	fit := build("OPTIONS sip:a SIP/2.0", []string{"+X-Pad: " + strings.Repeat("p", 100)}, "")
	lim.MaxHeaderBytes = len(fit)
	f = Framer{Limits: lim}
	if n, _, err := f.Next(fit); err != nil || n != len(fit) {
		t.Errorf("header at the limit: %d %v", n, err)
	}
	lim.MaxHeaderBytes--
	f = Framer{Limits: lim}
	if _, _, err := f.Next(fit); !errors.Is(err, ErrHeaderTooLarge) {
		t.Errorf("header one byte over: %v", err)
	}
	// The default limit.
	var fd Framer
	huge := build("OPTIONS sip:a SIP/2.0", []string{"+X-Pad: " + strings.Repeat("p", DefaultMaxHeaderBytes)}, "")
	if _, _, err := fd.Next(huge[:DefaultMaxHeaderBytes]); err != ErrNeedMore {
		t.Errorf("at the default limit: %v", err)
	}
	if _, _, err := fd.Next(huge[:DefaultMaxHeaderBytes+1]); !errors.Is(err, ErrHeaderTooLarge) {
		t.Errorf("over the default limit: %v", err)
	}
}

// TestFramerOversizeBody: a message over MaxMessageBytes with a body the
// Framer may skip is refused without closing the stream.
func TestFramerOversizeBody(t *testing.T) {
	lim := Limits{MaxHeaderBytes: 1024, MaxMessageBytes: 2048, MaxSkipBytes: 10000}
	body := strings.Repeat("B", 5000)
	big := string(build("MESSAGE sip:a SIP/2.0", []string{"CSeq: 9 MESSAGE", "Content-Length: 5000"}, body))
	hlen := len(big) - len(body)
	next := string(options("sip:next@example.com"))
	stream := []byte(big + "\r\n\r\n" + next)

	for _, chunk := range []int{1, 7, 100, 1000, len(stream)} {
		t.Run(fmt.Sprint(chunk), func(t *testing.T) {
			c := &conn{t: t, stream: stream}
			c.f.Limits = lim
			for sent := 0; sent < len(stream); sent += chunk {
				c.deliver(min(chunk, len(stream)-sent))
				if c.have > lim.MaxMessageBytes {
					t.Fatalf("%d bytes buffered", c.have)
				}
			}
			if c.err != nil {
				t.Fatal(c.err)
			}
			// the header section, then skips totalling the body, a ping, the next message
			if len(c.frames) < 3 || c.frames[0].kind != 0 || c.frames[0].b != big[:hlen] {
				t.Fatalf("frames %v", c.frames)
			}
			skipped := 0
			i := 1
			for ; i < len(c.frames) && c.frames[i].kind == FrameSkip && skipped < len(body); i++ {
				skipped += len(c.frames[i].b)
			}
			if skipped != len(body) {
				t.Fatalf("skipped %d body bytes, want %d", skipped, len(body))
			}
			rest := fmt.Sprint(c.frames[i:])
			if want := fmt.Sprint([]frame{{FramePing, "\r\n\r\n"}, {FrameMessage, next}}); rest != want {
				t.Errorf("after the body: %s\nwant %s", rest, want)
			}
		})
	}
	// The header section of the refused message is answerable with 513.
	var f Framer
	f.Limits = lim
	n, _, err := f.Next(stream)
	var fe *FrameError
	if !errors.As(err, &fe) || fe.Fatal || fe.HeaderLen != n || n != hlen {
		t.Fatalf("Next = %d %v", n, err)
	}
	var m Message
	m.Limits = lim
	_ = m.Parse(stream[:n]) // the body is missing: ErrShortBody
	if !m.Answerable() || m.Method != MethodMessage || str(&m, m.MethodName) != "MESSAGE" {
		t.Fatalf("refused header section not answerable")
	}
	out := AppendResponse(nil, &m, 513, "Message Too Large", []byte("x"))
	if !bytes.HasPrefix(out, []byte("SIP/2.0 513 Message Too Large\r\n")) {
		t.Errorf("response %q", out)
	}

	// A body above MaxSkipBytes closes the stream.
	lim.MaxSkipBytes = 4999
	f = Framer{Limits: lim}
	if _, _, err := f.Next(stream); !errors.Is(err, ErrMessageTooLarge) || !errors.As(err, &fe) || !fe.Fatal {
		t.Errorf("body above MaxSkipBytes: %v", err)
	}
	// A message exactly at MaxMessageBytes is framed.
	lim = Limits{MaxHeaderBytes: 1024, MaxMessageBytes: len(big)}
	f = Framer{Limits: lim}
	if n, kind, err := f.Next([]byte(big)); err != nil || kind != FrameMessage || n != len(big) {
		t.Errorf("at MaxMessageBytes: %d %v %v", n, kind, err)
	}
	lim.MaxMessageBytes--
	f = Framer{Limits: lim}
	if _, _, err := f.Next([]byte(big)); !errors.Is(err, ErrMessageTooLarge) {
		t.Errorf("one byte over MaxMessageBytes: %v", err)
	}
}

// TestFramerNeedMoreBody: every prefix of a message with a body asks for
// more, the whole message is framed at once, and the Framer then starts on
// the next message afresh.
func TestFramerNeedMoreBody(t *testing.T) {
	body := strings.Repeat("x", 300)
	msg := build("MESSAGE sip:a SIP/2.0", []string{"CSeq: 1 MESSAGE", "Content-Length: 300"}, body)
	var f Framer
	for i := 1; i < len(msg); i++ {
		if n, _, err := f.Next(msg[:i]); err != ErrNeedMore || n != 0 {
			t.Fatalf("%d of %d bytes: %d %v", i, len(msg), n, err)
		}
	}
	if n, kind, err := f.Next(msg); err != nil || kind != FrameMessage || n != len(msg) {
		t.Fatalf("whole: %d %v %v", n, kind, err)
	}
	short := options("sip:a")
	if n, kind, err := f.Next(short); err != nil || kind != FrameMessage || n != len(short) {
		t.Fatalf("next message: %d %v %v", n, kind, err)
	}
}

// TestFramerReset forgets a partial message.
func TestFramerReset(t *testing.T) {
	msg := options("sip:a@example.com")
	f := Framer{Limits: Limits{MaxHeaderBytes: 4096}}
	if _, _, err := f.Next(msg[:len(msg)/2]); err != ErrNeedMore {
		t.Fatal(err)
	}
	f.Reset()
	if f.Limits.MaxHeaderBytes != 4096 {
		t.Error("Reset lost the limits")
	}
	other := options("sip:b@example.com")
	if n, _, err := f.Next(other); err != nil || n != len(other) {
		t.Errorf("after Reset: %d %v", n, err)
	}
	// after a fatal error the Framer starts over as well
	f.Reset()
	if _, _, err := f.Next([]byte("GET / HTTP/1.1\r\n")); err == nil {
		t.Fatal("no error")
	}
	f.Reset()
	if n, _, err := f.Next(other); err != nil || n != len(other) {
		t.Errorf("after a fatal error and Reset: %d %v", n, err)
	}
}

// TestFramerRFC4475 frames every RFC 4475 message that has a correct
// Content-Length as one message of its own length.
func TestFramerRFC4475(t *testing.T) {
	for name, b := range readRFC4475(t) {
		var f Framer
		n, kind, err := f.Next(b)
		var m Message
		perr := m.Parse(b)
		switch {
		case err == nil:
			if kind != FrameMessage || n > len(b) {
				t.Errorf("%s: %d %v", name, n, kind)
			}
			if perr == nil && n != len(b) && name != "dblreq" {
				t.Errorf("%s: framed %d of %d bytes", name, n, len(b))
			}
		case err == ErrNeedMore:
			if perr == nil && m.ContentLen >= 0 {
				t.Errorf("%s: valid message with Content-Length not framed", name)
			}
		}
	}
}
