package dispatch

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"sync/atomic"

	"github.com/sipcm/sipcm/sipparse"
)

// TokenParam is the URI parameter that carries an endpoint's context
// token in the URIs it hands out (Contact, Record-Route, Path):
// ";sipcm-ctx=TOKEN". A request whose Request-URI, or else whose top Route,
// has it goes to that endpoint before any other rule.
const TokenParam = "sipcm-ctx"

// Kind is the kind of an endpoint.
type Kind uint8

// Endpoint kinds.
const (
	// Registered is an endpoint that talks through a server (registrar,
	// proxy); it may be used with a client manager. The zero Kind.
	Registered Kind = iota
	// PeerToPeer is an endpoint that accepts requests directly from its
	// peers; a client manager (Config.Client) refuses it.
	PeerToPeer
)

// String returns "registered" or "peer-to-peer".
func (k Kind) String() string {
	switch k {
	case Registered:
		return "registered"
	case PeerToPeer:
		return "peer-to-peer"
	}
	return "unknown"
}

// Handler receives the requests routed to an endpoint.
type Handler interface {
	// HandleRequest is called on c's loop with a request routed to the
	// endpoint; m and its bytes are valid only during the call (copy
	// them with sipparse.Message.CopyTo to keep them). It returns 0 when
	// the endpoint takes the request (and answers it, now with c.Respond
	// or later), or a final status (300-699) to decline it, which the
	// dispatcher then sends; other values send 500. An ACK is never
	// answered. It must not block.
	HandleRequest(c Conn, m *sipparse.Message) int
}

// HandlerFunc adapts a function to [Handler].
type HandlerFunc func(c Conn, m *sipparse.Message) int

// HandleRequest calls f. Loop only.
func (f HandlerFunc) HandleRequest(c Conn, m *sipparse.Message) int { return f(c, m) }

// EndpointConfig describes an endpoint.
type EndpointConfig struct {
	// Kind is the endpoint kind. Zero means Registered.
	Kind Kind

	// AOR is the owner URI (address of record), a sip or sips URI such
	// as "sip:alice@example.com". Requests whose Request-URI has the same
	// user and host (host compared ignoring case, port and parameters
	// ignored) are routed to the endpoint. Required.
	AOR string

	// GRUU is the endpoint's GRUU (RFC 5627), a sip or sips URI with a gr
	// parameter: "sip:alice@example.com;gr=urn:uuid:..." (public) or
	// "sip:tgruu.7hs==jd7vnzga5w7fajsc7-ajd6fabz0f8g5@example.com;gr"
	// (temporary). Optional.
	GRUU string

	// Token is the context token put in the URIs the endpoint hands out
	// (see TokenParam): 1 to 64 of the characters A-Z a-z 0-9 - _ . ~,
	// compared ignoring case. Empty means a random one.
	Token string

	// Throttled limits the requests the endpoint may have outstanding on
	// one connection to Config.ThrottleLimit (see Endpoint.SetThrottled).
	Throttled bool

	// Group names the local identity the endpoint connects under: the
	// transport never lets connections made for one group carry another
	// group's traffic (the engine's pools are keyed by it). At most 128
	// printable ASCII characters. Empty is the anonymous group.
	Group string

	// Handler receives the requests routed to the endpoint. Required.
	Handler Handler
}

// Validate reports whether c is usable; errors wrap ErrConfig.
func (c *EndpointConfig) Validate() error {
	_, err := c.keys()
	return err
}

type endpointKeys struct {
	aor, gruu, token string
}

