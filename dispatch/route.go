package dispatch

import (
	"github.com/sipcm/sipcm/sipparse"
)

// Rule says how a request was routed.
type Rule uint8

// Routing rules, in the order they are tried.
const (
	RuleNone    Rule = iota // no endpoint
	RuleDialog              // To tag of a claimed dialog
	RuleToken               // context token in the Request-URI or the top Route
	RuleGRUU                // GRUU in the Request-URI
	RuleAOR                 // user@host of the Request-URI is an endpoint's AOR
	RuleDefault             // the default endpoint
)

// String returns the rule's name.
func (r Rule) String() string {
	switch r {
	case RuleNone:
		return "none"
	case RuleDialog:
		return "dialog"
	case RuleToken:
		return "token"
	case RuleGRUU:
		return "gruu"
	case RuleAOR:
		return "aor"
	case RuleDefault:
		return "default"
	}
	return "unknown"
}

// Route finds the endpoint for the request m:
//
//  1. a request with a To tag goes to the endpoint that claimed the dialog
//     (Call-ID and To tag, see Claim);
//  2. else (or with no claim) the endpoint whose context token is the value
//     of the sipcm-ctx parameter of the Request-URI, or else of the top
//     Route's URI;
//  3. else the endpoint whose GRUU is the Request-URI (user, host and gr
//     value, when the Request-URI has a gr parameter);
//  4. else the earliest added endpoint whose AOR has the Request-URI's user
//     and host (host ignoring case, port and parameters ignored);
//  5. else the default endpoint.
//
// It returns nil and RuleNone when none applies, and the *sipparse.ParseError
// of the Request-URI (Status 400) when it is malformed. It parses the
// Request-URI (and the Route header fields for rule 2 when the Request-URI
// has no token) and allocates nothing for keys up to 256 bytes. Called by
// the goroutine that owns m.
func (d *Dispatcher) Route(m *sipparse.Message) (*Endpoint, Rule, error) {
	buf := m.Buf()
	if tag := m.To.Tag.Bytes(buf); len(tag) > 0 {
		if e := d.Claimed(m.CallID.Bytes(buf), tag); e != nil {
			return e, RuleDialog, nil
		}
	}
	if err := m.ParseURI(); err != nil {
		return nil, RuleNone, err
	}
	t := d.tbl.Load()
	u := &m.RequestURI
	var kb [keyBuf]byte
	if len(t.eps) > 0 {
		tok, ok := sipparse.LookupParam(buf, u.Params, TokenParam)
		if !ok && m.Has(sipparse.HdrRoute) && m.ParseAddrs() == nil && len(m.Routes) > 0 {
			tok, ok = sipparse.LookupParam(buf, m.Routes[0].URI.Params, TokenParam)
		}
		if ok {
			k := appendLower(kb[:0], tok.Bytes(buf))
			if e := t.byToken[string(k)]; e != nil {
				return e, RuleToken, nil
			}
		}
		user, host := u.User.Bytes(buf), u.Host.Bytes(buf)
		if u.HasGR && len(t.byGRUU) > 0 {
			k := appendGRUUKey(kb[:0], user, host, u.GR.Bytes(buf))
			if e := t.byGRUU[string(k)]; e != nil {
				return e, RuleGRUU, nil
			}
		}
		if u.Scheme == sipparse.SchemeSIP || u.Scheme == sipparse.SchemeSIPS {
			k := appendAORKey(kb[:0], user, host)
			if e := t.byAOR[string(k)]; e != nil {
				return e, RuleAOR, nil
			}
		}
	}
	if t.def != nil {
		return t.def, RuleDefault, nil
	}
	return nil, RuleNone, nil
}

// handleRequest routes a request and answers it when no endpoint takes it.
func (d *Dispatcher) handleRequest(c Conn, m *sipparse.Message) {
	d.stats.requests.Add(1)
	e, rule, err := d.Route(m)
	if err != nil {
		d.stats.malformed.Add(1)
		status := 400
		if pe, ok := err.(*sipparse.ParseError); ok && pe.Status >= 400 {
			status = pe.Status
		}
		d.reply(c, m, status)
		return
	}
	d.stats.routed[rule].Add(1)
	if e == nil {
		switch m.Method {
		case sipparse.MethodAck:
		case sipparse.MethodCancel:
			d.reply(c, m, 481) // RFC 3261 §9.2: no matching transaction
		default:
			d.reply(c, m, 500)
		}
		return
	}
	status := e.h.HandleRequest(c, m)
	if status == 0 {
		return
	}
	d.stats.declined.Add(1)
	if status < 300 || status > 699 {
		status = 500
	}
	d.reply(c, m, status)
}

// reply answers m by itself, except an ACK.
func (d *Dispatcher) reply(c Conn, m *sipparse.Message, status int) {
	if m.Method == sipparse.MethodAck {
		return
	}
	d.stats.replies.Add(1)
	if status >= 100 && status < 700 {
		d.stats.replyCodes[status-100].Add(1)
	}
	_ = c.Respond(m, status, "")
}
