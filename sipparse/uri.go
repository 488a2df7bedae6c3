package sipparse

// Scheme identifies a URI scheme. Schemes other than sip, sips and tel are
// SchemeOther and their URIs are kept opaque.
type Scheme uint8

// URI schemes.
const (
	SchemeOther Scheme = iota
	SchemeSIP
	SchemeSIPS
	SchemeTel
)

// URI is a view of a parsed URI. For sip and sips URIs every part is filled;
// for tel URIs User holds the number and Params its parameters; other schemes
// fill only Raw, Scheme and SchemeName. Parts keep their %HH escapes.
type URI struct {
	Raw        Span   // the whole URI
	Scheme     Scheme // SchemeSIP, SchemeSIPS, SchemeTel or SchemeOther
	SchemeName Span   // the scheme as written
	User       Span   // user part (sip, sips) or number (tel)
	Password   Span
	Host       Span   // host as written; an IPv6 reference keeps its brackets
	Port       uint16 // 0 when absent
	Params     Span   // parameters without the leading ';'
	Headers    Span   // headers without the leading '?'
	Transport  Span   // value of the transport parameter
	Maddr      Span   // value of the maddr parameter
	GR         Span   // value of the gr parameter (RFC 5627), may be empty
	HasGR      bool   // a gr parameter is present
	LR         bool   // an lr parameter is present
	OB         bool   // an ob parameter is present (RFC 5626)
}

// uriMode says where a URI stands, which decides where it ends and what it may
// hold.
type uriMode uint8

const (
	uriRequestLine uriMode = iota // Request-URI: no headers allowed
	uriBracketed                  // inside < >: everything allowed
)

// parseURI parses b[start:end] as a URI into u. It returns the offset of the
// first offending byte and an error, or (0, nil).
func parseURI(b []byte, start, end int, u *URI, mode uriMode) (int, error) {
	*u = URI{Raw: span(start, end)}
	// scheme
	i := start + spanClass(b[start:end], cScheme)
	if i == start || i >= end || b[i] != ':' || !isAlpha(b[start]) {
		return i, ErrBadURI
	}
	u.SchemeName = span(start, i)
	name := b[start:i]
	switch {
	case equalFold(name, "sip"):
		u.Scheme = SchemeSIP
	case equalFold(name, "sips"):
		u.Scheme = SchemeSIPS
	case equalFold(name, "tel"):
		u.Scheme = SchemeTel
	default:
		if j := i + 1 + spanClass(b[i+1:end], cOpaque); j != end {
			return j, ErrBadURI
		}
		if i+1 == end {
			return end, ErrBadURI
		}
		return 0, nil
	}
	i++
	if u.Scheme == SchemeTel {
		j := i + spanClass(b[i:end], cTelNum)
		if j == i {
			return j, ErrBadURI
		}
		u.User = span(i, j)
		return parseURIParams(b, j, end, u, mode)
	}
	// userinfo: up to the one '@', if any. '@' appears in no other part of a
	// sip URI, so its presence decides.
	if at := indexByte(b, i, end, '@'); at >= 0 {
		j := i + spanClass(b[i:at], cUser)
		if j == i || (j < at && b[j] != ':') {
			return j, ErrBadURI
		}
		u.User = span(i, j)
		if j < at { // password
			if k := j + 1 + spanClass(b[j+1:at], cPassword); k != at {
				return k, ErrBadURI
			}
			u.Password = span(j+1, at)
		}
		if findByte(b, i, at, '%') >= 0 {
			if err := checkEscapes(b, i, at); err != nil {
				return i, err
			}
		}
		i = at + 1
	}
	// host
	j, err := scanHost(b, i, end)
	if err != nil {
		return j, ErrBadURI
	}
	u.Host = span(i, j)
	i = j
	if i < end && b[i] == ':' {
		j = i + 1
		for j < end && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		p, ok := parseUint(b, i+1, j, 65535)
		if !ok {
			return i, ErrBadURI
		}
		u.Port = uint16(p)
		i = j
	}
	return parseURIParams(b, i, end, u, mode)
}

// parseURIParams parses ";param" and "?headers" at b[i:end].
func parseURIParams(b []byte, i, end int, u *URI, mode uriMode) (int, error) {
	if i < end && b[i] == ';' {
		pstart := i + 1
		for i < end && b[i] == ';' {
			i++
			ns := i
			i += spanClass(b[i:end], cParam)
			if i == ns {
				return i, ErrBadURI
			}
			ne := i
			vs, ve := i, i
			if i < end && b[i] == '=' {
				i++
				vs = i
				i += spanClass(b[i:end], cParam)
				ve = i
				if vs == ve {
					return i, ErrBadURI
				}
			}
			uriParam(b, ns, ne, vs, ve, u)
		}
		u.Params = span(pstart, i)
	}
	if i < end && b[i] == '?' {
		if mode == uriRequestLine {
			return i, ErrBadRequestURI
		}
		hs := i + 1
		i = hs + spanClass(b[hs:end], cHeader)
		if i != end {
			return i, ErrBadURI
		}
		if i == hs {
			return i, ErrBadURI
		}
		u.Headers = span(hs, i)
	}
	if i != end {
		return i, ErrBadURI
	}
	return 0, nil
}

func uriParam(b []byte, ns, ne, vs, ve int, u *URI) {
	name := b[ns:ne]
	switch len(name) {
	case 2:
		switch {
		case equalFold(name, "lr"):
			u.LR = true
		case equalFold(name, "ob"):
			u.OB = true
		case equalFold(name, "gr"):
			u.HasGR = true
			u.GR = span(vs, ve)
		}
	case 5:
		if equalFold(name, "maddr") {
			u.Maddr = span(vs, ve)
		}
	case 9:
		if equalFold(name, "transport") {
			u.Transport = span(vs, ve)
		}
	}
}

// scanHost returns the end of the host at b[i:end]: a bracketed IPv6
// reference, or a hostname or IPv4 address.
func scanHost(b []byte, i, end int) (int, error) {
	if i >= end {
		return i, ErrBadURI
	}
	if b[i] == '[' {
		j := i + 1
		for j < end && (isHex(b[j]) || b[j] == ':' || b[j] == '.') {
			j++
		}
		if j >= end || b[j] != ']' || j-i < 3 {
			return j, ErrBadURI
		}
		return j + 1, nil
	}
	j := i + spanClass(b[i:end], cHost)
	if j == i || b[i] == '.' || b[i] == '-' {
		return i, ErrBadURI
	}
	return j, nil
}

// checkEscapes reports whether every '%' in b[i:end] starts a %HH escape.
func checkEscapes(b []byte, i, end int) error {
	for ; i < end; i++ {
		if b[i] == '%' {
			if i+2 >= end || !isHex(b[i+1]) || !isHex(b[i+2]) {
				return ErrBadURI
			}
			i += 2
		}
	}
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// indexByte returns the index of the first c in b[i:end], or -1.
func indexByte(b []byte, i, end int, c byte) int {
	return findByte(b, i, end, c)
}
