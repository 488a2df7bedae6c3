package sipparse

import "errors"

// Limits bounds what a [Framer] buffers and what [Message.Parse] accepts. The
// zero value of every field selects its default.
type Limits struct {
	// MaxHeaderBytes bounds the start line and header section, empty line
	// included. Default 16 KiB.
	MaxHeaderBytes int
	// MaxMessageBytes bounds a whole message, body included. Default 64 KiB.
	MaxMessageBytes int
	// MaxHeaders bounds the number of header field lines. Default 128.
	MaxHeaders int
	// MaxValues bounds the values of each list kept by a Message: Via,
	// Contact, Route and Record-Route. Default 70, the customary initial
	// Max-Forwards, so a request that travelled its whole hop count fits.
	MaxValues int
	// MaxSkipBytes is the largest body of an oversize message that a Framer
	// skips (so the stream survives and the message gets 513) instead of
	// closing the stream. Default 1 MiB.
	MaxSkipBytes int
}

// Default limits.
const (
	DefaultMaxHeaderBytes  = 16 << 10
	DefaultMaxMessageBytes = 64 << 10
	DefaultMaxHeaders      = 128
	DefaultMaxValues       = 70
	DefaultMaxSkipBytes    = 1 << 20
)

// ErrBadLimits is returned by [Limits.Validate].
var ErrBadLimits = errors.New("sipparse: invalid limits")

// Validate reports whether the limits are usable: no field is negative and
// MaxHeaderBytes does not exceed MaxMessageBytes.
func (l Limits) Validate() error {
	if l.MaxHeaderBytes < 0 || l.MaxMessageBytes < 0 || l.MaxHeaders < 0 || l.MaxValues < 0 || l.MaxSkipBytes < 0 {
		return ErrBadLimits
	}
	d := l.withDefaults()
	if d.MaxHeaderBytes > d.MaxMessageBytes || d.MaxMessageBytes > 1<<30 {
		return ErrBadLimits
	}
	return nil
}

func (l Limits) withDefaults() Limits {
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultMaxHeaders
	}
	if l.MaxValues <= 0 {
		l.MaxValues = DefaultMaxValues
	}
	if l.MaxSkipBytes <= 0 {
		l.MaxSkipBytes = DefaultMaxSkipBytes
	}
	return l
}
