// Package pool shares outbound connections through per-destination pools.
//
// A [Manager] keeps one [Pool] per [Key]: the destination tuple (host as
// given, port, transport) plus the local identity used to connect (a
// client-certificate fingerprint or a group name chosen by the caller).
// Host names are compared byte for byte: two names that resolve to the same
// address are two pools, and resolution is the [Dialer]'s business. Pools
// with different identities never share a connection.
//
// Endpoints hold a pool through a [Handle] from [Manager.Acquire] and give it
// back with [Handle.Release]. [Handle.Get] returns a connection for one
// message: below the pool's size it opens a new connection, at its size it
// hands out the pool's connections round-robin. A size of [Unlimited] turns
// sharing off: every handle gets a connection of its own.
//
// Get takes no lock. It loads an immutable snapshot of slots, advances a
// round-robin counter chosen by the caller's lane (one counter per 128
// bytes, so goroutines on different lanes do not contend) and loads the
// slot's connection. [Handle.GetLoop] is the same for an event loop that
// owns its lane: its counter is plain memory, with no atomic increment.
// An empty or broken slot is claimed with a compare-and-swap so that only
// one dial runs per slot; other callers use another live slot or wait for
// that dial. [Handle.TryGet] and [Handle.TryGetLoop] never wait: when no
// live connection can be handed out they start the dial through an
// [AsyncDialer] and return [ErrDialing], and call the caller's ready
// function when the dial ends. A broken connection is replaced
// by a compare-and-swap on that exact connection, so a late report that an
// old connection closed never removes its replacement.
//
// The pool is generic over the connection: the engine supplies a [Dialer]
// and connections that implement [Conn]. Background work (lease expiry,
// draining retired connections, closing pools after their linger period) is
// done by [Manager.Sweep], called by the owner with an explicit time or by
// the goroutine started by [Manager.Start].
package pool
