package engine

import "github.com/sipcm/sipcm/sipparse"

// Handler receives the messages read by a manager's connections. Without
// one (Config.Handler nil) they go to the manager's dispatcher;
// [DefaultHandler] answers OPTIONS by itself. A Handler that wants the
// dispatcher's routing and response correlation for some messages calls
// [Manager.Dispatcher]'s HandleMessage with them.
type Handler interface {
	// HandleMessage is called on c's loop for every message that parsed
	// (requests that did not parse are answered by the engine). m and the
	// bytes it views are valid only during the call: copy what is kept
	// (sipparse.Message.CopyTo). A request has its source set
	// (sipparse.Message.SetSource), so responses built from it carry
	// received and rport. HandleMessage must not block: it runs on the
	// loop, and every other connection of the loop waits for it.
	HandleMessage(c *Conn, m *sipparse.Message)
}

// ConnHandler is a Handler that also wants to know when connections open
// and close. Both methods are called on the connection's loop.
type ConnHandler interface {
	Handler
	// HandleOpen is called when c has joined its loop, before any
	// message.
	HandleOpen(c *Conn)
	// HandleClose is called once when c has closed, with the error that
	// closed it (nil for a clean close or an end of stream). It may be
	// called from inside a Write on c that failed.
	HandleClose(c *Conn, err error)
}

// DefaultHandler answers OPTIONS with 200 and every other request but ACK
// with 501, and drops responses: a server with it (Config.Handler)
// answers keep-alive OPTIONS with no other code, as benchmarks want. It is
// no longer the default: a zero Config dispatches.
type DefaultHandler struct{}

// HandleMessage implements Handler. Loop only.
func (DefaultHandler) HandleMessage(c *Conn, m *sipparse.Message) {
	if !m.Request {
		return
	}
	switch m.Method {
	case sipparse.MethodAck:
	case sipparse.MethodOptions:
		_ = c.Respond(m, 200, "")
	default:
		_ = c.Respond(m, 501, "")
	}
}

// Respond writes on c a response to the request m built by
// sipparse.AppendResponse, with the manager's To tag; an empty reason
// selects the standard phrase of the status. Loop only.
func (c *Conn) Respond(m *sipparse.Message, status int, reason string) error {
	if reason == "" {
		reason = Reason(status)
	}
	l := c.l
	l.resp = sipparse.AppendResponse(l.resp[:0], m, status, reason, c.m.toTag)
	return c.Write(l.resp)
}

// Reason returns the reason phrase RFC 3261 §21 gives a status code, or a
// generic one for its class.
func Reason(status int) string {
	switch status {
	case 100:
		return "Trying"
	case 180:
		return "Ringing"
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 408:
		return "Request Timeout"
	case 480:
		return "Temporarily Unavailable"
	case 481:
		return "Call/Transaction Does Not Exist"
	case 482:
		return "Loop Detected"
	case 483:
		return "Too Many Hops"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 500:
		return "Server Internal Error"
	case 501:
		return "Not Implemented"
	case 503:
		return "Service Unavailable"
	case 505:
		return "Version Not Supported"
	case 513:
		return "Message Too Large"
	}
	switch status / 100 {
	case 1:
		return "Trying"
	case 2:
		return "OK"
	case 3:
		return "Redirect"
	case 4:
		return "Client Error"
	case 5:
		return "Server Error"
	}
	return "Global Failure"
}
