package sipparse

// Via is a view of one via-parm (RFC 3261 §20.42). A Via header field may hold
// several, separated by commas; [Message.Vias] lists them all in order.
type Via struct {
	Raw       Span   // the whole via-parm
	Protocol  Span   // "SIP/2.0" as written (it may hold LWS)
	Transport Span   // UDP, TCP, TLS, SCTP, WS, ...
	Host      Span   // sent-by host; an IPv6 reference keeps its brackets
	Port      uint16 // sent-by port, 0 when absent
	Params    Span   // parameters without the leading ';'
	Branch    Span
	Received  Span
	RPort     Span // value of rport; empty when absent or given without a value
	HasRPort  bool // an rport parameter is present (RFC 3581)
	Maddr     Span
	Alias     Span // value of alias (RFC 5923), empty when absent or valueless
	HasAlias  bool
	Header    uint16 // index in [Message.Headers] of the Via line it came from
}

// parseVia parses one via-parm at b[i:end] into v and returns the index where
// it stopped: end, or the ',' before the next via-parm.
func parseVia(b []byte, i, end int, v *Via) (int, error) {
	*v = Via{}
	i = skipLWS(b, i, end)
	start := i
	// sent-protocol: name LWS? "/" LWS? version LWS? "/" LWS? transport
	if end-i > 8 && string(b[i:i+8]) == "SIP/2.0/" {
		// the common form, without LWS
		j := i + 8 + spanClass(b[i+8:end], cToken)
		v.Protocol = span(i, i+7)
		v.Transport = span(i+8, j)
		i = j
		if j == start+8 {
			return j, ErrBadVia
		}
	} else if j, err := parseSentProtocol(b, i, end, v); err != nil {
		return j, err
	} else {
		i = j
	}
	return parseSentBy(b, start, i, end, v)
}

// parseSentProtocol parses "SIP / 2.0 / TCP" with LWS anywhere between.
func parseSentProtocol(b []byte, i, end int, v *Via) (int, error) {
	var parts [3]Span
	for k := 0; k < 3; k++ {
		if k > 0 {
			i = skipLWS(b, i, end)
			if i >= end || b[i] != '/' {
				return i, ErrBadVia
			}
			i = skipLWS(b, i+1, end)
		}
		s := i
		i += spanClass(b[i:end], cToken)
		if i == s {
			return i, ErrBadVia
		}
		parts[k] = span(s, i)
	}
	v.Protocol = span(int(parts[0].Off), parts[1].End())
	v.Transport = parts[2]
	return i, nil
}

// parseSentBy parses LWS sent-by *(SEMI via-params) at b[i:end] for the
// via-parm that starts at start.
func parseSentBy(b []byte, start, i, end int, v *Via) (int, error) {
	j := skipLWS(b, i, end)
	if j == i {
		return i, ErrBadVia
	}
	i = j
	j, err := scanHost(b, i, end)
	if err != nil {
		return j, ErrBadVia
	}
	v.Host = span(i, j)
	i = skipLWS(b, j, end)
	if i < end && b[i] == ':' {
		i = skipLWS(b, i+1, end)
		j = i
		for j < end && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		p, ok := parseUint(b, i, j, 65535)
		if !ok {
			return i, ErrBadVia
		}
		v.Port = uint16(p)
		i = skipLWS(b, j, end)
	}
	if i < end && b[i] == ';' {
		pstart := i + 1
		for i < end && b[i] == ';' {
			name, value, next, err := nextParam(b, i, end)
			if err != nil {
				return next, ErrBadVia
			}
			viaParam(b, name, value, v)
			i = skipLWS(b, next, end)
		}
		v.Params = span(pstart, trimLWSRight(b, pstart, i))
	}
	if i < end && b[i] != ',' {
		return i, ErrBadVia
	}
	v.Raw = span(start, trimLWSRight(b, start, i))
	return i, nil
}

func viaParam(b []byte, name, value Span, v *Via) {
	n := b[name.Off:name.End()]
	switch len(n) {
	case 5:
		switch {
		case equalFold(n, "rport"):
			v.HasRPort = true
			v.RPort = value
		case equalFold(n, "maddr"):
			v.Maddr = value
		case equalFold(n, "alias"):
			v.HasAlias = true
			v.Alias = value
		}
	case 6:
		if equalFold(n, "branch") {
			v.Branch = value
		}
	case 8:
		if equalFold(n, "received") {
			v.Received = value
		}
	}
}
