package dispatch_test

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/sipparse"
)

// conn is a connection that prints the responses written to it and keeps
// the last message sent. The engine's *engine.Conn plays this part.
type conn struct{ last []byte }

func (c *conn) ID() uint64                { return 1 }
func (c *conn) LocalAddr() netip.AddrPort { return netip.MustParseAddrPort("192.0.2.10:5060") }
func (c *conn) Closed() bool              { return false }
func (c *conn) Write(b []byte) error      { return nil }
func (c *conn) Execute(f func()) error    { f(); return nil }
func (c *conn) Respond(m *sipparse.Message, status int, reason string) error {
	fmt.Printf("  dispatcher answers %d\n", status)
	return nil
}
func (c *conn) Send(b []byte, done func(error)) error {
	c.last = append(c.last[:0], b...)
	if done != nil {
		done(nil)
	}
	return nil
}

// transport gives the same connection for every destination. The engine's
// managers play this part.
type transport struct{ c *conn }

func (t transport) Conn(*dispatch.Endpoint, dispatch.Dest) (dispatch.Conn, error) { return t.c, nil }
func (t transport) Release(*dispatch.Endpoint)                                    {}

func parse(b []byte) *sipparse.Message {
	m := new(sipparse.Message)
	if err := m.Parse(b); err != nil {
		panic(err)
	}
	return m
}

