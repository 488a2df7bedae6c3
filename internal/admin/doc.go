// Package admin serves the administration endpoint of a sipcm process over
// HTTP: GET /healthz, /connections and /pools as JSON, and /metrics in the
// Prometheus text exposition format (version 0.0.4).
//
// The data comes from the sources in Config: the engine managers (any value
// with Conns and Stats, such as *engine.TCPServer) and optional hooks for the
// automatic responses by status code, TLS refusals by reason and the upstream
// pools. A nil hook reports nothing: /pools is an empty list and the metrics
// it would feed are absent or zero.
//
// /metrics also serves figures of the process under the names the Prometheus
// Go client gives them: process_resident_memory_bytes and process_open_fds
// (read from /proc, absent where there is none), go_goroutines and
// go_memstats_heap_inuse_bytes (read without stopping the world).
package admin
