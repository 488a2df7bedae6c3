package tlsbridge

import (
	"errors"
	"slices"
	"sync"
	"testing"
)

func TestAllowList(t *testing.T) {
	cases := []struct {
		entries []string
		name    string
		want    bool
	}{
		{[]string{"host.example.com"}, "host.example.com", true},
		{[]string{"host.example.com"}, "HOST.Example.com", true},
		{[]string{"Host.Example.COM."}, "host.example.com.", true},
		{[]string{"host.example.com"}, "other.example.com", false},
		{[]string{"host.example.com"}, "a.host.example.com", false}, // an FQDN is not a domain
		{[]string{"host.example.com"}, "example.com", false},
		{[]string{".example.com"}, "a.example.com", true},
		{[]string{".example.com"}, "a.b.example.com", true},
		{[]string{".example.com"}, "A.EXAMPLE.COM", true},
		{[]string{".example.com"}, "example.com", false}, // the apex is not inside
		{[]string{".example.com"}, "evilexample.com", false},
		{[]string{".example.com"}, "xexample.com", false},
		{[]string{".example.com"}, "example.com.evil.org", false},
		{[]string{".example.com"}, "a.example.com.evil.org", false},
		{[]string{".example.com"}, ".example.com", false},
		{[]string{".example.com"}, "", false},
		{[]string{".example.com", "example.com"}, "example.com", true},
		{[]string{"localhost"}, "localhost", true},
		{[]string{"localhost"}, "localhost.example.com", false},
		{[]string{}, "anything.org", true}, // empty allows any
		{nil, "", true},
	}
	for _, tc := range cases {
		l, err := NewAllowList(tc.entries)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Allows(tc.name); got != tc.want {
			t.Errorf("%q.Allows(%q) = %v, want %v", tc.entries, tc.name, got, tc.want)
		}
	}
}

func TestAllowListBadEntries(t *testing.T) {
	for _, e := range []string{"", " ", ".", "..", "*.example.com", "a..b", "..example.com",
		"user@example.com", "example.com:5060", "sip:example.com", "a b", "a/b"} {
		if _, err := NewAllowList([]string{e}); !errors.Is(err, ErrBadDomain) {
			t.Errorf("%q: %v, want ErrBadDomain", e, err)
		}
	}
}

func TestAllowListNormalize(t *testing.T) {
	l, err := NewAllowList([]string{"A.example.com", "a.example.com.", " .Example.com ", ".example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.Entries(), []string{"a.example.com", ".example.com"}; !slices.Equal(got, want) {
		t.Errorf("Entries = %q, want %q", got, want)
	}
	if name, ok := l.AllowsAny([]string{"evil.org", "x.example.com"}); !ok || name != "x.example.com" {
		t.Errorf("AllowsAny = %q %v", name, ok)
	}
	if _, ok := l.AllowsAny([]string{"evil.org"}); ok {
		t.Error("AllowsAny allowed evil.org")
	}
	var empty AllowList
	if name, ok := empty.AllowsAny([]string{"a", "b"}); !ok || name != "a" {
		t.Errorf("empty AllowsAny = %q %v", name, ok)
	}
	if name, ok := empty.AllowsAny(nil); !ok || name != "" {
		t.Errorf("empty AllowsAny(nil) = %q %v", name, ok)
	}
}

func TestAllowListWith(t *testing.T) {
	l, _ := NewAllowList([]string{".example.com", "host.org"})
	if l.with("a.example.com") != l || l.with("HOST.org") != l || l.with("bad name") != l || l.with(".x.org") != l {
		t.Error("with added a covered, bad or domain entry")
	}
	nl := l.with("New.Net")
	if got, want := nl.Entries(), []string{".example.com", "host.org", "new.net"}; !slices.Equal(got, want) {
		t.Errorf("with: %q", got)
	}
	if l.Len() != 2 {
		t.Error("with modified the old list")
	}
}

func TestAllowsAllocs(t *testing.T) {
	l, _ := NewAllowList([]string{"a.example.com", ".example.org", "localhost"})
	names := []string{"x.y.example.org", "LOCALHOST", "evilexample.org"}
	if n := testing.AllocsPerRun(100, func() {
		for _, nm := range names {
			l.Allows(nm)
		}
		l.AllowsAny(names)
	}); n != 0 {
		t.Errorf("%v allocs", n)
	}
}

// TestAllowedDomainsConcurrent replaces the list while readers check
// names; run with -race.
func TestAllowedDomainsConcurrent(t *testing.T) {
	m := newManager(t, Config{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				l := m.AllowList()
				// A list is either the old or the new one, never a mix.
				if a, b := l.Allows("a.example.com"), l.Allows("b.example.com"); a != b {
					t.Error("torn list")
					return
				}
			}
		}()
	}
	for i := range 200 {
		list := []string{"localhost"}
		if i%2 == 0 {
			list = []string{"a.example.com", "b.example.com"}
		}
		if err := m.SetAllowedDomains(list); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}
