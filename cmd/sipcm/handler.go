package main

import (
	"sync/atomic"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/sipparse"
)

// serveHandler is the handler of sipcm serve. Out-of-dialog OPTIONS, the
// keep-alive probe of SIP peers whatever its Request-URI, goes to the
// built-in endpoint, which answers 200; every other message goes through the
// manager's dispatcher, so a request for a target no endpoint serves gets the
// dispatcher's automatic 500 (481 for CANCEL, nothing for ACK), and
// responses are correlated to what the endpoints sent.
type serveHandler struct {
	d       *dispatch.Dispatcher
	options dispatch.Handler // the built-in endpoint
	ok      atomic.Uint64    // 200s the built-in endpoint sent
}

func newServeHandler() *serveHandler {
	h := &serveHandler{}
	h.options = dispatch.HandlerFunc(func(c dispatch.Conn, m *sipparse.Message) int {
		if c.Respond(m, 200, "") == nil {
			h.ok.Add(1)
		}
		return 0
	})
	return h
}

// HandleMessage implements engine.Handler. Loop only.
func (h *serveHandler) HandleMessage(c *engine.Conn, m *sipparse.Message) {
	if m.Request && m.Method == sipparse.MethodOptions && m.To.Tag.Empty() {
		if err := m.ParseURI(); err != nil {
			_ = c.Respond(m, 400, "") // "OPTIONS sip: SIP/2.0"
			return
		}
		h.options.HandleRequest(c, m)
		return
	}
	h.d.HandleMessage(c, m)
}

// ResponseCounts implements admin.ResponseCounter: the responses sipcm made
// by itself, by status code. Any goroutine.
func (h *serveHandler) ResponseCounts() map[int]uint64 {
	out := h.d.ReplyCounts()
	if n := h.ok.Load(); n > 0 {
		out[200] += n
	}
	return out
}
