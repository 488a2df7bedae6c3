// Package tlsbridge runs the standard crypto/tls over a non-blocking
// event-loop connection (gnet) and checks SIP peers the way RFC 5922 says.
// It imports neither gnet nor the engine: the engine adapts its
// connections to [Transport] and drives a [Conn].
//
// # Identity, allowed domains, EKU
//
// [Identities] extracts a certificate's SIP domain identities (RFC 5922
// §7.1): subjectAltName URIs "sip:domain" with no user part; the DNS names
// only when there is no such URI; the subject CN only when there is no
// subjectAltName at all. [MatchName] compares whole names,
// case-insensitively, without wildcards (RFC 5922 §7.2: names match in
// their entirety, never by suffix, and "*." or a leading "." in a
// certificate matches nothing but itself).
//
// An outgoing connection's server must present an identity equal to the
// destination host or, for a pool of front ends sharing one certificate,
// to [Outbound].ExpectedName. An incoming mutual-TLS client must present an
// identity allowed by the [AllowList] ("host.example.com" exactly, or
// ".example.com" for any name inside that domain, not the apex). Server
// certificates must carry the serverAuth extended key usage and client
// certificates clientAuth, unless [Config] says otherwise. Every refusal is
// an *[Error] with a [Reason], counted in [Stats] and logged.
//
// # The bridge
//
// crypto/tls (Go 1.26) decides the design:
//
//   - a read error from the connection under it that is a net.Error with
//     Temporary() true is returned but not kept, and a partial record
//     waits in its input buffer: record reads can be retried;
//   - a handshake cannot: its state lives on the goroutine's stack and its
//     first error is kept;
//   - any write error is permanent, and the written buffer is reused;
//   - the only bytes-in/bytes-out API (QUICConn) is TLS 1.3 for QUIC only.
//
// So each handshake runs on a short-lived goroutine that the engine starts
// ([Conn.Handshake]), over a blocking in-memory pipe: the loop hands it
// ciphertext with [Conn.Feed], its output goes out through
// Transport.AsyncWrite. When it returns, [Conn.Activate] switches the Conn
// to loop mode on the loop: Feed decrypts at once into a plaintext buffer
// ([Conn.Buffered], [Conn.Discard]) taken from a bytebufferpool and given
// back when empty, the pipe's Read returning an unwrapped would-block
// error once the fed bytes are used up; [Conn.Write] encrypts straight to
// Transport.Write, which must accept every byte. No goroutine lives past
// the handshake and no deadline is needed: the handshake timeout is a
// context, and HandshakeContext closes the pipe when it ends.
//
// Alternatives measured or weighed: a goroutine per connection with
// crypto/tls on a blocking pipe for its whole life (a parked goroutine and
// a channel handoff per message, see BenchmarkIdleConn and
// BenchmarkMessage/.../conn); a fork of crypto/tls with a resumable
// handshake, as the community gnet adapters do (they are stuck at Go
// 1.16-1.21 and miss later fixes such as hybrid ML-KEM); our own record
// layer keyed from exported secrets (a second TLS implementation to keep
// secure). The first costs memory and latency per connection for nothing,
// the others cost correctness.
//
// # Costs
//
// Measured on a shared 2-core machine (go test -bench 'Handshake|Message|
// IdleConn' -benchtime=200ms -count=3, medians, ECDSA P-256 certificates;
// "conn" is crypto/tls over net.Pipe with the same tls.Config and a
// goroutine per connection; neither touches a socket):
//
//	                          bridge                       conn
//	handshake pair, TLS 1.3   0.72 ms  935 allocs  132 KB  0.73 ms  881 allocs  123 KB
//	handshake pair, TLS 1.2   0.53 ms  537 allocs   51 KB  0.46 ms  478 allocs   46 KB
//	450 B message, TLS 1.3    0.54 us  1 alloc     24 B    1.6 us   1 alloc     24 B
//	4 KiB message, TLS 1.3    1.9 us   1 alloc     24 B    3.3 us   1 alloc     24 B
//	idle connection           3.6 KB heap, no goroutine    8.0 KB heap + 7.4 KB stack
//
// The extra handshake allocations are the pipe's copies of the handshake
// flights and the per-connection client tls.Config. In loop mode the
// bridge itself allocates nothing per message: Write allocates nothing,
// and Feed allocates only inside crypto/tls, whose readFromUntil
// heap-allocates a 24-byte atLeastReader each time it reads the connection
// under it. New ciphertext cannot reach crypto/tls any other way, so a Feed
// costs at least one such allocation (crypto/tls over a net.Conn pays the
// same per Read). The bridge keeps it to one per Feed for as many records
// as crypto/tls's input buffer holds: it follows the record framing of
// what it hands over and does not call Read just to be told
// there is nothing more. TestSteadyStateAllocs pins these counts.
//
// crypto/tls keeps its own input buffer (the size of the largest burst
// read) for the life of the connection; the bridge's plaintext buffer is
// released whenever the engine has consumed everything.
package tlsbridge
