// Package loadgen generates SIP OPTIONS load over TCP or TLS and measures
// it. TLSDialer plugs TLS in as Config.Dial.
//
// A Generator opens Config.Conns connections to a target and keeps up to
// Config.Pipeline requests outstanding on each. Every request carries a
// branch, Call-ID and CSeq of its own, built by appending to a reused buffer
// (no fmt, no allocation per request). Responses are framed with
// sipparse.Framer, parsed with sipparse.Message and matched to their request
// by CSeq number, which encodes the pipeline slot the request used. Latency is
// recorded in an HDR histogram; errors are counted by kind: timeouts,
// connection errors, requests lost with a connection, unparsable responses and
// final responses other than 2xx, by status code.
//
// A run is always bounded in time (Config.Duration) and optionally in count
// (Config.Requests), and may be paced (Config.Rate).
//
// Each connection runs a writer and a reader goroutine, started by
// Generator.Run and stopped before it returns.
package loadgen
