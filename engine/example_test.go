package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/sipparse"
)

// A TCP server with the default handler answers OPTIONS by itself.
func ExampleTCPServer() {
	s, err := engine.NewTCPServer(engine.Config{Loops: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	if err := s.Start(); err != nil {
		panic(err)
	}
	defer s.Close()
	ln, err := s.Listen(context.Background(), "tcp", "127.0.0.1:0") // port 0: any free port
	if err != nil {
		panic(err)
	}

	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer nc.Close()
	fmt.Fprint(nc, "OPTIONS sip:ping@127.0.0.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK1\r\n"+
		"From: <sip:a@example.com>;tag=1\r\nTo: <sip:ping@127.0.0.1>\r\n"+
		"Call-ID: example\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
	status, _ := bufio.NewReader(nc).ReadString('\n')
	fmt.Print(status)
	// Output: SIP/2.0 200 OK
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

// responses is a Handler that passes the status codes of responses on.
type responses chan int

func (r responses) HandleMessage(_ *engine.Conn, m *sipparse.Message) {
	if !m.Request {
		r <- m.StatusCode
	}
}

// A client manager dials; its connections run on event loops too, and the
// responses they read go to its Handler.
func ExampleClientManager() {
	quiet := slog.New(slog.DiscardHandler)
	srv, _ := engine.NewTCPServer(engine.Config{Loops: 1, Logger: quiet})
	_ = srv.Start()
	defer srv.Close()
	ln, _ := srv.Listen(context.Background(), "tcp", "127.0.0.1:0")

	got := make(responses, 1)
	cm, _ := engine.NewClientManager(engine.Config{Loops: 1, Handler: got, Logger: quiet})
	_ = cm.Start()
	defer cm.Close()
	c, err := cm.Dial(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	req := []byte("OPTIONS sip:ping@127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK3\r\n" +
		"From: <sip:a@example.com>;tag=1\r\nTo: <sip:ping@127.0.0.1>\r\n" +
		"Call-ID: example3\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
	_ = c.Send(req, nil) // from this goroutine; Write is for the loop
	fmt.Println(<-got)
	// Output: 200
}
