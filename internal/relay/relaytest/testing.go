package relaytest

import (
	"bytes"
	"testing"
	"time"
)

// MustDial is Dial for a test: it fails t on error and closes the client
// when t ends.
func MustDial(t testing.TB, addr string, timeout time.Duration) *Client {
	t.Helper()
	c, err := Dial(addr, time.Now().Add(timeout))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// RoundTrip writes req on c and returns a copy of the final response and
// its status, skipping provisional responses; it fails t on error.
func RoundTrip(t testing.TB, c *Client, req []byte) ([]byte, int) {
	t.Helper()
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	for {
		b, status, err := c.Response()
		if err != nil {
			t.Fatalf("reading the response: %v", err)
		}
		if status >= 200 {
			return bytes.Clone(b), status
		}
	}
}

// WaitFor polls cond until it holds, failing t when timeout has passed.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, with a deadline
	}
}
