package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/sipparse"
)

// A TCP server hands the requests it reads to its dispatcher: an OPTIONS to
// an endpoint's address of record reaches that endpoint, and the server
// answers a request no endpoint takes with 500 by itself.
func ExampleTCPServer() {
	s, err := engine.NewTCPServer(engine.Config{Loops: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	if err := s.Start(); err != nil {
		panic(err)
	}
	defer s.Close()
	ping, _ := dispatch.NewEndpoint(dispatch.EndpointConfig{
		AOR: "sip:ping@127.0.0.1",
		Handler: dispatch.HandlerFunc(func(c dispatch.Conn, m *sipparse.Message) int {
			_ = c.Respond(m, 200, "")
			return 0 // taken
		}),
	})
	if err := s.Dispatcher().Add(ping); err != nil {
		panic(err)
	}
	ln, err := s.Listen(context.Background(), "tcp", "127.0.0.1:0") // port 0: any free port
	if err != nil {
		panic(err)
	}

	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer nc.Close()
	r := bufio.NewReader(nc)
	for _, req := range []string{"OPTIONS sip:ping@127.0.0.1", "INVITE sip:nobody@127.0.0.1"} {
		method := strings.Fields(req)[0]
		fmt.Fprint(nc, req+" SIP/2.0\r\n"+
			"Via: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK1\r\n"+
			"From: <sip:a@example.com>;tag=1\r\nTo: <sip:ping@127.0.0.1>\r\n"+
			"Call-ID: example\r\nCSeq: 1 "+method+"\r\nContent-Length: 0\r\n\r\n")
		status, _ := r.ReadString('\n')
		fmt.Println(method+":", strings.TrimSpace(status))
		for line, _ := r.ReadString('\n'); line != "\r\n"; line, _ = r.ReadString('\n') {
		}
	}
	// Output:
	// OPTIONS: SIP/2.0 200 OK
	// INVITE: SIP/2.0 500 Server Internal Error
}

// logHandler is a Handler that logs requests and answers them all with 200.
type logHandler struct{}

func (logHandler) HandleMessage(c *engine.Conn, m *sipparse.Message) {
	if !m.Request || m.Method == sipparse.MethodAck {
		return
	}
	fmt.Printf("%s from conn %d\n", m.Bytes(m.MethodName), c.ID())
	_ = c.Respond(m, 200, "")
}

// A Handler receives every message on the connection's loop.
func ExampleHandler() {
	s, _ := engine.NewTCPServer(engine.Config{Loops: 1, Handler: logHandler{}, Logger: slog.New(slog.DiscardHandler)})
	_ = s.Start()
	defer s.Close()
	ln, _ := s.Listen(context.Background(), "tcp", "127.0.0.1:0")

	nc, _ := net.Dial("tcp", ln.Addr().String())
	defer nc.Close()
	fmt.Fprint(nc, "MESSAGE sip:b@127.0.0.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK2\r\n"+
		"From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\n"+
		"Call-ID: example2\r\nCSeq: 1 MESSAGE\r\nContent-Length: 2\r\n\r\nhi")
	status, _ := bufio.NewReader(nc).ReadString('\n')
	fmt.Print(status)
	// Output:
	// MESSAGE from conn 1
	// SIP/2.0 200 OK
}

// A client manager's endpoint sends a request through its manager, which
// dials a connection of the endpoint's own (on its event loops), adds its
// Via and routes the response back to the sender.
func ExampleClientManager() {
	quiet := slog.New(slog.DiscardHandler)
	srv, _ := engine.NewTCPServer(engine.Config{Loops: 1, Handler: engine.DefaultHandler{}, Logger: quiet})
	_ = srv.Start()
	defer srv.Close()
	ln, _ := srv.Listen(context.Background(), "tcp", "127.0.0.1:0")

	cm, _ := engine.NewClientManager(engine.Config{Loops: 1, Logger: quiet})
	_ = cm.Start()
	defer cm.Close()
	alice, _ := dispatch.NewEndpoint(dispatch.EndpointConfig{
		AOR:     "sip:alice@example.com",
		Handler: dispatch.HandlerFunc(func(dispatch.Conn, *sipparse.Message) int { return 480 }),
	})
	if err := cm.Dispatcher().Add(alice); err != nil {
		panic(err)
	}
	req := []byte("OPTIONS sip:ping@127.0.0.1 SIP/2.0\r\n" +
		"From: <sip:alice@example.com>;tag=1\r\nTo: <sip:ping@127.0.0.1>\r\n" +
		"Call-ID: example3\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
	got := make(chan int, 1)
	dst := dispatch.Dest{Host: "127.0.0.1", Port: ln.Addr().Port(), Transport: "TCP"}
	err := cm.Dispatcher().Send(alice, dst, req, func(_ dispatch.Conn, m *sipparse.Message, err error) {
		if err != nil {
			got <- 0
		} else if m.StatusCode >= 200 {
			got <- m.StatusCode
		}
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(<-got)
	// Output: 200
}

// A server manager shares its outgoing connections through pools: with a
// pool size of 2, the requests to one destination go over two
// connections, which Pools enumerates.
func ExampleManager_Pools() {
	quiet := slog.New(slog.DiscardHandler)
	upstream, _ := engine.NewTCPServer(engine.Config{Loops: 1, Handler: engine.DefaultHandler{}, Logger: quiet})
	_ = upstream.Start()
	defer upstream.Close()
	ln, _ := upstream.Listen(context.Background(), "tcp", "127.0.0.1:0")

	s, _ := engine.NewTCPServer(engine.Config{Loops: 1, PoolSize: 2, Logger: quiet})
	_ = s.Start()
	defer s.Close()
	e, _ := dispatch.NewEndpoint(dispatch.EndpointConfig{
		AOR:     "sip:relay@example.com",
		Handler: dispatch.HandlerFunc(func(dispatch.Conn, *sipparse.Message) int { return 480 }),
	})
	_ = s.Dispatcher().Add(e)
	dst := dispatch.Dest{Host: "127.0.0.1", Port: ln.Addr().Port()}
	for i := range 6 {
		done := make(chan struct{})
		req := fmt.Sprintf("OPTIONS sip:ping@127.0.0.1 SIP/2.0\r\n"+
			"From: <sip:relay@example.com>;tag=1\r\nTo: <sip:ping@127.0.0.1>\r\n"+
			"Call-ID: pool-%d\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", i)
		_ = s.Dispatcher().Send(e, dst, []byte(req), func(_ dispatch.Conn, m *sipparse.Message, err error) {
			if err != nil || m.StatusCode >= 200 {
				close(done)
			}
		})
		<-done
	}
	for _, p := range s.Pools() {
		var out uint64
		for _, c := range p.Conns {
			out += c.Stats.MessagesOut
		}
		fmt.Println(p.Key.Transport, "pool of size", p.Size, "for", p.Refs, "endpoint:",
			len(p.Conns), p.Conns[0].State, "connections,", out, "requests sent")
	}
	// Output:
	// tcp pool of size 2 for 1 endpoint: 2 active connections, 6 requests sent
}
