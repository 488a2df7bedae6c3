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
//   - each read of the connection under it heap-allocates a 24-byte
//     atLeastReader (readFromUntil), so no message path through its Read
//     is allocation-free;
//   - the only bytes-in/bytes-out API (QUICConn) is TLS 1.3 for QUIC only.
//
// So each handshake runs on a short-lived goroutine that the engine starts
// ([Conn.Handshake]), over a blocking in-memory pipe: the loop hands it
// ciphertext with [Conn.Feed], its output goes out through
// Transport.AsyncWrite. The pipe hands crypto/tls at most the rest of one
// record per Read, so it never holds a byte past the handshake's last
// record: whatever the peer sent behind it stays with the bridge. No
// goroutine lives past the handshake and no deadline is needed: the
// handshake timeout is a context, and HandshakeContext closes the pipe
// when it ends.
//
// When Handshake returns, [Conn.Activate] switches the Conn to loop mode
// on the loop. Feed decrypts at once into a plaintext buffer
// ([Conn.Buffered], [Conn.Discard]) taken from a bytebufferpool and given
// back when empty; [Conn.Write] encrypts straight to Transport.Write,
// which must accept every byte. Two record layers do this:
//
//   - TLS 1.3 with AES-128-GCM or AES-256-GCM (what crypto/tls negotiates
//     on hardware with AES): the package's own (record13.go, loop13.go).
//     crypto/tls logs the connection's application traffic secrets to a
//     KeyLogWriter of the Conn's own (a per-connection tls.Config clone),
//     which keeps them in memory only, clears crypto/tls's log line, and
//     is wiped once the keys are derived or the Conn closes. Keys, IVs
//     and nonces follow RFC 8446 §5.3 and §7.3 (HKDF-Expand-Label with
//     crypto/hkdf); AEADs are crypto/aes + crypto/cipher. Records are
//     opened from the transport's bytes straight into the plaintext
//     buffer; a partial record waits in a pooled buffer. Inner content
//     types: application data; alerts (close_notify ends with io.EOF,
//     user_canceled is ignored, others end with a "remote error");
//     post-handshake handshake messages: NewSessionTicket to a client is
//     dropped (sessions are not resumed), KeyUpdate updates the receiving
//     key and, when asked, answers and updates the sending key (§4.6.3,
//     §7.2); anything else, a plaintext record after the handshake, a bad
//     MAC, an oversized record or a message cut by another content type
//     sends the matching alert, ends the connection and counts in
//     Stats.RecordErrors. Writes are records of at most 16 KiB; after 2^24
//     records under one key the sender updates it (the AES-GCM limit is
//     about 2^24.5, §5.5). Sequence numbers start at 0 after the
//     handshake because neither side's crypto/tls wrote or read an
//     application record: the server manager sends no session tickets
//     (SessionTicketsDisabled; Go's TLS 1.3 server would otherwise send
//     one under the application key inside Handshake), and the pipe
//     stops crypto/tls at the last handshake record.
//   - TLS 1.2, ChaCha20-Poly1305 (the standard library has no public
//     implementation, and golang.org/x/crypto would move x/sys, which
//     gnet pins) and Config.DisableRecordLayer: crypto/tls itself, driven
//     from the loop. The pipe's Read returns an unwrapped would-block
//     error once the fed bytes are used up, and the bridge follows the
//     record framing of what it hands over so that it never calls Read
//     just to be told there is nothing more.
//
// Alternatives weighed: a goroutine per connection with crypto/tls on a
// blocking pipe for its whole life (a parked goroutine and a channel
// handoff per message, see BenchmarkIdleConn and BenchmarkMessage/.../
// conn); a fork of crypto/tls with a resumable handshake, as the community
// gnet adapters do (they are stuck at Go 1.16-1.21 and miss later fixes
// such as hybrid ML-KEM); crypto/tls alone in loop mode, which this
// package did first (one allocation per read batch that nothing but a
// change to crypto/tls can remove). The record layer is the part of TLS
// that is small and fully specified; the handshake, certificate checks,
// key exchange and everything that changes between Go releases stay in
// crypto/tls. What we own is about 500 lines, tested against crypto/tls
// peers both ways (TestRecordLayerChosen, TestKeyUpdate, TestSplitRecords,
// TestCorruptRecord) and against crafted records (TestPostHandshakeMessages).
// Limits: the AES key schedule inside a dropped cipher.AEAD cannot be
// cleared from Go, and crypto/tls keeps its own copy of the traffic
// secrets in the tls.Conn until the Conn is collected.
//
// # Costs
//
// Measured on a shared 2-core machine (go test -bench 'Handshake|Message'
// -benchtime=200ms -count=3, ECDSA P-256 certificates; "bridge-std" is
// the bridge with Config.DisableRecordLayer; "conn" is crypto/tls over
// net.Pipe with the same tls.Config and a goroutine per connection;
// neither touches a socket):
//
//	                          bridge                        conn
//	handshake pair, TLS 1.3   0.78-0.94 ms 1066 allocs 146 KB  0.79-0.90 ms 881 allocs 123 KB
//	handshake pair, TLS 1.2   0.48 ms  552 allocs   51 KB  0.46 ms  478 allocs   46 KB
//	450 B message, TLS 1.3    ~0.56 us  0 allocs (bridge-std ~0.75 us, 1 alloc)  1.8 us  1 alloc
//	4 KiB message, TLS 1.3    ~1.8 us   0 allocs (bridge-std ~2.0 us, 1 alloc)   3.2-3.7 us  1 alloc
//	idle connection           4.2 KB heap, no goroutine   7.9 KB heap + 4.8 KB stack
//
// (go test -bench IdleConn -benchtime 3x; it was 3.6 KB before the record
// layer: the connection now keeps its tls.Config clone and two AEADs.)
// The extra handshake allocations are the pipe's copies of the handshake
// flights, the per-connection tls.Config (a clone carrying the key log
// writer, on both sides) and the record layer's key derivation.
//
// In loop mode the bridge allocates nothing per message over TLS 1.3
// with AES-GCM: TestSteadyStateAllocs proves it with testing.AllocsPerRun
// (Write and Feed, both directions, 1 and 8 messages per Feed, 450 B to
// 15 KiB), and the engine's TestTLSOptionsAllocs bounds every allocation
// of a process running a TLS server answering pipelined OPTIONS by the
// crypto/tls client's own (one per socket read). On the crypto/tls path
// (TLS 1.2 and the rest) a Feed costs one 24-byte allocation per read of
// the pipe, which the bridge keeps to one per Feed for as many records as
// crypto/tls's input buffer holds.
//
// On the crypto/tls path, crypto/tls keeps its own input buffer (the size
// of the largest burst read) for the life of the connection; with the
// record layer it holds only the handshake. The bridge's plaintext buffer
// and a partial record's buffer are released whenever they are empty.
package tlsbridge
