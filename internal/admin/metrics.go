package admin

import (
	"bufio"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/sipcm/sipcm/engine"
)

// stats adds up the counters of every engine.
func (s *Server) stats() engine.Stats {
	var t engine.Stats
	for _, e := range s.cfg.Engines {
		st := e.Stats()
		t.ConnsIn += st.ConnsIn
		t.ConnsOut += st.ConnsOut
		t.Accepted += st.Accepted
		t.Refused += st.Refused
		t.RefusedPerIP += st.RefusedPerIP
		t.AcceptErrors += st.AcceptErrors
		t.Dialed += st.Dialed
		t.DialErrors += st.DialErrors
		t.FirstMessageTimeouts += st.FirstMessageTimeouts
		t.IdleTimeouts += st.IdleTimeouts
		t.MessagesIn += st.MessagesIn
		t.MessagesOut += st.MessagesOut
		t.BytesIn += st.BytesIn
		t.BytesOut += st.BytesOut
		t.Pings += st.Pings
		t.BadRequests += st.BadRequests
		t.BadMessages += st.BadMessages
		t.Oversize += st.Oversize
		t.FramingErrors += st.FramingErrors
		t.Backpressure += st.Backpressure
	}
	return t
}

func (s *Server) metrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	p := &promWriter{w: bufio.NewWriter(w)}
	s.writeMetrics(p)
	_ = p.flush()
}

// writeMetrics writes every metric family.
func (s *Server) writeMetrics(p *promWriter) {
	st := s.stats()

	p.family("sipcm_connections_open", "gauge", "SIP connections open now.")
	p.sample("sipcm_connections_open", float64(st.ConnsIn), "direction", "in")
	p.sample("sipcm_connections_open", float64(st.ConnsOut), "direction", "out")
	p.counter("sipcm_connections_accepted_total", "Incoming SIP connections accepted.", st.Accepted)
	p.counter("sipcm_connections_dialed_total", "Outgoing SIP connections opened.", st.Dialed)
	p.family("sipcm_connections_refused_total", "counter", "Incoming SIP connections refused or failed at accept, by reason.")
	p.sample("sipcm_connections_refused_total", float64(st.Refused), "reason", "max_conns")
	p.sample("sipcm_connections_refused_total", float64(st.RefusedPerIP), "reason", "max_conns_per_ip")
	p.sample("sipcm_connections_refused_total", float64(st.AcceptErrors), "reason", "accept_error")
	p.counter("sipcm_dial_errors_total", "Outgoing SIP connections that failed to open.", st.DialErrors)

	p.family("sipcm_messages_total", "counter", "Whole SIP messages read (in) and sent (out).")
	p.sample("sipcm_messages_total", float64(st.MessagesIn), "direction", "in")
	p.sample("sipcm_messages_total", float64(st.MessagesOut), "direction", "out")
	p.family("sipcm_bytes_total", "counter", "Bytes read (in) and sent (out), keep-alives included.")
	p.sample("sipcm_bytes_total", float64(st.BytesIn), "direction", "in")
	p.sample("sipcm_bytes_total", float64(st.BytesOut), "direction", "out")
	p.counter("sipcm_keepalives_total", "Double-CRLF keep-alives answered.", st.Pings)
	p.family("sipcm_rejected_messages_total", "counter", "Messages refused by the transport, by reason.")
	p.sample("sipcm_rejected_messages_total", float64(st.BadRequests), "reason", "bad_request")
	p.sample("sipcm_rejected_messages_total", float64(st.BadMessages), "reason", "bad_message")
	p.sample("sipcm_rejected_messages_total", float64(st.Oversize), "reason", "oversize")
	p.sample("sipcm_rejected_messages_total", float64(st.FramingErrors), "reason", "framing")

	p.family("sipcm_auto_responses_total", "counter", "Responses made by sipcm itself, by status code.")
	if s.cfg.Responses != nil {
		codes := s.cfg.Responses.ResponseCounts()
		for _, code := range slices.Sorted(maps.Keys(codes)) {
			p.sample("sipcm_auto_responses_total", float64(codes[code]), "code", strconv.Itoa(code))
		}
	}
	// Answers the transport made to refused requests are counted by reason
	// above: 400 and 505 under bad_request, 513 under oversize.

	p.family("sipcm_timeouts_total", "counter", "Connections closed by a timeout, by kind.")
	p.sample("sipcm_timeouts_total", float64(st.FirstMessageTimeouts), "kind", "first_message")
	p.sample("sipcm_timeouts_total", float64(st.IdleTimeouts), "kind", "idle")
	p.counter("sipcm_backpressure_total", "Sends refused because a connection's outbound buffer was full.", st.Backpressure)

	p.family("sipcm_tls_refusals_total", "counter", "TLS handshakes refused or failed, by reason.")
	if s.cfg.TLS != nil {
		reasons := s.cfg.TLS.TLSRefusals()
		for _, r := range slices.Sorted(maps.Keys(reasons)) {
			p.sample("sipcm_tls_refusals_total", float64(reasons[r]), "reason", r)
		}
	}

	var pools []Pool
	if s.cfg.Pools != nil {
		pools = s.cfg.Pools.Pools()
	}
	p.gauge("sipcm_pools", "Upstream pools.", float64(len(pools)))
	p.family("sipcm_pool_size", "gauge", "Configured size of each upstream pool (-1: unlimited).")
	for _, pl := range pools {
		p.sample("sipcm_pool_size", float64(pl.Size), "pool", pl.Name)
	}
	p.family("sipcm_pool_connections", "gauge", "Connections of each upstream pool, by state.")
	for _, pl := range pools {
		states := map[string]int{}
		for _, c := range pl.Conns {
			states[c.State]++
		}
		for _, st := range slices.Sorted(maps.Keys(states)) {
			p.sample("sipcm_pool_connections", float64(states[st]), "pool", pl.Name, "state", st)
		}
	}

	p.gauge("sipcm_uptime_seconds", "Seconds since the admin endpoint was made.", time.Since(s.start).Seconds())

	p.process(readProcess(s.proc))
}
