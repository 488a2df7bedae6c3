package dispatch

import (
	"errors"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{T1: 100, Timeout: 1000, ThrottleLimit: 5, SentBy: "proxy.example.com:5060", Tick: 10}, true},
		{Config{SentBy: "[2001:db8::1]:5060"}, true},
		{Config{T1: -1}, false},
		{Config{Timeout: -1}, false},
		{Config{ThrottleLimit: -1}, false},
		{Config{Tick: -1}, false},
		{Config{SentBy: "a b"}, false},
		{Config{SentBy: "a;branch=x"}, false},
		{Config{SentBy: "a\r\nX: y"}, false},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%+v: Validate() = %v, want ok=%v", tt.cfg, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v does not wrap ErrConfig", tt.cfg, err)
		}
		if _, err2 := New(tt.cfg); (err2 == nil) != tt.ok {
			t.Errorf("%+v: New error %v, want ok=%v", tt.cfg, err2, tt.ok)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.T1 != DefaultT1 || c.Timeout != 64*DefaultT1 || c.ThrottleLimit != 20 || c.Tick != DefaultTick || c.Clock == nil {
		t.Errorf("defaults %+v", c)
	}
	if c := (Config{T1: 100}).withDefaults(); c.Timeout != 6400 {
		t.Errorf("Timeout with T1 100 = %v, want 6400", c.Timeout)
	}
}

func TestEndpointConfig(t *testing.T) {
	h := new(taker)
	tests := []struct {
		name string
		cfg  EndpointConfig
		ok   bool
	}{
		{"minimal", EndpointConfig{AOR: "sip:a@example.com", Handler: h}, true},
		{"full", EndpointConfig{Kind: PeerToPeer, AOR: "sips:a@example.com", GRUU: "sips:a@example.com;gr=urn:x", Token: "Ab-9_.~", Handler: h}, true},
		{"no handler", EndpointConfig{AOR: "sip:a@example.com"}, false},
		{"no AOR", EndpointConfig{Handler: h}, false},
		{"tel AOR", EndpointConfig{AOR: "tel:+1555", Handler: h}, false},
		{"bad AOR", EndpointConfig{AOR: "sip:a@", Handler: h}, false},
		{"AOR with space", EndpointConfig{AOR: "sip:a@b c", Handler: h}, false},
		{"GRUU without gr", EndpointConfig{AOR: "sip:a@b", GRUU: "sip:a@b", Handler: h}, false},
		{"bad GRUU", EndpointConfig{AOR: "sip:a@b", GRUU: "mailto:x", Handler: h}, false},
		{"bad token", EndpointConfig{AOR: "sip:a@b", Token: "a;b", Handler: h}, false},
		{"long token", EndpointConfig{AOR: "sip:a@b", Token: strings.Repeat("a", 65), Handler: h}, false},
		{"bad kind", EndpointConfig{AOR: "sip:a@b", Kind: 9, Handler: h}, false},
		{"group", EndpointConfig{AOR: "sip:a@b", Group: "tenant 7/edge", Handler: h}, true},
		{"group with control", EndpointConfig{AOR: "sip:a@b", Group: "a\nb", Handler: h}, false},
		{"long group", EndpointConfig{AOR: "sip:a@b", Group: strings.Repeat("g", 129), Handler: h}, false},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v does not wrap ErrConfig", tt.name, err)
		}
		if _, err := NewEndpoint(tt.cfg); (err == nil) != tt.ok {
			t.Errorf("%s: NewEndpoint error %v", tt.name, err)
		}
	}
}

func TestEndpointAccessors(t *testing.T) {
	e := mustEndpoint(t, EndpointConfig{AOR: "sip:a@b", GRUU: "sip:a@b;gr", Token: "TOK", Throttled: true, Group: "G1"})
	if e.AOR() != "sip:a@b" || e.GRUU() != "sip:a@b;gr" || e.Token() != "tok" || e.Kind() != Registered || !e.Throttled() || e.Group() != "G1" {
		t.Errorf("accessors: %q %q %q %v %v %q", e.AOR(), e.GRUU(), e.Token(), e.Kind(), e.Throttled(), e.Group())
	}
	if got := string(e.AppendParam([]byte("<sip:a@192.0.2.1"))); got != "<sip:a@192.0.2.1;sipcm-ctx=tok" {
		t.Errorf("AppendParam = %q", got)
	}
	e.SetThrottled(false)
	if e.Throttled() {
		t.Error("SetThrottled(false) did not stick")
	}
	r1 := mustEndpoint(t, EndpointConfig{AOR: "sip:a@b"})
	r2 := mustEndpoint(t, EndpointConfig{AOR: "sip:a@b"})
	if len(r1.Token()) != 16 || r1.Token() == r2.Token() || !validToken(r1.Token()) {
		t.Errorf("random tokens %q %q", r1.Token(), r2.Token())
	}
	if Registered.String() != "registered" || PeerToPeer.String() != "peer-to-peer" || Kind(9).String() != "unknown" {
		t.Error("Kind.String")
	}
}

