package bench

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/sipparse"
)

// inputCase is bad input written on a fresh connection, and what the
// server must do: answer with the statuses in order, then keep the
// connection (open: a new OPTIONS is answered) or close it, with the
// counters moved by the given amounts.
type inputCase struct {
	name     string
	send     []string // written one after the other
	answers  []int    // statuses read after the writes
	open     bool
	framing  uint64 // Stats.FramingErrors increment
	oversize uint64 // Stats.Oversize increment
}

// runInputCases runs each case on a server of its own.
func runInputCases(t *testing.T, cases []inputCase) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			s := startHostile(t, engine.Config{}, true)
			c := dialSIP(t, s.addr, netip.Addr{})
			for _, b := range tt.send {
				if err := c.send(b); err != nil {
					t.Fatal(err)
				}
			}
			for i, want := range tt.answers {
				status, msg, err := c.read()
				if err != nil || status != want {
					t.Fatalf("answer %d: %d %v (%q), want %d", i, status, err, msg, want)
				}
			}
			if tt.open {
				c.mustAnswer(t, "after", 1, 200)
			} else {
				c.expectClosed(t)
				waitFor(t, "the close", func() bool { return s.Stats().ConnsIn == 0 })
			}
			st := s.Stats()
			if st.FramingErrors != tt.framing || st.Oversize != tt.oversize {
				t.Errorf("framing errors %d, oversize %d; want %d, %d (stats %+v)",
					st.FramingErrors, st.Oversize, tt.framing, tt.oversize, st)
			}
			state := "closed"
			if tt.open {
				state = "kept open"
			}
			t.Logf("%d bytes: answers %v, connection %s, framing errors %d, oversize %d, bad requests %d",
				sumLen(tt.send), tt.answers, state, st.FramingErrors, st.Oversize, st.BadRequests)
		})
	}
}

func sumLen(ss []string) int {
	n := 0
	for _, s := range ss {
		n += len(s)
	}
	return n
}

// randomBytes returns n bytes from a fixed seed.
func randomBytes(n int, noLF bool) string {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
		if noLF && b[i] == '\n' {
			b[i] = 'x'
		}
	}
	return string(b)
}

