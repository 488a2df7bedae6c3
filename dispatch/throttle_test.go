package dispatch

import (
	"errors"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	env := newEnv(t, Config{Timeout: time.Second})
	d, c := env.d, env.conn
	c2 := newConn(2)
	env.tr.conns["other"] = c2
	e := addSender(t, d, true)
	free := mustEndpoint(t, EndpointConfig{AOR: "sip:free@example.com"})
	if err := d.Add(free); err != nil {
		t.Fatal(err)
	}
	send := func(e *Endpoint, dst Dest) error {
		return d.Send(e, dst, outRequest("OPTIONS"), new(recorder).fn)
	}
	var sent [][]byte
	for i := range DefaultThrottleLimit {
		if err := send(e, peer); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		sent = append(sent, c.lastSent(t))
	}
	// The 21st fails at once and is not sent.
	err := send(e, peer)
	if !errors.Is(err, ErrThrottled) {
		t.Fatalf("21st request: %v, want ErrThrottled", err)
	}
	if n := c.sentCount(); n != DefaultThrottleLimit {
		t.Fatalf("%d sent, want %d", n, DefaultThrottleLimit)
	}
	if st := d.Stats(); st.Throttled != 1 || st.Outstanding != DefaultThrottleLimit {
		t.Fatalf("stats %+v", st)
	}
	// Other endpoints and other connections have their own budget.
	if err := send(free, peer); err != nil {
		t.Errorf("unthrottled endpoint: %v", err)
	}
	if err := send(e, Dest{Host: "other"}); err != nil {
		t.Errorf("other connection: %v", err)
	}
	// A provisional response does not release; a final one does.
	d.HandleMessage(c, responseTo(t, sent[0], 100))
	if err := send(e, peer); !errors.Is(err, ErrThrottled) {
		t.Fatalf("after 100: %v, want ErrThrottled", err)
	}
	d.HandleMessage(c, responseTo(t, sent[0], 200))
	if err := send(e, peer); err != nil {
		t.Fatalf("after a final response: %v", err)
	}
	if err := send(e, peer); !errors.Is(err, ErrThrottled) {
		t.Fatalf("full again: %v", err)
	}
	// A timeout releases.
	env.clock.Add(2 * time.Second)
	d.Sweep()
	if n := d.Stats().Outstanding; n != 0 {
		t.Fatalf("%d outstanding after the timeout", n)
	}
	for i := range DefaultThrottleLimit {
		if err := send(e, peer); err != nil {
			t.Fatalf("after timeout, request %d: %v", i+1, err)
		}
	}
	if err := send(e, peer); !errors.Is(err, ErrThrottled) {
		t.Fatalf("full after timeout: %v", err)
	}
	// Turning throttling off lifts the limit; back on, it counts what is
	// outstanding.
	e.SetThrottled(false)
	if err := send(e, peer); err != nil {
		t.Fatalf("unthrottled: %v", err)
	}
	e.SetThrottled(true)
	if err := send(e, peer); !errors.Is(err, ErrThrottled) {
		t.Fatalf("throttled again: %v", err)
	}
	// A broken connection releases.
	c.closed.Store(true)
	d.HandleClose(c, nil)
	c.closed.Store(false) // the transport's next connection to "peer", reusing the fake
	c.id = 3
	for i := range DefaultThrottleLimit {
		if err := send(e, peer); err != nil {
			t.Fatalf("after break, request %d: %v", i+1, err)
		}
	}
	if err := send(e, peer); !errors.Is(err, ErrThrottled) {
		t.Fatalf("full after break: %v", err)
	}
}

func TestThrottleLimitConfig(t *testing.T) {
	env := newEnv(t, Config{ThrottleLimit: 3})
	e := addSender(t, env.d, true)
	for i := range 3 {
		if err := env.d.Send(e, peer, outRequest("OPTIONS"), new(recorder).fn); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	if err := env.d.Send(e, peer, outRequest("OPTIONS"), new(recorder).fn); !errors.Is(err, ErrThrottled) {
		t.Fatalf("4th: %v", err)
	}
	// ACK is not a transaction: not counted, never throttled.
	if err := env.d.Send(e, peer, outRequest("ACK"), nil); err != nil {
		t.Fatalf("ACK: %v", err)
	}
}

// TestThrottleSharedConn: endpoints sharing a connection have a budget
// each.
func TestThrottleSharedConn(t *testing.T) {
	env := newEnv(t, Config{ThrottleLimit: 2})
	d, c := env.d, env.conn
	a := mustEndpoint(t, EndpointConfig{AOR: "sip:a@h", Throttled: true})
	b := mustEndpoint(t, EndpointConfig{AOR: "sip:b@h", Throttled: true})
	if err := d.Add(a, b); err != nil {
		t.Fatal(err)
	}
	send := func(e *Endpoint) ([]byte, error) {
		err := d.Send(e, peer, outRequest("OPTIONS"), new(recorder).fn)
		if err != nil {
			return nil, err
		}
		return c.lastSent(t), nil
	}
	a1, _ := send(a)
	b1, _ := send(b)
	if _, err := send(b); err != nil {
		t.Fatal(err)
	}
	if _, err := send(a); err != nil {
		t.Fatal(err)
	}
	for _, e := range []*Endpoint{a, b} {
		if _, err := send(e); !errors.Is(err, ErrThrottled) {
			t.Fatalf("%s: third request %v", e.AOR(), err)
		}
	}
	// a's slot frees a's budget only.
	d.HandleMessage(c, responseTo(t, a1, 200))
	if _, err := send(b); !errors.Is(err, ErrThrottled) {
		t.Fatalf("b after a's response: %v", err)
	}
	if _, err := send(a); err != nil {
		t.Fatalf("a after its response: %v", err)
	}
	d.HandleMessage(c, responseTo(t, b1, 200))
	if _, err := send(b); err != nil {
		t.Fatalf("b after its response: %v", err)
	}
}