func TestAddRemove(t *testing.T) {
	env := newEnv(t, Config{})
	d := env.d
	a := mustEndpoint(t, EndpointConfig{AOR: "sip:a@example.com", GRUU: "sip:a@example.com;gr=1", Token: "ta"})
	b := mustEndpoint(t, EndpointConfig{AOR: "sip:b@example.com", Token: "tb"})
	if err := d.Add(a, b); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		eps  []*Endpoint
		want error
	}{
		{"again", []*Endpoint{a}, ErrEndpointInUse},
		{"twice in one call", func() []*Endpoint {
			x := mustEndpoint(t, EndpointConfig{AOR: "sip:x@h"})
			return []*Endpoint{x, x}
		}(), ErrDuplicateToken},
		{"token taken", []*Endpoint{mustEndpoint(t, EndpointConfig{AOR: "sip:c@h", Token: "TA"})}, ErrDuplicateToken},
		{"GRUU taken", []*Endpoint{mustEndpoint(t, EndpointConfig{AOR: "sip:c@h", GRUU: "sip:a@EXAMPLE.com;gr=1"})}, ErrDuplicateGRUU},
	}
	for _, tt := range tests {
		if err := d.Add(tt.eps...); !errors.Is(err, tt.want) {
			t.Errorf("%s: Add = %v, want %v", tt.name, err, tt.want)
		}
	}
	// All or none: a failing batch adds nothing.
	c := mustEndpoint(t, EndpointConfig{AOR: "sip:c@h"})
	if err := d.Add(c, mustEndpoint(t, EndpointConfig{AOR: "sip:d@h", Token: "tb"})); err == nil {
		t.Fatal("batch with a duplicate token added")
	}
	if c.Dispatcher() != nil || len(d.Endpoints()) != 2 {
		t.Fatalf("failed batch left %d endpoints, c owner %p", len(d.Endpoints()), c.Dispatcher())
	}
	// An endpoint of another dispatcher.
	d2, _ := New(Config{})
	if err := d2.Add(a); !errors.Is(err, ErrEndpointInUse) {
		t.Errorf("Add to second dispatcher = %v", err)
	}
	if err := d2.SetDefault(a); !errors.Is(err, ErrNotAdded) {
		t.Errorf("SetDefault of another's endpoint = %v", err)
	}
	// Default, claims and removal.
	if err := d.SetDefault(b); err != nil || d.Default() != b {
		t.Fatal(err)
	}
	if err := d.Claim(a, []byte("cid"), []byte("tag")); err != nil {
		t.Fatal(err)
	}
	if err := d.Claim(b, []byte("cid"), []byte("tag")); !errors.Is(err, ErrDialogClaimed) {
		t.Errorf("second claim = %v", err)
	}
	if err := d.Claim(a, []byte("cid"), []byte("tag")); err != nil {
		t.Errorf("claim again by the owner = %v", err)
	}
	d.Remove(a, b, mustEndpoint(t, EndpointConfig{AOR: "sip:zz@h"}))
	if len(d.Endpoints()) != 0 || d.Default() != nil || a.Dispatcher() != nil {
		t.Fatalf("after Remove: %d endpoints, default %v", len(d.Endpoints()), d.Default())
	}
	if d.Claimed([]byte("cid"), []byte("tag")) != nil {
		t.Error("claim survived Remove")
	}
	if err := d.Claim(a, []byte("cid2"), []byte("tag")); !errors.Is(err, ErrNotAdded) {
		t.Errorf("Claim by removed endpoint = %v", err)
	}
	// Removed endpoints can be added again, here or elsewhere.
	if err := d2.Add(a); err != nil {
		t.Errorf("Add after Remove = %v", err)
	}
	if err := d.Add(b); err != nil {
		t.Errorf("Add back = %v", err)
	}
	if err := d.Claim(b, []byte("cid"), []byte("tag")); err != nil {
		t.Errorf("claim of a dialog whose owner was removed = %v", err)
	}
	d.Unclaim([]byte("cid"), []byte("tag"))
	if d.Claimed([]byte("cid"), []byte("tag")) != nil {
		t.Error("Unclaim kept the claim")
	}
	d.Unclaim([]byte("none"), nil)
}

func TestPeerToPeerOnClient(t *testing.T) {
	env := newEnv(t, Config{Client: true})
	p := mustEndpoint(t, EndpointConfig{AOR: "sip:p@h", Kind: PeerToPeer})
	r := mustEndpoint(t, EndpointConfig{AOR: "sip:r@h"})
	err := env.d.Add(r, p)
	if !errors.Is(err, ErrPeerToPeerOnClient) {
		t.Fatalf("Add = %v, want ErrPeerToPeerOnClient", err)
	}
	if !strings.HasPrefix(err.Error(), "dispatch: ") {
		t.Errorf("error text %q", err)
	}
	if err := env.d.Add(r); err != nil {
		t.Errorf("registered endpoint on a client = %v", err)
	}
	server := newEnv(t, Config{})
	if err := server.d.Add(p); err != nil {
		t.Errorf("peer-to-peer endpoint on a server = %v", err)
	}
}

func TestClosedDispatcher(t *testing.T) {
	env := newEnv(t, Config{})
	if err := env.d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := env.d.Add(mustEndpoint(t, EndpointConfig{AOR: "sip:a@b"})); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close = %v", err)
	}
	if err := env.d.Start(); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close = %v", err)
	}
	if err := env.d.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestRuleString(t *testing.T) {
	for r, s := range map[Rule]string{RuleNone: "none", RuleDialog: "dialog", RuleToken: "token",
		RuleGRUU: "gruu", RuleAOR: "aor", RuleDefault: "default", Rule(99): "unknown"} {
		if r.String() != s {
			t.Errorf("%d: %q", r, r.String())
		}
	}
}