func invite(ruri string) *sipparse.Message {
	return parse([]byte("INVITE " + ruri + " SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK776asdhds\r\n" +
		"From: <sip:carol@example.org>;tag=1928301774\r\n" +
		"To: <" + ruri + ">\r\n" +
		"Call-ID: a84b4c76e66710\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"Content-Length: 0\r\n\r\n"))
}

// Example routes requests to endpoints by context token, GRUU and AOR, and
// shows the dispatcher answering a request no endpoint takes.
func Example() {
	d, err := dispatch.New(dispatch.Config{})
	if err != nil {
		panic(err)
	}
	defer d.Close()
	handler := func(name string) dispatch.Handler {
		return dispatch.HandlerFunc(func(c dispatch.Conn, m *sipparse.Message) int {
			fmt.Printf("  %s takes %s\n", name, m.Bytes(m.RequestURI.Raw))
			return 0 // taken: the endpoint answers
		})
	}
	alice, _ := dispatch.NewEndpoint(dispatch.EndpointConfig{
		AOR:     "sip:alice@example.com",
		GRUU:    "sip:alice@example.com;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
		Handler: handler("alice"),
	})
	bob, _ := dispatch.NewEndpoint(dispatch.EndpointConfig{
		AOR:     "sip:bob@example.com",
		Token:   "b0b",
		Handler: handler("bob"),
	})
	if err := d.Add(alice, bob); err != nil {
		panic(err)
	}
	c := new(conn)
	for _, ruri := range []string{
		"sip:bob@192.0.2.10:5060;sipcm-ctx=b0b",
		"sip:alice@example.com;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
		"sip:alice@EXAMPLE.COM",
		"sip:nobody@example.com",
	} {
		fmt.Println(ruri)
		d.HandleMessage(c, invite(ruri))
	}
	// Output:
	// sip:bob@192.0.2.10:5060;sipcm-ctx=b0b
	//   bob takes sip:bob@192.0.2.10:5060;sipcm-ctx=b0b
	// sip:alice@example.com;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6
	//   alice takes sip:alice@example.com;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6
	// sip:alice@EXAMPLE.COM
	//   alice takes sip:alice@EXAMPLE.COM
	// sip:nobody@example.com
	//   dispatcher answers 500
}

// ExampleDispatcher_Send sends a request for an endpoint and gets its
// responses back, matched by the branch of the Via the dispatcher added.
func ExampleDispatcher_Send() {
	c := new(conn)
	d, _ := dispatch.New(dispatch.Config{Transport: transport{c}})
	defer d.Close()
	alice, _ := dispatch.NewEndpoint(dispatch.EndpointConfig{
		AOR:       "sip:alice@example.com",
		Throttled: true,
		Handler:   dispatch.HandlerFunc(func(dispatch.Conn, *sipparse.Message) int { return 480 }),
	})
	_ = d.Add(alice)

	req := []byte("OPTIONS sip:registrar.example.com SIP/2.0\r\n" +
		"From: <sip:alice@example.com>;tag=a73kszlfl\r\n" +
		"To: <sip:registrar.example.com>\r\n" +
		"Call-ID: 1j9FpLxk3uxtm8tn@192.0.2.10\r\n" +
		"CSeq: 1 OPTIONS\r\n" +
		"Content-Length: 0\r\n\r\n")
	err := d.Send(alice, dispatch.Dest{Host: "registrar.example.com", Transport: "TLS"}, req,
		func(c dispatch.Conn, m *sipparse.Message, err error) {
			if err != nil {
				fmt.Println("ended:", errors.Is(err, dispatch.ErrTimeout))
				return
			}
			fmt.Println("response", m.StatusCode)
		})
	if err != nil {
		panic(err)
	}
	sent := parse(c.last)
	fmt.Printf("top Via: %s...\n", sent.Bytes(sent.Vias[0].Raw)[:42])

	// The registrar answers: the engine hands the response to the dispatcher.
	resp := sipparse.AppendResponse(nil, sent, 200, "OK", []byte("reg"))
	d.HandleMessage(c, parse(resp))
	fmt.Println("outstanding:", d.Stats().Outstanding)
	// Output:
	// top Via: SIP/2.0/TLS 192.0.2.10:5060;branch=z9hG4bK...
	// response 200
	// outstanding: 0
}

// ExampleEndpoint_AppendParam puts an endpoint's context token in the
// Contact it hands out, so that requests sent to it come back to it.
func ExampleEndpoint_AppendParam() {
	e, _ := dispatch.NewEndpoint(dispatch.EndpointConfig{
		AOR:     "sip:alice@example.com",
		Token:   "a1",
		Handler: dispatch.HandlerFunc(func(dispatch.Conn, *sipparse.Message) int { return 0 }),
	})
	contact := []byte("Contact: <sip:alice@192.0.2.10:5060;transport=tcp")
	contact = e.AppendParam(contact)
	contact = append(contact, ">\r\n"...)
	fmt.Printf("%s", contact)
	// Output:
	// Contact: <sip:alice@192.0.2.10:5060;transport=tcp;sipcm-ctx=a1>
}

// ExampleDispatcher_Claim routes the in-dialog requests of a dialog to the
// endpoint that claimed it.
func ExampleDispatcher_Claim() {
	d, _ := dispatch.New(dispatch.Config{})
	defer d.Close()
	e, _ := dispatch.NewEndpoint(dispatch.EndpointConfig{
		AOR:     "sip:alice@example.com",
		Handler: dispatch.HandlerFunc(func(dispatch.Conn, *sipparse.Message) int { return 0 }),
	})
	_ = d.Add(e)
	_ = d.Claim(e, []byte("a84b4c76e66710"), []byte("314159"))

	bye := parse([]byte("BYE sip:alice@192.0.2.10 SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bKnashds7\r\n" +
		"From: <sip:carol@example.org>;tag=1928301774\r\n" +
		"To: <sip:alice@example.com>;tag=314159\r\n" +
		"Call-ID: a84b4c76e66710\r\n" +
		"CSeq: 2 BYE\r\n" +
		"Content-Length: 0\r\n\r\n"))
	got, rule, _ := d.Route(bye)
	fmt.Println(got == e, rule)
	// Output:
	// true dialog
}

// ExampleConfig shows a dispatcher for a client manager, which refuses
// peer-to-peer endpoints.
func ExampleConfig() {
	d, _ := dispatch.New(dispatch.Config{Client: true})
	defer d.Close()
	p2p, _ := dispatch.NewEndpoint(dispatch.EndpointConfig{
		Kind:    dispatch.PeerToPeer,
		AOR:     "sip:alice@example.com",
		Handler: dispatch.HandlerFunc(func(dispatch.Conn, *sipparse.Message) int { return 0 }),
	})
	err := d.Add(p2p)
	fmt.Println(errors.Is(err, dispatch.ErrPeerToPeerOnClient))
	// Output:
	// true
}
