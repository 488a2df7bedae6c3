package sipparse

// Addr is a view of a name-addr or addr-spec with its header parameters, as in
// From, To, Contact, Route and Record-Route (RFC 3261 §20).
type Addr struct {
	Raw     Span // the whole value
	Display Span // display name; a quoted one is given without its quotes
	URI     URI
	Params  Span // header parameters without the leading ';'
	Tag     Span // value of the tag parameter (From, To)
	Star    bool // the Contact value "*"
}

// parseAddr parses one address at b[i:end]. With list set (Contact, Route,
// Record-Route) the value ends at a ',' outside quotes and brackets. It
// returns the index where it stopped: end, or the ',' of a list.
func parseAddr(b []byte, i, end int, a *Addr, list bool) (int, error) {
	*a = Addr{}
	i = skipLWS(b, i, end)
	start := i
	if i >= end {
		return i, ErrBadAddress
	}
	switch c := b[i]; {
	case c == '"':
		j, err := scanQuoted(b, i, end)
		if err != nil {
			return i, ErrBadAddress
		}
		a.Display = span(i+1, j-1)
		i = skipLWS(b, j, end)
		if i >= end || b[i] != '<' {
			return i, ErrBadAddress
		}
		fallthrough
	case c == '<':
		if err := parseBracketed(b, i, end, a); err != nil {
			return i, err
		}
		i = a.URI.Raw.End() + 1
	case c == '*' && list:
		a.Star = true
		i++
	default:
		// A token display name followed by '<', or a bare addr-spec.
		j := i
		for j < end && (is(b[j], cToken) || isLWS(b[j])) {
			j++
		}
		if j < end && b[j] == '<' {
			a.Display = span(i, trimLWSRight(b, i, j))
			i = j
			if err := parseBracketed(b, i, end, a); err != nil {
				return i, err
			}
			i = a.URI.Raw.End() + 1
			break
		}
		if j < end && b[j] != ':' {
			return j, ErrBadAddress
		}
		// addr-spec: it holds no ';', ',', '?' nor white space, so it ends
		// at the first of them (RFC 3261 §20.10).
		j = i
		for j < end && b[j] != ';' && b[j] != ',' && !isLWS(b[j]) {
			if b[j] == '?' || b[j] == '<' || b[j] == '>' || b[j] == '"' {
				return j, ErrBadAddress
			}
			j++
		}
		if off, err := parseURI(b, i, j, &a.URI, uriBracketed); err != nil {
			return off, ErrBadAddress
		}
		i = j
	}
	// header parameters
	i = skipLWS(b, i, end)
	if i < end && b[i] == ';' {
		pstart := i + 1
		for i < end && b[i] == ';' {
			name, value, next, err := nextParam(b, i, end)
			if err != nil {
				return next, err
			}
			if name.Len == 3 && equalFold(b[name.Off:name.End()], "tag") {
				a.Tag = value
			}
			i = skipLWS(b, next, end)
		}
		a.Params = span(pstart, trimLWSRight(b, pstart, i))
	}
	if i < end && !(list && b[i] == ',') {
		return i, ErrBadAddress
	}
	a.Raw = span(start, trimLWSRight(b, start, i))
	return i, nil
}

// parseBracketed parses "<" URI ">" at b[i:end] into a.URI.
func parseBracketed(b []byte, i, end int, a *Addr) error {
	j := indexByte(b, i+1, end, '>')
	if j < 0 {
		return ErrBadAddress
	}
	if _, err := parseURI(b, i+1, j, &a.URI, uriBracketed); err != nil {
		return ErrBadAddress
	}
	return nil
}
