package sipparse

// Character classes of RFC 3261 §25.1, as bit sets in one lookup table.
const (
	cToken    = 1 << iota // token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"
	cUser                 // user: unreserved / escaped / user-unreserved
	cPassword             // password: unreserved / escaped / "&" / "=" / "+" / "$" / ","
	cParam                // paramchar: param-unreserved / unreserved / escaped
	cHeader               // hnv-unreserved / unreserved / escaped
	cHost                 // hostname and IPv4 characters: alphanum / "-" / "." (and "_" leniently)
	cScheme               // scheme: ALPHA / DIGIT / "+" / "-" / "."
	cOpaque               // any visible character allowed in an opaque URI
	cValue                // gen-value of a header parameter: token / host
	cTelNum               // a tel URI number: paramchar but ';'
	cWord                 // Call-ID: any visible character (and UTF-8)
	cLWS                  // SP, HT, CR, LF
	cAddrSpec             // an addr-spec outside < >: none of ; , ? < > " nor LWS
)

var charClass = func() (t [256]uint16) {
	set := func(chars string, c uint16) {
		for i := 0; i < len(chars); i++ {
			t[chars[i]] |= c
		}
	}
	const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	const mark = "-_.!~*'()"
	unreserved := alnum + mark
	set(alnum+"-.!%*_+`'~", cToken)
	set(unreserved+"%"+"&=+$,;?/", cUser)
	set(unreserved+"%"+"&=+$,", cPassword)
	set(unreserved+"%"+"[]/:&+$", cParam)
	set(unreserved+"%"+"[]/?:+$", cHeader)
	set(alnum+"-._", cHost)
	set(alnum+"+-.", cScheme)
	set(alnum+"-.!%*_+`'~:[]", cValue)
	set(unreserved+"%"+"[]/:&+$", cTelNum)
	set("=&", cHeader)
	for c := 0x21; c < 0x7f; c++ {
		if c != '<' && c != '>' && c != '"' {
			t[c] |= cOpaque
		}
	}
	for c := 0x21; c < 0x7f; c++ {
		t[c] |= cWord | cAddrSpec
	}
	for _, c := range ";,?<>\"" {
		t[c] &^= cAddrSpec
	}
	set(" \t\r\n", cLWS)
	for c := 0x80; c < 0x100; c++ {
		t[c] |= cOpaque | cWord | cAddrSpec
	}
	return t
}()

func is(c byte, class uint16) bool { return charClass[c]&class != 0 }

// isLWS reports whether c is white space inside a header value. The header
// splitter has already checked that every CR or LF inside a value belongs to a
// line fold (CRLF followed by SP or HT), so both count as white space here.
func isLWS(c byte) bool { return charClass[c]&cLWS != 0 }

// skipLWS returns the first index at or after i in b[:end] that is not LWS.
func skipLWS(b []byte, i, end int) int {
	for i < end && isLWS(b[i]) {
		i++
	}
	return i
}

// trimLWSRight returns the end of b[start:end] without trailing LWS.
func trimLWSRight(b []byte, start, end int) int {
	for end > start && isLWS(b[end-1]) {
		end--
	}
	return end
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// equalFold reports whether a equals the lower-case ASCII string s, ignoring
// the case of a.
func equalFold(a []byte, s string) bool {
	if len(a) != len(s) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != s[i] {
			return false
		}
	}
	return true
}

// EqualFold reports whether a and b are equal ignoring ASCII case. It does not
// allocate.
func EqualFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// parseUint parses the decimal digits of b[start:end] (leading zeros allowed)
// and reports false when there are none, a non-digit, or the value exceeds max.
func parseUint(b []byte, start, end int, max uint64) (uint64, bool) {
	if start >= end {
		return 0, false
	}
	var v uint64
	for i := start; i < end; i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
		if v > max {
			return 0, false
		}
	}
	return v, true
}

// spanClass returns how many leading bytes of b are in class. Ranging over a
// subslice lets the compiler drop bounds checks from this innermost loop.
func spanClass(b []byte, class uint16) int {
	for i, c := range b {
		if charClass[c]&class == 0 {
			return i
		}
	}
	return len(b)
}
