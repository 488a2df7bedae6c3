package tlsbridge

import (
	"context"
	"errors"
	"strings"
)

// Reason says why a TLS handshake failed or a peer was refused.
type Reason uint8

// Reasons. ReasonNone is the zero value and means no failure.
const (
	ReasonNone                Reason = iota // no failure
	ReasonUntrustedCA                       // the chain does not lead to a configured CA
	ReasonExpired                           // a certificate is expired or not yet valid
	ReasonNotAllowed                        // incoming MTLS peer not in AllowedDomains
	ReasonIdentityMismatch                  // outgoing peer is not who we dialed
	ReasonWrongEKU                          // extended key usage not acceptable
	ReasonNoClientCertificate               // incoming MTLS peer sent no certificate
	ReasonHandshakeTimeout                  // the handshake did not finish in time
	ReasonOther                             // anything else (protocol error, peer alert, closed)

	// NumReasons is the number of reasons, for arrays indexed by Reason.
	NumReasons = int(ReasonOther) + 1
)

var reasonNames = [NumReasons]string{
	ReasonNone:                "none",
	ReasonUntrustedCA:         "untrusted CA",
	ReasonExpired:             "expired",
	ReasonNotAllowed:          "not in allowed domains",
	ReasonIdentityMismatch:    "identity mismatch",
	ReasonWrongEKU:            "wrong extended key usage",
	ReasonNoClientCertificate: "no client certificate",
	ReasonHandshakeTimeout:    "handshake timeout",
	ReasonOther:               "other",
}

// String returns the reason in words, as used in logs and metrics labels.
func (r Reason) String() string {
	if int(r) < NumReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Error is a failed handshake or refused peer. Every error returned by
// [Conn.Handshake] is an *Error; refusals made by the verification hooks of
// [Manager.ServerConfig] and [Manager.ClientConfig] are too. Use
// [errors.As] or [ReasonOf] to get at it.
type Error struct {
	Reason Reason   // why
	Names  []string // the peer's identities (RFC 5922), when known
	Want   string   // the name that was expected, for ReasonIdentityMismatch
	Err    error    // the underlying error, if any
}

// Error returns "tlsbridge: refused: <reason>..." or, for ReasonOther,
// "tlsbridge: handshake: <cause>".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Reason == ReasonOther {
		b.WriteString("tlsbridge: handshake")
	} else {
		b.WriteString("tlsbridge: refused: ")
		b.WriteString(e.Reason.String())
	}
	if e.Want != "" {
		b.WriteString(": want ")
		b.WriteString(e.Want)
	}
	if len(e.Names) > 0 {
		b.WriteString(": peer ")
		b.WriteString(strings.Join(e.Names, ","))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the Reason carried by err: ReasonNone for nil, the
// Reason of the first *Error in err's chain, ReasonHandshakeTimeout for
// context.DeadlineExceeded and ReasonOther for anything else.
func ReasonOf(err error) Reason {
	if err == nil {
		return ReasonNone
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ReasonHandshakeTimeout
	}
	return ReasonOther
}