func (c *EndpointConfig) keys() (endpointKeys, error) {
	var k endpointKeys
	if c.Kind > PeerToPeer {
		return k, configError("unknown endpoint Kind")
	}
	if c.Handler == nil {
		return k, configError("endpoint has no Handler")
	}
	if !validGroup(c.Group) {
		return k, configError("Group must be at most 128 printable ASCII characters")
	}
	u, buf, err := parseConfigURI(c.AOR)
	if err != nil {
		return k, configError("AOR: " + err.Error())
	}
	k.aor = string(appendAORKey(nil, u.User.Bytes(buf), u.Host.Bytes(buf)))
	if c.GRUU != "" {
		u, buf, err := parseConfigURI(c.GRUU)
		if err != nil {
			return k, configError("GRUU: " + err.Error())
		}
		if !u.HasGR {
			return k, configError("GRUU has no gr parameter")
		}
		k.gruu = string(appendGRUUKey(nil, u.User.Bytes(buf), u.Host.Bytes(buf), u.GR.Bytes(buf)))
	}
	if c.Token != "" {
		if !validToken(c.Token) {
			return k, configError("Token must be 1 to 64 of A-Z a-z 0-9 - _ . ~")
		}
		k.token = string(appendLower(nil, []byte(c.Token)))
	}
	return k, nil
}

func validGroup(s string) bool {
	if len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func validToken(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9',
			b == '-', b == '_', b == '.', b == '~':
		default:
			return false
		}
	}
	return true
}

// Endpoint is a SIP endpoint that a [Dispatcher] routes requests to and
// sends requests for. Make it with [NewEndpoint]; it may be added to one
// dispatcher at a time. Its methods may be called from any goroutine.
type Endpoint struct {
	kind    Kind
	aor     string
	gruu    string
	token   string // lower case
	group   string
	keys    endpointKeys
	h       Handler
	param   []byte // ";sipcm-ctx=TOKEN"
	owner   atomic.Pointer[Dispatcher]
	throttl atomic.Bool

	mu     sync.Mutex
	claims map[string]struct{} // dialog keys claimed, while added
}

// NewEndpoint returns an endpoint for cfg, or an error wrapping ErrConfig.
func NewEndpoint(cfg EndpointConfig) (*Endpoint, error) {
	k, err := cfg.keys()
	if err != nil {
		return nil, err
	}
	if k.token == "" {
		var r [8]byte
		_, _ = rand.Read(r[:])
		k.token = hex.EncodeToString(r[:])
	}
	e := &Endpoint{
		kind:  cfg.Kind,
		aor:   cfg.AOR,
		gruu:  cfg.GRUU,
		token: k.token,
		group: cfg.Group,
		keys:  k,
		h:     cfg.Handler,
	}
	e.param = append([]byte(";"+TokenParam+"="), k.token...)
	e.throttl.Store(cfg.Throttled)
	return e, nil
}

// Kind returns the endpoint's kind. Any goroutine.
func (e *Endpoint) Kind() Kind { return e.kind }

// AOR returns the owner URI as configured. Any goroutine.
func (e *Endpoint) AOR() string { return e.aor }

// GRUU returns the GRUU as configured, empty when none. Any goroutine.
func (e *Endpoint) GRUU() string { return e.gruu }

// Group returns the endpoint's group (EndpointConfig.Group). Any
// goroutine.
func (e *Endpoint) Group() string { return e.group }

// Token returns the context token (lower case). Any goroutine.
func (e *Endpoint) Token() string { return e.token }

// AppendParam appends ";sipcm-ctx=TOKEN" to dst, to put in a URI the
// endpoint hands out (in a Contact or Record-Route URI, inside the angle
// brackets). It allocates nothing when dst has room. Any goroutine.
func (e *Endpoint) AppendParam(dst []byte) []byte { return append(dst, e.param...) }

// Throttled reports whether the endpoint is throttled. Any goroutine.
func (e *Endpoint) Throttled() bool { return e.throttl.Load() }

// SetThrottled turns throttling on or off; it applies to the requests sent
// afterwards. Any goroutine.
func (e *Endpoint) SetThrottled(on bool) { e.throttl.Store(on) }

// Dispatcher returns the dispatcher the endpoint is added to, or nil. Any
// goroutine.
func (e *Endpoint) Dispatcher() *Dispatcher { return e.owner.Load() }
