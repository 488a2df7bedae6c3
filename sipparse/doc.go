// Package sipparse frames and parses SIP messages (RFC 3261) without
// allocating.
//
// A parsed [Message] is a view: every field is a [Span] of offsets into the
// buffer given to [Message.Parse], never a copied string. The view stays valid
// while that buffer is not modified or reused; [Message.CopyTo] and
// [Message.Detach] copy it out, Detach with one allocation.
//
// A [Framer] finds message boundaries on a stream transport (TCP, TLS): it
// skips CRLFs before a start line (RFC 3261 §7.5), reports the double-CRLF
// keep-alive ping of RFC 5626 §5.4, requires Content-Length (RFC 3261 §18.3)
// and enforces size limits before bytes are buffered without bound.
//
// The Append functions write what a transport sends by itself: a response
// built from a request (RFC 3261 §8.2.6) and the received/rport parameters of
// the top Via (RFC 3261 §18.2.1, RFC 3581).
//
// On amd64 the common header line is split by assembly (SSE2, or AVX2 where
// the processor has it); the purego build tag selects the portable Go
// splitter it is tested against.
//
// Every type here may be used by one goroutine at a time; none holds global
// state.
package sipparse
