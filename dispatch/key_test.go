package dispatch

import "testing"

func TestKeys(t *testing.T) {
	tests := []struct {
		user, host, want string
	}{
		{"alice", "Example.COM", "alice@example.com"},
		{"%61%6C%6c", "h", "all@h"},
		{"a%zzb%4", "h", "a%zzb%4@h"},
		{"a%", "[2001:DB8::1]", "a%@[2001:db8::1]"},
		{"", "h", "@h"},
	}
	for _, tt := range tests {
		if got := string(appendAORKey(nil, []byte(tt.user), []byte(tt.host))); got != tt.want {
			t.Errorf("appendAORKey(%q, %q) = %q, want %q", tt.user, tt.host, got, tt.want)
		}
	}
	if got := string(appendGRUUKey(nil, []byte("a"), []byte("H"), []byte("URN:X"))); got != "a@h\x00urn:x" {
		t.Errorf("appendGRUUKey = %q", got)
	}
	if got := string(appendDialogKey(nil, []byte("Call"), []byte("Tag"))); got != "Call\x00Tag" {
		t.Errorf("appendDialogKey = %q", got)
	}
}

// TestLongKeys: keys longer than the stack buffer still work.
func TestLongKeys(t *testing.T) {
	env := newEnv(t, Config{})
	long := make([]byte, 300)
	for i := range long {
		long[i] = 'x'
	}
	e := mustEndpoint(t, EndpointConfig{AOR: "sip:" + string(long) + "@example.com"})
	if err := env.d.Add(e); err != nil {
		t.Fatal(err)
	}
	if err := env.d.Claim(e, long, long); err != nil {
		t.Fatal(err)
	}
	if env.d.Claimed(long, long) != e {
		t.Error("long dialog key not found")
	}
	got, rule, err := env.d.Route(parse(t, request("INVITE", "sip:"+string(long)+"@EXAMPLE.com", "", "")))
	if err != nil || got != e || rule != RuleAOR {
		t.Errorf("Route = %v %v %v", got, rule, err)
	}
}
