package relay_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/internal/relay"
	"github.com/sipcm/sipcm/internal/relay/relaytest"
)

// Example runs a relay in front of an upstream: the relay is the handler
// of the server clients connect to, and is attached to it to dial the
// upstream through its pool.
func Example() {
	up, _ := relaytest.Start(relaytest.Answer) // a SIP server answering 200
	defer up.Close()

	dest, err := relay.ParseUpstream("tcp://" + up.Addr())
	if err != nil {
		panic(err)
	}
	r, err := relay.New(relay.Config{Upstream: dest, PoolSize: 2})
	if err != nil {
		panic(err)
	}
	srv, err := engine.NewTCPServer(engine.Config{Handler: r, Loops: 1, Logger: testLogger()})
	if err != nil {
		panic(err)
	}
	if err := r.Attach(&srv.Manager); err != nil {
		panic(err)
	}
	if err := srv.Start(); err != nil {
		panic(err)
	}
	defer srv.Close()
	ln, err := srv.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}

	c, err := relaytest.Dial(ln.Addr().String(), time.Now().Add(10*time.Second))
	if err != nil {
		panic(err)
	}
	defer c.Close()
	_, _ = c.Write(relaytest.Request("OPTIONS", "ex1", 1, 70, ""))
	_, status, err := c.Response()
	fmt.Println(status, err)
	_, _ = c.Write(relaytest.Request("OPTIONS", "ex2", 2, 0, "")) // no hops left
	_, status, err = c.Response()
	fmt.Println(status, err)
	// Output:
	// 200 <nil>
	// 483 <nil>
}

func ExampleParseUpstream() {
	for _, s := range []string{"tcp://10.0.0.1:5070", "tls://sip.example.com", "tcp://[2001:db8::1]:5060", "udp://10.0.0.1"} {
		d, err := relay.ParseUpstream(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%+v %s\n", d, relay.UpstreamString(d))
	}
	// Output:
	// {Host:10.0.0.1 Port:5070 Transport:TCP} tcp://10.0.0.1:5070
	// {Host:sip.example.com Port:0 Transport:TLS} tls://sip.example.com:5061
	// {Host:2001:db8::1 Port:5060 Transport:TCP} tcp://[2001:db8::1]:5060
	// relay: invalid config: upstream "udp://10.0.0.1": scheme must be tcp:// or tls://
}
