package sipparse_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sipcm/sipcm/sipparse"
)

const exampleInvite = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n" +
	"Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;rport\r\n" +
	"Via: SIP/2.0/TCP proxy.atlanta.example.com;branch=z9hG4bK4b43c2ff8.1\r\n" +
	"Max-Forwards: 70\r\n" +
	"From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n" +
	"To: Bob <sip:bob@biloxi.example.com>\r\n" +
	"Call-ID: 3848276298220188511@atlanta.example.com\r\n" +
	"CSeq: 1 INVITE\r\n" +
	"Contact: <sip:alice@client.atlanta.example.com;transport=tcp>\r\n" +
	"Content-Type: text/plain\r\n" +
	"Content-Length: 5\r\n" +
	"\r\n" +
	"hello"

func ExampleMessage_Parse() {
	buf := []byte(exampleInvite)
	var m sipparse.Message // reuse it for every message of a connection
	if err := m.Parse(buf); err != nil {
		var pe *sipparse.ParseError
		if errors.As(err, &pe) && m.Answerable() {
			fmt.Println("answer with", pe.Status) // see AppendResponse
		}
		return
	}
	fmt.Println(m.Method, string(m.RequestURI.Raw.Bytes(buf)))
	top := m.Vias[0]
	fmt.Println("top Via:", string(top.Transport.Bytes(buf)), string(top.Host.Bytes(buf)), top.Port,
		string(top.Branch.Bytes(buf)), top.HasRPort)
	fmt.Println("From tag:", string(m.From.Tag.Bytes(buf)))
	fmt.Println("Call-ID:", string(m.CallID.Bytes(buf)))
	fmt.Println("CSeq:", m.CSeq.Num, m.CSeq.Method)
	fmt.Println("body:", string(m.Body.Bytes(buf)))

	// The second tier parses the rest on demand.
	if err := m.ParseAll(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("Request-URI host:", string(m.RequestURI.Host.Bytes(buf)))
	fmt.Println("Vias:", len(m.Vias))
	c := m.Contacts[0].URI
	fmt.Println("Contact transport:", string(c.Transport.Bytes(buf)))
	// Output:
	// INVITE sip:bob@biloxi.example.com
	// top Via: TCP client.atlanta.example.com 5060 z9hG4bK74bf9 true
	// From tag: 9fxced76sl
	// Call-ID: 3848276298220188511@atlanta.example.com
	// CSeq: 1 INVITE
	// body: hello
	// Request-URI host: biloxi.example.com
	// Vias: 2
	// Contact transport: tcp
}

func ExampleFramer_Next() {
	// What arrives on a TCP connection: a keep-alive ping, a message in two
	// reads, then the start of another.
	reads := []string{
		"\r\n\r\n" + exampleInvite[:100],
		exampleInvite[100:] + "OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n",
	}
	var f sipparse.Framer
	var m sipparse.Message
	var buf []byte // the connection's receive buffer
	for _, r := range reads {
		buf = append(buf, r...)
		for {
			n, kind, err := f.Next(buf)
			if err == sipparse.ErrNeedMore {
				fmt.Println("need more:", len(buf), "bytes buffered")
				break
			}
			var fe *sipparse.FrameError
			if errors.As(err, &fe) && fe.Fatal {
				fmt.Println("close the connection:", err)
				return
			}
			switch kind {
			case sipparse.FramePing:
				fmt.Println("ping: answer CRLF")
			case sipparse.FrameMessage:
				if err := m.Parse(buf[:n]); err == nil {
					fmt.Println("message:", m.Method, n, "bytes")
				}
			}
			buf = buf[n:] // a real reader keeps its buffer and moves a start offset
		}
	}
	// Output:
	// ping: answer CRLF
	// need more: 100 bytes buffered
	// message: INVITE 486 bytes
	// need more: 44 bytes buffered
}

func ExampleAppendResponse() {
	buf := []byte(exampleInvite)
	var m sipparse.Message
	if err := m.Parse(buf); err != nil {
		return
	}
	// The request came from 192.0.2.101:49152: the top Via gets received
	// and, since it asks with rport, the port (RFC 3581).
	m.SetSource([]byte("192.0.2.101"), 49152)
	dst := make([]byte, 0, 1024) // reused: no allocation
	dst = sipparse.AppendResponse(dst, &m, 180, "Ringing", []byte("a6c85cf"))
	fmt.Print(strings.ReplaceAll(string(dst), "\r\n", "\n")) // CRLF shown as LF
	// Output:
	// SIP/2.0 180 Ringing
	// Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;rport=49152;received=192.0.2.101
	// Via: SIP/2.0/TCP proxy.atlanta.example.com;branch=z9hG4bK4b43c2ff8.1
	// From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
	// To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf
	// Call-ID: 3848276298220188511@atlanta.example.com
	// CSeq: 1 INVITE
	// Content-Length: 0
}
