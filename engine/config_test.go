package engine

import (
	"errors"
	"testing"
	"time"

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
		d.Logger == nil || d.Handler == nil || d.Clock == nil {
		t.Fatalf("defaults %+v", d)
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
