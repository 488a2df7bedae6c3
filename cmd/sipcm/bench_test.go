package main

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"strings"
	"testing"

	"time"

	"github.com/sipcm/sipcm/internal/loadgen"
)

func TestBenchInProcess(t *testing.T) {
	var out, errb syncBuffer
	code := run(context.Background(), []string{"bench", "--requests", "300", "--conns", "3", "--pipeline", "5", "--loops", "1"}, &out, &errb, noEnv)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, &out, &errb)
	}
	for _, want := range []string{`in-process sipcm serve`, `(?m)^requests sent +300$`, `(?m)^answered +300 \(2xx 300\)$`,
		`(?m)^errors +0$`, `(?m)^latency p99\.9 +[0-9.]+(µs|ms)$`, `(?m)^requests/s +[1-9][0-9]*$`} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("no %s in\n%s", want, &out)
		}
	}
}

func TestBenchErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close()
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"--target", "tcp://" + closed, "--requests", "5"}, exitError, "connection errors     1", "no connection"},
		{[]string{"--target", "tls://" + closed, "--requests", "5"}, exitError, "connection errors     1", "no connection"},
		{[]string{"--target", "tcp://" + closed, "--insecure-skip-verify"}, exitUsage, "", "for tls:// targets"},
		{[]string{"--target", "udp://127.0.0.1:5060"}, exitUsage, "", "scheme must be tcp or tls"},
		{[]string{"--target", "tcp://127.0.0.1"}, exitUsage, "", "want tcp://HOST:PORT"},
		{[]string{"--conns", "0"}, exitUsage, "", "must be positive"},
		{[]string{"--pipeline", "100000"}, exitUsage, "", "pipeline"},
		{[]string{"--rate", "-1"}, exitUsage, "", "negative rate"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), append([]string{"bench"}, tt.args...), &out, &errb, noEnv)
			if code != tt.code || !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("exit %d stdout %q stderr %q; want %d, %q, %q", code, &out, &errb, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in, network, addr string
		ok                bool
	}{
		{"tcp://127.0.0.1:5060", "tcp", "127.0.0.1:5060", true},
		{"tls://example.com:5061", "tls", "example.com:5061", true},
		{"127.0.0.1:5060", "tcp", "127.0.0.1:5060", true},
		{"tcp://[::1]:5060", "tcp", "[::1]:5060", true},
		{"udp://127.0.0.1:5060", "", "", false},
		{"tcp://127.0.0.1", "", "", false},
		{"tcp://127.0.0.1:5060/path", "", "", false},
		{"tcp://u@127.0.0.1:5060", "", "", false},
		{"tcp://:5060", "", "", false},
	}
	for _, tt := range tests {
		n, a, err := parseTarget(tt.in)
		if (err == nil) != tt.ok || n != tt.network || a != tt.addr {
			t.Errorf("parseTarget(%q) = %q, %q, %v; want %q, %q, ok %v", tt.in, n, a, err, tt.network, tt.addr, tt.ok)
		}
	}
	missing := t.TempDir() + "/missing.pem"
	for _, tt := range []struct {
		network string
		o       benchOptions
		dial    bool // a dialer, not nil
		ok      bool
	}{
		{"tcp", benchOptions{}, false, true},
		{"tls", benchOptions{}, true, true},
		{"tls", benchOptions{insecure: true}, true, true},
		{"tcp", benchOptions{insecure: true}, false, false},
		{"tcp", benchOptions{ca: missing}, false, false},
		{"tls", benchOptions{ca: missing}, false, false},
		{"tls", benchOptions{ca: missing, insecure: true}, false, false},
	} {
		d, err := dialerFor(tt.network, &tt.o)
		if (err == nil) != tt.ok || (d != nil) != tt.dial {
			t.Errorf("dialerFor(%s, ca %q insecure %v) = dialer %v, %v", tt.network, tt.o.ca, tt.o.insecure, d != nil, err)
		}
	}
}

func TestLatencyFormat(t *testing.T) {
	for d, want := range map[int64]string{0: "0µs", 999_999: "999µs", 1_000_000: "1.00ms", 12_345_678: "12.35ms"} {
		if got := latency(timeDuration(d)); got != want {
			t.Errorf("latency(%d) = %q, want %q", d, got, want)
		}
	}
}

// TestProgress runs the progress display on a buffer over a short run.
func TestProgress(t *testing.T) {
	if isTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is not a terminal")
	}
	p := startServe(t, []string{"--tcp", "127.0.0.1:0", "--tls", "none", "--admin", "none", "--loops", "1"}, "tcp")
	for _, cfg := range []loadgen.Config{
		{Addr: p.addrs["tcp"], Requests: 50},
		{Addr: p.addrs["tcp"], Requests: 0, Duration: 1},
	} {
		g, err := loadgen.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var buf syncBuffer
		pr := startProgress(g, &buf)
		if _, err := g.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		pr.stop()
		if buf.String() == "" {
			t.Error("the progress display wrote nothing")
		}
	}
}

func timeDuration(ns int64) time.Duration { return time.Duration(ns) }

// TestWriteTableUnsent checks that a paced run's table says how many
// requests fell due and were never sent, and an unpaced one's does not.
func TestWriteTableUnsent(t *testing.T) {
	re := regexp.MustCompile(`(?m)^unsent \(behind pace\) +7$`)
	for _, tc := range []struct {
		rate float64
		want bool
	}{{0, false}, {1000, true}} {
		var out bytes.Buffer
		writeTable(&out, "tcp://127.0.0.1:5060", loadgen.Config{Pipeline: 1, Rate: tc.rate}, &loadgen.Result{Unsent: 7})
		if got := re.MatchString(out.String()); got != tc.want {
			t.Errorf("rate %v: unsent row shown %v, want %v:\n%s", tc.rate, got, tc.want, &out)
		}
		if !tc.want && strings.Contains(out.String(), "unsent") {
			t.Errorf("rate 0: an unsent row in\n%s", &out)
		}
	}
}
