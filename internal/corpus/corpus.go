// Package corpus holds the SIP messages that the parser benchmarks,
// differential tests and fuzz seeds share.
//
// The messages are files in testdata, embedded byte-exact (CRLF line
// endings). Each is a valid RFC 3261 message whose Content-Length equals its
// body length. [Stream] lays them back to back as a stream transport carries
// them and [Cut] splits such a stream into the arbitrary pieces a TCP read
// delivers.
//
// Every function may be called from any goroutine; each call returns fresh
// slices that the caller owns.
package corpus

import (
	"embed"
)

//go:embed testdata/*.sip
var files embed.FS

// Names of the corpus messages, in the order [Messages] returns them.
const (
	// Options is a 456-byte OPTIONS request.
	Options = "options"
	// Invite is a 907-byte INVITE with an SDP body.
	Invite = "invite"
	// OK3Via is a 200 OK to an INVITE with three Via header fields, a
	// Record-Route with two values and an SDP body.
	OK3Via = "ok3via"
	// RegisterCompact is a REGISTER using the compact header forms
	// (v, t, f, i, m, k, u, l).
	RegisterCompact = "register-compact"
	// Big4K is a 4096-byte IMS INVITE with many header fields (Route set,
	// P- headers, Supported, Allow, History-Info) and an SDP body.
	Big4K = "big4k"
)

var names = [...]string{Options, Invite, OK3Via, RegisterCompact, Big4K}

// Msg is one corpus message.
type Msg struct {
	// Name identifies the message, such as "options"; it is usable as a
	// sub-test or sub-benchmark name.
	Name string
	// Bytes is the whole message, start line to the end of the body.
	Bytes []byte
}

// Names returns the names of the corpus messages in corpus order.
func Names() []string {
	return append([]string(nil), names[:]...)
}

// Messages returns every corpus message in corpus order. The byte slices are
// fresh copies: the caller may modify them.
func Messages() []Msg {
	msgs := make([]Msg, len(names))
	for i, n := range names {
		msgs[i] = Msg{Name: n, Bytes: read(n)}
	}
	return msgs
}

// Lookup returns the corpus message called name, and whether there is one.
// The byte slice is a fresh copy.
func Lookup(name string) (Msg, bool) {
	for _, n := range names {
		if n == name {
			return Msg{Name: n, Bytes: read(n)}, true
		}
	}
	return Msg{}, false
}

// read returns the embedded file of message name. The names are fixed and a
// test checks every one is embedded, so a failure is a build defect.
func read(name string) []byte {
	b, err := files.ReadFile("testdata/" + name + ".sip")
	if err != nil {
		panic("corpus: " + err.Error())
	}
	return b
}
