package pool

import "errors"

// Errors returned by the package. Dial failures wrap [ErrDial] or
// [ErrOpenTimeout] together with the [Dialer]'s own error.
var (
	// ErrClosed is returned when the pool or its manager is closed.
	ErrClosed = errors.New("pool: closed")
	// ErrReleased is returned by Get on a handle that was released.
	ErrReleased = errors.New("pool: handle released")
	// ErrSize is returned for a size that is neither positive (at most
	// MaxSize) nor Unlimited.
	ErrSize = errors.New("pool: invalid size")
	// ErrKey is returned by Acquire for a key without host, port or a
	// known transport.
	ErrKey = errors.New("pool: invalid key")
	// ErrConfig is wrapped by Config.Validate for an invalid field.
	ErrConfig = errors.New("pool: invalid config")
	// ErrNoDialer is returned by NewManager without a Dialer.
	ErrNoDialer = errors.New("pool: no dialer")
	// ErrDial wraps an error returned by the Dialer.
	ErrDial = errors.New("pool: dial failed")
	// ErrOpenTimeout wraps a dial that did not finish within the open
	// timeout.
	ErrOpenTimeout = errors.New("pool: open timeout")
	// ErrStarted is returned by a second call to Manager.Start.
	ErrStarted = errors.New("pool: already started")
	// ErrDialing is returned by TryGet and TryGetLoop when the pool has no
	// live connection to hand out now: a dial is under way (started by
	// that call or an earlier one), and the ready function passed is
	// called when it ends.
	ErrDialing = errors.New("pool: no connection yet, dialing")
	// ErrNoAsyncDial is returned by TryGet when a dial is needed and the
	// Dialer is not an AsyncDialer.
	ErrNoAsyncDial = errors.New("pool: dialer cannot dial asynchronously")
)

// errRetry tells a caller of Get to reload the snapshot: the slot it used
// was retired while it tried to dial into it. It never leaves the package.
var errRetry = errors.New("pool: retry")
