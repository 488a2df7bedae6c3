package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/pool"
	"github.com/sipcm/sipcm/sipparse"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"negative timeouts disable", Config{FirstMessageTimeout: -1, IdleTimeoutIn: -1, IdleTimeoutOut: -1}, true},
		{"loops", Config{Loops: -1}, false},
		{"read buffer", Config{ReadBufferCap: -1}, false},
		{"tick", Config{Tick: -time.Second}, false},
		{"slots", Config{WheelSlots: -1}, false},
		{"dial timeout", Config{DialTimeout: -1}, false},
		{"high water", Config{WriteHighWater: -1}, false},
		{"max conns", Config{MaxConns: -1}, false},
		{"per IP", Config{MaxConnsPerIP: -1}, false},
		{"shutdown poll", Config{ShutdownPoll: -1}, false},
		{"limits", Config{Limits: sipparse.Limits{MaxHeaderBytes: 1 << 20, MaxMessageBytes: 1 << 10}}, false},
		{"pool size", Config{PoolSize: 3}, true},
		{"pool unlimited", Config{PoolSize: pool.Unlimited}, true},
		{"pool size negative", Config{PoolSize: -2}, false},
		{"pool size too large", Config{PoolSize: pool.MaxSize + 1}, false},
		{"pool config", Config{Pool: pool.Config{LeaseTimeout: -1}}, false},
		{"pool fields set by the manager", Config{Pool: pool.Config{DefaultSize: -7, Lanes: 9999}}, true},
		{"dispatch config", Config{Dispatch: dispatch.Config{T1: -1}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v does not wrap ErrConfig", err)
			}
			if err == nil {
				return
			}
			if _, err := NewTCPServer(tt.cfg); !errors.Is(err, ErrConfig) {
				t.Fatalf("NewTCPServer: %v", err)
			}
			if _, err := NewClientManager(tt.cfg); !errors.Is(err, ErrConfig) {
				t.Fatalf("NewClientManager: %v", err)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	d := Config{IdleTimeoutOut: -1}.withDefaults()
	if d.Tick != DefaultTick || d.WheelSlots != DefaultWheelSlots ||
		d.FirstMessageTimeout != DefaultFirstMessageTimeout || d.IdleTimeoutIn != DefaultIdleTimeoutIn ||
		d.IdleTimeoutOut != 0 || d.DialTimeout != DefaultDialTimeout || d.WriteHighWater != DefaultWriteHighWater ||
		d.Logger == nil || d.Handler != nil || d.Clock == nil {
		t.Fatalf("defaults %+v", d)
	}
}

// TestLayerDefaults: a server manager's pools default to 5 connections, a
// client manager's to no sharing; both have a dispatcher, and only the
// client's refuses peer-to-peer endpoints.
func TestLayerDefaults(t *testing.T) {
	s, err := NewTCPServer(Config{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cm, err := NewClientManager(Config{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Close()
	sized, err := NewTCPServer(Config{Logger: testLogger(t), PoolSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer sized.Close()
	if s.DefaultPoolSize() != pool.DefaultPoolSize || cm.DefaultPoolSize() != pool.Unlimited || sized.DefaultPoolSize() != 2 {
		t.Fatalf("default pool sizes %d %d %d", s.DefaultPoolSize(), cm.DefaultPoolSize(), sized.DefaultPoolSize())
	}
	p2p := func() *dispatch.Endpoint {
		return newEndpoint(t, dispatch.EndpointConfig{Kind: dispatch.PeerToPeer, AOR: "sip:p@example.com"})
	}
	if err := s.Dispatcher().Add(p2p()); err != nil {
		t.Errorf("server refuses a peer-to-peer endpoint: %v", err)
	}
	if err := cm.Dispatcher().Add(p2p()); !errors.Is(err, dispatch.ErrPeerToPeerOnClient) {
		t.Errorf("client manager: %v, want ErrPeerToPeerOnClient", err)
	}
}

func TestPoolKey(t *testing.T) {
	tests := []struct {
		dst   dispatch.Dest
		group string
		want  pool.Key
		err   error
	}{
		{dispatch.Dest{Host: "a.example"}, "", pool.Key{Host: "a.example", Port: 5060, Transport: pool.TCP}, nil},
		{dispatch.Dest{Host: "A.example", Port: 7, Transport: "tcp"}, "g", pool.Key{Host: "A.example", Port: 7, Transport: pool.TCP, Identity: "g"}, nil},
		{dispatch.Dest{Host: "::1", Transport: "TLS"}, "", pool.Key{Host: "::1", Port: 5061, Transport: pool.TLS}, nil},
		{dispatch.Dest{Host: "a", Transport: "UDP"}, "", pool.Key{}, ErrTransport},
		{dispatch.Dest{}, "", pool.Key{}, pool.ErrKey},
	}
	for _, tt := range tests {
		k, err := PoolKey(tt.dst, tt.group)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%+v: error %v, want %v", tt.dst, err, tt.err)
			}
			continue
		}
		if err != nil || k != tt.want {
			t.Errorf("%+v: %+v %v, want %+v", tt.dst, k, err, tt.want)
		}
	}
	for _, tt := range []struct {
		k    pool.Key
		addr string
	}{
		{pool.Key{Host: "::1", Port: 5060, Transport: pool.TCP}, "[::1]:5060"},
		{pool.Key{Host: "[::1]", Port: 5060, Transport: pool.TCP}, "[::1]:5060"},
		{pool.Key{Host: "h.example", Port: 1, Transport: pool.TCP}, "h.example:1"},
		{pool.Key{Host: "[::1]", Port: 5061, Transport: pool.TLS}, "[::1]:5061"},
	} {
		if _, addr, err := dialTarget(tt.k); err != nil || addr != tt.addr {
			t.Errorf("dialTarget(%+v) = %q, %v", tt.k, addr, err)
		}
	}
	if _, _, err := dialTarget(pool.Key{Host: "h", Port: 1, Transport: 9}); !errors.Is(err, ErrTransport) {
		t.Errorf("unknown transport dial: %v, want ErrTransport", err)
	}
}

func TestReason(t *testing.T) {
	for code, want := range map[int]string{200: "OK", 400: "Bad Request", 513: "Message Too Large", 299: "OK", 699: "Global Failure"} {
		if got := Reason(code); got != want {
			t.Errorf("Reason(%d) = %q, want %q", code, got, want)
		}
	}
}

func TestDirectionTransportString(t *testing.T) {
	if Incoming.String() != "in" || Outgoing.String() != "out" || TCP.String() != "TCP" || TLS.String() != "TLS" {
		t.Fatal("String")
	}
}
