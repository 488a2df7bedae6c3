package engine

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/pool"
	"github.com/sipcm/sipcm/sipparse"
)

func newEndpoint(t testing.TB, cfg dispatch.EndpointConfig) *dispatch.Endpoint {
	t.Helper()
	if cfg.Handler == nil {
		cfg.Handler = answer(200)
	}
	e, err := dispatch.NewEndpoint(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// answer is an endpoint handler that takes every request and answers all
// but ACK with status.
func answer(status int) dispatch.Handler {
	return dispatch.HandlerFunc(func(c dispatch.Conn, m *sipparse.Message) int {
		if m.Method != sipparse.MethodAck {
			_ = c.Respond(m, status, "")
		}
		return 0
	})
}

// request returns a request from a remote peer, as a string to send.
func request(method, ruri, callID string, cseq int) string {
	return method + " " + ruri + " SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK" + callID + strconv.Itoa(cseq) + "\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:carol@example.org>;tag=c1\r\n" +
		"To: <" + ruri + ">\r\n" +
		"Call-ID: " + callID + "\r\n" +
		"CSeq: " + strconv.Itoa(cseq) + " " + method + "\r\n" +
		"Content-Length: 0\r\n\r\n"
}

// outRequest returns a request for Dispatcher.Send (no Via).
func outRequest(method, callID string) []byte {
	return []byte(method + " sip:proxy@127.0.0.1 SIP/2.0\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:alice@example.com>;tag=a1\r\n" +
		"To: <sip:proxy@127.0.0.1>\r\n" +
		"Call-ID: " + callID + "\r\n" +
		"CSeq: 1 " + method + "\r\n" +
		"Content-Length: 0\r\n\r\n")
}

// TestDispatchWired: with no Handler, a server's dispatcher gets every
// request read over real sockets, routes it to its endpoints and answers
// what no endpoint takes.
func TestDispatchWired(t *testing.T) {
	s, addr := startServer(t, Config{})
	const tgruu = "sip:tgruu.7hs==jd7vnzga5w7fajsc7-ajd6fabz0f8g5@example.com;gr"
	reached := make(chan string, 10)
	ep := newEndpoint(t, dispatch.EndpointConfig{
		AOR:  "sip:alice@example.com",
		GRUU: tgruu,
		Handler: dispatch.HandlerFunc(func(c dispatch.Conn, m *sipparse.Message) int {
			reached <- string(m.Bytes(m.MethodName)) + " " + string(m.Bytes(m.RequestURI.Raw))
			_ = c.Respond(m, 200, "")
			return 0
		}),
	})
	if err := s.Dispatcher().Add(ep); err != nil {
		t.Fatal(err)
	}
	c := dial(t, addr)
	expect := func(status int, cseq string) {
		t.Helper()
		resp := c.mustRead()
		if statusOf(resp) != status || header(resp, "CSeq") != cseq {
			t.Fatalf("got %q, want %d for %s", resp, status, cseq)
		}
	}
	expectReached := func(want string) {
		t.Helper()
		select {
		case got := <-reached:
			if got != want {
				t.Fatalf("endpoint got %q, want %q", got, want)
			}
		default:
			t.Fatalf("endpoint not reached by %q", want)
		}
	}

	// An INVITE for an unknown user: the manager answers 500.
	c.send(request("INVITE", "sip:nobody@example.com", "inv", 1))
	expect(500, "1 INVITE")

	// An ACK gets nothing: the OPTIONS behind it on the connection gets
	// the next answer, which the AOR's endpoint gives.
	c.send(request("ACK", "sip:nobody@example.com", "inv", 1) +
		request("OPTIONS", "sip:alice@example.com", "opt", 2))
	expect(200, "2 OPTIONS")
	expectReached("OPTIONS sip:alice@example.com")

	// A request to the endpoint's GRUU reaches it; the GRUU's user is not
	// the AOR's, so only the GRUU rule can route it.
	c.send(request("MESSAGE", tgruu, "msg", 3))
	expect(200, "3 MESSAGE")
	expectReached("MESSAGE " + tgruu)

	// A CANCEL that matches nothing: 481.
	c.send(request("CANCEL", "sip:nobody@example.com", "inv", 1))
	expect(481, "1 CANCEL")

	st := s.Dispatcher().Stats()
	if st.Requests != 5 || st.Unrouted != 3 || st.RoutedAOR != 1 || st.RoutedGRUU != 1 || st.Replies != 2 {
		t.Errorf("dispatcher stats %+v", st)
	}
}

// TestDispatcherSeesCloseWithHandler: with a Handler of its own, a
// manager's dispatcher still learns that connections closed, so requests
// outstanding on them end.
func TestDispatcherSeesCloseWithHandler(t *testing.T) {
	up := newUpstream(t, false)
	cm, err := NewClientManager(Config{Logger: testLogger(t), Loops: 1,
		Handler: handlerFunc(func(*Conn, *sipparse.Message) {})})
	if err != nil {
		t.Fatal(err)
	}
	if err := cm.Start(); err != nil {
		t.Fatal(err)
	}
	defer cm.Close()
	e := newEndpoint(t, dispatch.EndpointConfig{AOR: "sip:alice@example.com"})
	if err := cm.Dispatcher().Add(e); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	err = cm.Dispatcher().Send(e, up.dest(), outRequest("OPTIONS", "close-1"),
		func(_ dispatch.Conn, m *sipparse.Message, err error) {
			if m == nil {
				ended <- err
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	up.waitTotal(t, 1)
	up.kill(t)
	if err := <-ended; !errors.Is(err, dispatch.ErrConnBroken) {
		t.Fatalf("request ended with %v, want ErrConnBroken", err)
	}
}

// TestTryConnFor gets a connection without blocking: the first call starts
// the dial and reports it, ready tells when it is done, and the request
// sent on the connection with SendOn gets its response.
func TestTryConnFor(t *testing.T) {
	up := newUpstream(t, true)
	s, _ := startServer(t, Config{})
	e := newEndpoint(t, dispatch.EndpointConfig{AOR: "sip:alice@example.com"})
	dst := up.dest()
	if _, err := s.TryConnFor(e, dst, nil); !errors.Is(err, dispatch.ErrNotAdded) {
		t.Fatalf("endpoint not added: %v", err)
	}
	if err := s.Dispatcher().Add(e); err != nil {
		t.Fatal(err)
	}
	ready := make(chan error, 1)
	c, err := s.TryConnFor(e, dst, func(err error) { ready <- err })
	switch {
	case err == nil:
		// The dial it started finished before it looked again: fine, it
		// never blocked on it.
	case errors.Is(err, pool.ErrDialing):
		if err := <-ready; err != nil {
			t.Fatalf("dial: %v", err)
		}
		if c, err = s.TryConnFor(e, dst, nil); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("first TryConnFor: %v, want a connection or pool.ErrDialing", err)
	}
	status := make(chan int, 1)
	if err := s.Dispatcher().SendOn(e, c, dst.Transport, outRequest("OPTIONS", "try-1"),
		func(_ dispatch.Conn, m *sipparse.Message, err error) {
			if m != nil {
				status <- m.StatusCode
			} else {
				status <- -1
			}
		}); err != nil {
		t.Fatal(err)
	}
	if got := <-status; got != 200 {
		t.Fatalf("status %d", got)
	}
	if _, err := s.TryConnFor(e, dispatch.Dest{Host: "127.0.0.1", Transport: "SCTP"}, nil); !errors.Is(err, ErrTransport) {
		t.Errorf("unknown transport: %v", err)
	}
	// TLS is dialed: nothing listens on 127.0.0.1:1.
	if _, err := s.ConnFor(context.Background(), e, dispatch.Dest{Host: "127.0.0.1", Port: 1, Transport: "TLS"}); err == nil || errors.Is(err, ErrTransport) {
		t.Errorf("TLS to a closed port: %v, want a dial error", err)
	}
}
