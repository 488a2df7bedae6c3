package dispatch

import "errors"

// Errors returned by the dispatcher or passed to a [ResponseFunc]. Returned
// errors wrap these: test with errors.Is.
var (
	// ErrConfig is wrapped by the errors of Config.Validate and
	// EndpointConfig.Validate.
	ErrConfig = errors.New("dispatch: invalid config")

	// ErrPeerToPeerOnClient refuses a peer-to-peer endpoint on a
	// dispatcher whose manager is a client manager (Config.Client).
	ErrPeerToPeerOnClient = errors.New("dispatch: peer-to-peer endpoint refused by a client manager")

	// ErrEndpointInUse means the endpoint is already added to a
	// dispatcher.
	ErrEndpointInUse = errors.New("dispatch: endpoint already added")

	// ErrNotAdded means the endpoint is not added to this dispatcher.
	ErrNotAdded = errors.New("dispatch: endpoint not added to this dispatcher")

	// ErrDuplicateToken means another endpoint already has the context
	// token.
	ErrDuplicateToken = errors.New("dispatch: context token already in use")

	// ErrDuplicateGRUU means another endpoint already has the GRUU.
	ErrDuplicateGRUU = errors.New("dispatch: GRUU already in use")

	// ErrDialogClaimed means another endpoint has claimed the dialog.
	ErrDialogClaimed = errors.New("dispatch: dialog claimed by another endpoint")

	// ErrThrottled fails a request of a throttled endpoint that already has
	// the maximum number of requests outstanding on the connection. Nothing
	// was sent.
	ErrThrottled = errors.New("dispatch: too many outstanding requests")

	// ErrTimeout ends a request that got no final response within
	// Config.Timeout (64*T1 by default, RFC 3261 §17.1.2.2).
	ErrTimeout = errors.New("dispatch: request timed out")

	// ErrConnBroken ends a request whose connection closed before a final
	// response.
	ErrConnBroken = errors.New("dispatch: connection closed before the final response")

	// ErrSendFailed ends a request the connection failed to write; it
	// wraps the connection's error too.
	ErrSendFailed = errors.New("dispatch: send failed")

	// ErrNoTransport means no Transport is set to send requests with.
	ErrNoTransport = errors.New("dispatch: no transport")

	// ErrBadRequest refuses a request to send that does not start with a
	// request line ending in CRLF.
	ErrBadRequest = errors.New("dispatch: malformed request to send")

	// ErrNilFunc refuses a request other than ACK sent without a
	// ResponseFunc.
	ErrNilFunc = errors.New("dispatch: nil response func")

	// ErrClosed means the dispatcher is closed; it also ends the requests
	// outstanding when Close is called.
	ErrClosed = errors.New("dispatch: dispatcher closed")

	// ErrStarted means Start was called twice.
	ErrStarted = errors.New("dispatch: already started")
)

type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.err }

func configError(msg string) error {
	return &wrapped{msg: "dispatch: invalid config: " + msg, err: ErrConfig}
}
