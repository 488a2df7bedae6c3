package main

import (
	"sync/atomic"

	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/sipparse"
)

// serveHandler is the handler of sipcm serve until package dispatch is wired
// in: the built-in endpoint answers OPTIONS with 200 and every other request
// but ACK gets 501, as engine.DefaultHandler does. It counts the responses it
// makes by status code for the admin endpoint.
//
// Dispatch seam: when dispatch lands, the engine's handler becomes the
// dispatch manager with a built-in OPTIONS endpoint (unknown targets get the
// automatic 500), and the admin endpoint's ResponseCounter reads dispatch's
// counters instead of these.
type serveHandler struct {
	codes [600]atomic.Uint64 // responses by status code - 100
}

// HandleMessage implements engine.Handler. Loop only.
func (h *serveHandler) HandleMessage(c *engine.Conn, m *sipparse.Message) {
	if !m.Request {
		return
	}
	switch m.Method {
	case sipparse.MethodAck:
	case sipparse.MethodOptions:
		h.respond(c, m, 200)
	default:
		h.respond(c, m, 501)
	}
}

func (h *serveHandler) respond(c *engine.Conn, m *sipparse.Message, status int) {
	if c.Respond(m, status, "") == nil {
		h.codes[status-100].Add(1)
	}
}

// ResponseCounts implements admin.ResponseCounter. Any goroutine.
func (h *serveHandler) ResponseCounts() map[int]uint64 {
	out := make(map[int]uint64)
	for i := range h.codes {
		if n := h.codes[i].Load(); n > 0 {
			out[i+100] = n
		}
	}
	return out
}
