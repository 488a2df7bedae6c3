package engine

import "errors"

// Errors returned by managers and connections. Returned errors wrap these
// (test with errors.Is).
var (
	// ErrConfig is wrapped by the errors of Config.Validate.
	ErrConfig = errors.New("engine: invalid config")

	// ErrBackpressure means a send was refused because the connection's
	// outbound buffer has reached Config.WriteHighWater: the peer is not
	// reading fast enough. Nothing was sent.
	ErrBackpressure = errors.New("engine: outbound buffer above high-water mark")

	// ErrConnClosed means the connection is closed or closing.
	ErrConnClosed = errors.New("engine: connection closed")

	// ErrNotStarted means the manager has not been started.
	ErrNotStarted = errors.New("engine: manager not started")

	// ErrClosed means the manager is closed or shutting down.
	ErrClosed = errors.New("engine: manager closed")

	// ErrStarted means Start was called twice.
	ErrStarted = errors.New("engine: manager already started")

	// ErrTransport means a destination's transport is unknown, or cannot
	// be dialed by this manager.
	ErrTransport = errors.New("engine: unsupported transport")
)

func configError(msg string) error {
	return &wrapped{msg: "engine: invalid config: " + msg, err: ErrConfig}
}

type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.err }
