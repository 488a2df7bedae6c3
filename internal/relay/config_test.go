package relay

import (
	"errors"
	"testing"

	"github.com/sipcm/sipcm/dispatch"
)

func TestConfigValidate(t *testing.T) {
	up := dispatch.Dest{Host: "127.0.0.1", Port: 5060}
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"minimal", Config{Upstream: up}, true},
		{"tls", Config{Upstream: dispatch.Dest{Host: "h", Transport: "tls"}, PoolSize: 1024, MaxWaiting: 1}, true},
		{"no host", Config{}, false},
		{"udp", Config{Upstream: dispatch.Dest{Host: "h", Transport: "UDP"}}, false},
		{"pool too big", Config{Upstream: up, PoolSize: 1025}, false},
		{"negative pool", Config{Upstream: up, PoolSize: -1}, false},
		{"negative waiting", Config{Upstream: up, MaxWaiting: -1}, false},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrConfig)) {
			t.Errorf("%s: %v", tt.name, err)
		}
		if _, err := New(tt.cfg); (err == nil) != tt.ok {
			t.Errorf("%s: New: %v", tt.name, err)
		}
	}
}

func TestParseUpstream(t *testing.T) {
	tests := []struct {
		in   string
		want dispatch.Dest
		ok   bool
	}{
		{"tcp://127.0.0.1:5070", dispatch.Dest{Host: "127.0.0.1", Port: 5070, Transport: "TCP"}, true},
		{"TLS://Example.COM:5061/", dispatch.Dest{Host: "Example.COM", Port: 5061, Transport: "TLS"}, true},
		{"tcp://[::1]", dispatch.Dest{Host: "::1", Transport: "TCP"}, true},
		{"127.0.0.1:5060", dispatch.Dest{}, false},
		{"tcp://", dispatch.Dest{}, false},
		{"tcp://h:0", dispatch.Dest{}, false},
		{"tcp://h:70000", dispatch.Dest{}, false},
		{"tcp://u@h:5060", dispatch.Dest{}, false},
		{"tcp://h:5060/path", dispatch.Dest{}, false},
		{"tcp://h:5060?x=1", dispatch.Dest{}, false},
	}
	for _, tt := range tests {
		got, err := ParseUpstream(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) || (err != nil && !errors.Is(err, ErrConfig)) {
			t.Errorf("%q: got %+v, %v", tt.in, got, err)
		}
	}
}
