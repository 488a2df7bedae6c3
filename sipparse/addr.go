package sipparse

// Addr is a view of a name-addr or addr-spec with its header parameters, as in
// From, To, Contact, Route and Record-Route (RFC 3261 §20).
type Addr struct {
	Raw     Span // the whole value
	Display Span // display name; a quoted one is given without its quotes
	URI     URI  // see [Message] for when it is parsed
	Params  Span // header parameters without the leading ';'
	Tag     Span // value of the tag parameter (From, To)
	Star    bool // the Contact value "*"
}

// scanAddr finds the parts of one address at b[i:end], leaving its URI as the
// span a.URI.Raw. With list set (Contact, Route, Record-Route) the value ends
// at a ',' outside quotes and brackets. It returns the index where it stopped:
// end, or the ',' of a list.
func scanAddr(b []byte, i, end int, a *Addr, list bool) (int, error) {
	*a = Addr{}
	i = skipLWS(b, i, end)
	start := i
	if i >= end {
		return i, ErrBadAddress
	}
	switch c := b[i]; {
	case c == '<':
		j := findByte(b, i+1, end, '>')
		if j < 0 {
			return i, ErrBadAddress
		}
		a.URI.Raw = span(i+1, j)
		i = j + 1
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
		j = findByte(b, i+1, end, '>')
		if j < 0 {
			return i, ErrBadAddress
		}
		a.URI.Raw = span(i+1, j)
		i = j + 1
	case c == '*' && list:
		a.Star = true
		i++
	default:
		// A token display name followed by '<', or a bare addr-spec.
		j := i + spanClass(b[i:end], cToken|cLWS)
		if j < end && b[j] == '<' {
			a.Display = span(i, trimLWSRight(b, i, j))
			k := findByte(b, j+1, end, '>')
			if k < 0 {
				return j, ErrBadAddress
			}
			a.URI.Raw = span(j+1, k)
			i = k + 1
			break
		}
		if j >= end || b[j] != ':' {
			return j, ErrBadAddress
		}
		// addr-spec: it holds no ';', ',', '?' nor white space, so it ends
		// at the first of them (RFC 3261 §20.10).
		j = i + spanClass(b[i:end], cAddrSpec)
		if j < end && !isLWS(b[j]) && b[j] != ';' && b[j] != ',' {
			return j, ErrBadAddress
		}
		a.URI.Raw = span(i, j)
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

// parseAddrURI parses the URI of an address found by scanAddr.
func parseAddrURI(b []byte, a *Addr) (int, error) {
	if a.Star {
		return 0, nil
	}
	raw := a.URI.Raw
	start, end := int(raw.Off), raw.End()
	if end > start && (isLWS(b[start]) || isLWS(b[end-1])) {
		return start, ErrBadAddress // "< sip:x >" (RFC 4475 badaspec)
	}
	if off, err := parseURI(b, start, end, &a.URI, uriBracketed); err != nil {
		return off, ErrBadAddress
	}
	return 0, nil
}
