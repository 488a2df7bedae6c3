package sipparse

// A header parameter is ";" name [ "=" value ] with LWS allowed around ";"
// and "=" (RFC 3261 §25.1 SEMI and EQUAL); a value is a token, a host
// (IPv6 references included) or a quoted string.

// nextParam parses one header parameter at b[i:end], where b[i] is ';'. It
// returns the name and value spans and the index just past the parameter.
func nextParam(b []byte, i, end int) (name, value Span, next int, err error) {
	i = skipLWS(b, i+1, end)
	ns := i
	i += spanClass(b[i:end], cToken)
	if i == ns {
		return name, value, i, ErrBadParam
	}
	name = span(ns, i)
	j := skipLWS(b, i, end)
	if j < end && b[j] == '=' {
		j = skipLWS(b, j+1, end)
		vs := j
		if j < end && b[j] == '"' {
			j, err = scanQuoted(b, j, end)
			if err != nil {
				return name, value, j, ErrBadParam
			}
		} else {
			j += spanClass(b[j:end], cValue)
		}
		if j == vs {
			return name, value, j, ErrBadParam
		}
		value = span(vs, j)
		i = j
	} else {
		value = span(name.End(), name.End()) // empty, placed after the name
	}
	return name, value, i, nil
}

// scanQuoted returns the index just past the quoted string starting at b[i]
// (which is '"'), honouring quoted-pairs.
func scanQuoted(b []byte, i, end int) (int, error) {
	for j := i + 1; j < end; j++ {
		switch b[j] {
		case '"':
			return j + 1, nil
		case '\\':
			j++
		}
	}
	return end, ErrBadAddress
}

// LookupParam finds the parameter called name (compared ignoring case) in a
// parameter list such as [Via.Params], [Addr.Params] or [URI.Params], whose
// bytes are in buf. It reports the value (empty for a parameter without one)
// and whether the parameter is present. It does not allocate.
func LookupParam(buf []byte, params Span, name string) (Span, bool) {
	if params.Empty() {
		return Span{}, false
	}
	i, end := int(params.Off), params.End()
	for i < end {
		// each round starts at a parameter name
		i = skipLWS(buf, i, end)
		ns := i
		for i < end && buf[i] != '=' && buf[i] != ';' && !isLWS(buf[i]) {
			i++
		}
		ne := i
		i = skipLWS(buf, i, end)
		var v Span
		if i < end && buf[i] == '=' {
			i = skipLWS(buf, i+1, end)
			vs := i
			if i < end && buf[i] == '"' {
				i, _ = scanQuoted(buf, i, end)
			} else {
				for i < end && buf[i] != ';' && !isLWS(buf[i]) {
					i++
				}
			}
			v = span(vs, i)
			i = skipLWS(buf, i, end)
		}
		if equalFoldBytes(buf[ns:ne], name) {
			return v, true
		}
		if i < end && buf[i] == ';' {
			i++
		} else {
			break
		}
	}
	return Span{}, false
}

// equalFoldBytes reports whether a equals s ignoring ASCII case.
func equalFoldBytes(a []byte, s string) bool {
	if len(a) != len(s) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}
