package engine

import (
	"context"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipcm/sipcm/dispatch"
)

// TestSipgoClient: sipgo, as a real SIP peer over TCP, sends OPTIONS to an
// endpoint of the server's dispatcher and gets the 200 it answers.
func TestSipgoClient(t *testing.T) {
	s, addr := startServer(t, Config{})
	ep := newEndpoint(t, dispatch.EndpointConfig{AOR: "sip:srv@127.0.0.1", Handler: answer(200)})
	if err := s.Dispatcher().Add(ep); err != nil {
		t.Fatal(err)
	}
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	cl, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var uri sip.Uri
	if err := sip.ParseUri("sip:srv@"+addr+";transport=tcp", &uri); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	for i := range 3 {
		req := sip.NewRequest(sip.OPTIONS, uri)
		req.SetTransport("TCP")
		res, err := cl.Do(ctx, req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if res.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, res.StatusCode)
		}
		if via := res.Via(); via == nil || via.Host != "127.0.0.1" {
			t.Errorf("response Via %v", via)
		}
	}
	if st := s.Stats(); st.MessagesIn != 3 || st.Accepted != 1 {
		t.Errorf("stats %+v (sipgo should reuse one connection)", st)
	}
}