// TestHostileGarbage: bytes that are not SIP close the connection and are
// counted as framing errors; what came before them is answered.
func TestHostileGarbage(t *testing.T) {
	runInputCases(t, []inputCase{
		{name: "binary line", send: []string{"\x00\x01\x02\xfe\xff\r\n"}, framing: 1},
		{name: "random", send: []string{randomBytes(4096, false)}, framing: 1},
		{name: "HTTP", send: []string{"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"}, framing: 1},
		{name: "TLS record on TCP", send: []string{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n"}, framing: 1},
		{name: "stray CR", send: []string{"\rX"}, framing: 1},
		{name: "after a request", send: []string{hostileOptions("g", 1), "hello\r\n"}, answers: []int{200}, framing: 1},
		// No line end: refused once past the header limit, not buffered on.
		{name: "binary without line end", send: []string{randomBytes(sipparse.DefaultMaxHeaderBytes+1, true)}, framing: 1},
		// A start line that looks like SIP but does not parse still frames:
		// answered by the parser's status, and the stream goes on.
		{name: "extra space in request line", send: []string{strings.Replace(hostileOptions("g", 2), "OPTIONS ", "OPTIONS  ", 1)},
			answers: []int{400}, open: true},
		{name: "SIP/3.0", send: []string{strings.Replace(hostileOptions("g", 3), " SIP/2.0\r\n", " SIP/3.0\r\n", 1)},
			answers: []int{505}, open: true},
	})
}

// TestHostileContentLength: a missing, malformed or conflicting
// Content-Length closes the connection; one smaller than the body makes
// the rest of the body the next message, which is closed as not SIP or
// answered if it is a request.
func TestHostileContentLength(t *testing.T) {
	noCL := optionsWith("cl", 1, "", "")
	runInputCases(t, []inputCase{
		{name: "missing", send: []string{noCL}, framing: 1},
		{name: "negative", send: []string{optionsWith("cl", 1, "Content-Length: -1\r\n", "")}, framing: 1},
		{name: "not a number", send: []string{optionsWith("cl", 1, "Content-Length: ten\r\n", "")}, framing: 1},
		{name: "beyond 2^31", send: []string{optionsWith("cl", 1, "Content-Length: 99999999999\r\n", "")}, framing: 1},
		{name: "conflicting", send: []string{optionsWith("cl", 1, "Content-Length: 0\r\nl: 5\r\n", "hello")}, framing: 1},
		{name: "smaller, rest not SIP", send: []string{optionsWith("cl", 1, "Content-Length: 5\r\n", "hello world\r\n")},
			answers: []int{200}, framing: 1},
		{name: "smaller, rest a request", send: []string{optionsWith("cl", 1, "Content-Length: 0\r\n", hostileOptions("cl", 2))},
			answers: []int{200, 200}, open: true},
	})

	// Larger than the body: the server waits for the rest; the first
	// message that never completes is closed by the first-message timeout,
	// a later one by the idle timeout. Neither is closed before.
	lying := optionsWith("cl", 9, "Content-Length: 100\r\n", "only ten b")
	t.Run("larger, first message", func(t *testing.T) {
		s := startHostile(t, engine.Config{}, true)
		timeout := engine.DefaultFirstMessageTimeout
		probe := dialSIP(t, s.addr, netip.Addr{}) // times out 2 s before c
		waitFor(t, "the probe", func() bool { return s.Stats().ConnsIn == 1 })
		s.clock.Add(2 * time.Second)
		c := dialSIP(t, s.addr, netip.Addr{})
		waitFor(t, "the connection", func() bool { return s.Stats().ConnsIn == 2 })
		s.seen(t, c.nc, time.Second, func() error { return c.send(lying) })
		s.clock.Set(timeout)
		probe.expectClosed(t)
		waitFor(t, "the probe's timeout", func() bool { return s.Stats().FirstMessageTimeouts == 1 })
		if s.Stats().ConnsIn != 1 {
			t.Fatal("closed before the first-message timeout")
		}
		s.clock.Set(timeout + 3*time.Second)
		c.expectClosed(t)
		waitFor(t, "the timeout", func() bool { return s.Stats().FirstMessageTimeouts == 2 })
		if st := s.Stats(); st.FramingErrors != 0 || st.MessagesIn != 0 {
			t.Errorf("stats %+v", st)
		}
		t.Logf("Content-Length 100 with 10 bytes sent: held, then closed by the first-message timeout (%v)", timeout)
	})
	t.Run("larger, later message", func(t *testing.T) {
		s := startHostile(t, engine.Config{}, true)
		idle := engine.DefaultIdleTimeoutIn
		probe := dialSIP(t, s.addr, netip.Addr{}) // idle from 0
		probe.mustAnswer(t, "probe", 1, 200)
		c := dialSIP(t, s.addr, netip.Addr{})
		c.mustAnswer(t, "cl", 1, 200)
		s.seen(t, c.nc, 2*time.Second, func() error { return c.send(lying) }) // idle from 2 s
		s.clock.Set(idle)
		probe.expectClosed(t)
		waitFor(t, "the probe's timeout", func() bool { return s.Stats().IdleTimeouts == 1 })
		if s.Stats().ConnsIn != 1 {
			t.Fatal("closed before the idle timeout")
		}
		s.clock.Set(idle + 5*time.Second)
		c.expectClosed(t)
		waitFor(t, "the idle timeout", func() bool { st := s.Stats(); return st.IdleTimeouts == 2 && st.ConnsIn == 0 })
		if st := s.Stats(); st.FramingErrors != 0 || st.MessagesIn != 2 {
			t.Errorf("stats %+v", st)
		}
		t.Logf("Content-Length 100 with 10 bytes sent after a request: held, then closed by the idle timeout (%v)", idle)
	})
}

// TestHostileOversize: a header section past 16 KiB closes the connection
// as soon as the server holds one byte more than the limit; a body past
// 64 KiB is refused with 513 before it is sent, skipped, and the
// connection goes on; one past the skip limit (1 MiB) closes it.
func TestHostileOversize(t *testing.T) {
	pad := "X-Pad: " + strings.Repeat("p", sipparse.DefaultMaxHeaderBytes) + "\r\n"
	runInputCases(t, []inputCase{
		{name: "header section", send: []string{optionsWith("big", 1, pad+"Content-Length: 0\r\n", "")}, framing: 1},
		{name: "many header lines", send: []string{optionsWith("big", 1, strings.Repeat("X-A: a\r\n", 200)+"Content-Length: 0\r\n", "")},
			answers: []int{400}, open: true}, // past MaxHeaders (128): parsed, refused
		{name: "body past the skip limit", send: []string{optionsWith("big", 1, "Content-Length: 2000000\r\n", "")}, framing: 1},
	})

	t.Run("header at the limit, then one byte more", func(t *testing.T) {
		s := startHostile(t, engine.Config{}, true)
		c := dialSIP(t, s.addr, netip.Addr{})
		waitFor(t, "the connection", func() bool { return s.Stats().ConnsIn == 1 })
		head := optionsWith("limit", 1, "X-Pad: ", "")
		head += strings.Repeat("p", sipparse.DefaultMaxHeaderBytes-len(head)) // no line end yet
		s.seen(t, c.nc, time.Millisecond, func() error { return c.send(head) })
		if st := s.Stats(); st.ConnsIn != 1 || st.FramingErrors != 0 {
			t.Fatalf("closed at %d bytes, the limit: %+v", len(head), st)
		}
		if err := c.send("p"); err != nil {
			t.Fatal(err)
		}
		c.expectClosed(t)
		waitFor(t, "the framing error", func() bool { return s.Stats().FramingErrors == 1 })
		t.Logf("incomplete header of %d bytes held; closed at %d", len(head), len(head)+1)
	})

	t.Run("endless header flood", func(t *testing.T) {
		s := startHostile(t, engine.Config{}, true)
		c := dialSIP(t, s.addr, netip.Addr{})
		line := "X-Flood: " + strings.Repeat("f", 1013) + "\r\n" // 1 KiB lines
		chunk := optionsWith("flood", 1, strings.Repeat(line, 4), "")
		chunk = chunk[:len(chunk)-2] // no empty line
		sent, err := 0, error(nil)
		for sent < 64<<20 && err == nil {
			err = c.send(chunk)
			if err == nil {
				sent += len(chunk)
			}
			chunk = strings.Repeat(line, 4)
		}
		if err == nil {
			t.Fatalf("server took %d bytes of one header section", sent)
		}
		waitFor(t, "the close", func() bool { st := s.Stats(); return st.ConnsIn == 0 && st.FramingErrors == 1 })
		t.Logf("endless header: the client wrote %d bytes (kernel buffers included) before the reset (%v); limit %d",
			sent, errors.Unwrap(err), sipparse.DefaultMaxHeaderBytes)
	})

	t.Run("body past 64 KiB", func(t *testing.T) {
		s := startHostile(t, engine.Config{}, true)
		c := dialSIP(t, s.addr, netip.Addr{})
		const size = 70000
		if err := c.send(optionsWith("big", 1, "Content-Length: "+strconv.Itoa(size)+"\r\n", "")); err != nil {
			t.Fatal(err)
		}
		// The 513 comes before any of the body is sent.
		status, msg, err := c.read()
		if err != nil || status != 513 {
			t.Fatalf("answer %d %v %q, want 513", status, err, msg)
		}
		if err := c.send(strings.Repeat("b", size)); err != nil {
			t.Fatal(err)
		}
		c.mustAnswer(t, "big", 2, 200)
		st := s.Stats()
		if st.Oversize != 1 || st.FramingErrors != 0 || st.ConnsIn != 1 {
			t.Errorf("stats %+v", st)
		}
		t.Logf("Content-Length %d: 513 before the body was sent, body skipped, next request answered 200", size)
	})
}
