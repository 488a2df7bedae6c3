package tlsbridge

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// DefaultAllowedDomain is the one entry of the allow list used when
// Config.AllowedDomains is nil.
const DefaultAllowedDomain = "localhost"

// ErrBadDomain reports an AllowedDomains entry that is not a host name or a
// dot-prefixed domain.
var ErrBadDomain = errors.New("tlsbridge: bad allowed domain")

// AllowList is an immutable list of the peers allowed to connect with
// mutual TLS. Each entry is either
//
//   - a host name ("host.example.com"), which allows exactly that name, or
//   - a dot-prefixed domain (".example.com"), which allows every name inside
//     the domain at any depth ("a.example.com", "a.b.example.com") but not
//     the domain's own name ("example.com": list it too if you want it) and
//     not look-alikes ("evilexample.com"). This is how Go's NO_PROXY and
//     curl read a leading dot.
//
// Names compare case-insensitively; a trailing dot is ignored. Entries are
// stored lowercased and deduplicated. An empty list allows any peer.
//
// An AllowList never changes once made, so it may be shared by any number
// of goroutines; the Manager swaps whole lists atomically.
type AllowList struct {
	entries []string // normalized, in the order given, no duplicates
}

// NewAllowList checks and normalizes entries. An entry may not be empty,
// contain spaces, '*', '@', ':' or '/', have empty labels ("a..b") or be a
// lone ".".
func NewAllowList(entries []string) (*AllowList, error) {
	l := &AllowList{entries: make([]string, 0, len(entries))}
	for _, e := range entries {
		n, err := normalizeEntry(e)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(l.entries, n) {
			l.entries = append(l.entries, n)
		}
	}
	return l, nil
}

func normalizeEntry(e string) (string, error) {
	n := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(e), "."))
	body := strings.TrimPrefix(n, ".")
	if body == "" || strings.ContainsAny(body, " \t*@:/") ||
		strings.Contains(body, "..") || strings.HasPrefix(body, ".") {
		return "", fmt.Errorf("%w: %q", ErrBadDomain, e)
	}
	return n, nil
}

// Len returns the number of entries. Zero means any peer is allowed.
func (l *AllowList) Len() int {
	if l == nil {
		return 0
	}
	return len(l.entries)
}

// Entries returns a copy of the normalized entries.
func (l *AllowList) Entries() []string {
	if l == nil {
		return nil
	}
	return slices.Clone(l.entries)
}

// Allows reports whether name is allowed. An empty list allows everything.
// It does not allocate.
func (l *AllowList) Allows(name string) bool {
	if l.Len() == 0 {
		return true
	}
	return l.listed(name)
}

// listed reports whether an entry covers name (false for an empty list).
func (l *AllowList) listed(name string) bool {
	name = strings.TrimSuffix(name, ".")
	if name == "" || l == nil {
		return false
	}
	for _, e := range l.entries {
		if e[0] == '.' {
			if len(name) > len(e) && strings.EqualFold(name[len(name)-len(e):], e) {
				return true
			}
		} else if strings.EqualFold(name, e) {
			return true
		}
	}
	return false
}

// AllowsAny returns the first of names that the list allows. An empty list
// allows the first name, or "" when there are none.
func (l *AllowList) AllowsAny(names []string) (string, bool) {
	if l.Len() == 0 {
		if len(names) > 0 {
			return names[0], true
		}
		return "", true
	}
	for _, n := range names {
		if l.listed(n) {
			return n, true
		}
	}
	return "", false
}

// with returns a new list with name appended, or l itself when an entry
// already covers name or name is not a valid entry.
func (l *AllowList) with(name string) *AllowList {
	n, err := normalizeEntry(name)
	if err != nil || n[0] == '.' || l.listed(n) {
		return l
	}
	nl := &AllowList{entries: make([]string, len(l.entries), len(l.entries)+1)}
	copy(nl.entries, l.entries)
	nl.entries = append(nl.entries, n)
	return nl
}
