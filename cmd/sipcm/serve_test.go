package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServe runs sipcm serve on free ports, sends OPTIONS over TCP, watches
// the counters move on /metrics, runs sipcm bench against it and stops it.
func TestServe(t *testing.T) {
	p := startServe(t, []string{"--tcp", "127.0.0.1:0", "--tls", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--loops", "2"}, "tcp", "admin")
	tcp, adm := p.addrs["tcp"], p.addrs["admin"]

	if got := httpGet(t, "http://"+adm+"/healthz"); got != "ok\n" {
		t.Errorf("/healthz = %q", got)
	}
	before := metric(t, adm, `sipcm_messages_total{direction="in"}`)

	c := dialSIP(t, tcp)
	if got := c.request(t, "OPTIONS"); got != "SIP/2.0 200 OK" {
		t.Errorf("OPTIONS: %q, want SIP/2.0 200 OK", got)
	}
	// No endpoint serves the target: the dispatcher's automatic 500.
	if got := c.request(t, "INFO"); got != "SIP/2.0 500 Server Internal Error" {
		t.Errorf("INFO: %q, want 500", got)
	}
	if got := metric(t, adm, `sipcm_messages_total{direction="in"}`); got != before+2 {
		t.Errorf("messages in: %v, want %v", got, before+2)
	}
	if got := metric(t, adm, `sipcm_auto_responses_total{code="200"}`); got != 1 {
		t.Errorf("auto responses 200: %v, want 1", got)
	}
	if got := metric(t, adm, `sipcm_auto_responses_total{code="500"}`); got != 1 {
		t.Errorf("auto responses 500: %v, want 1", got)
	}
	if got := metric(t, adm, `sipcm_connections_open{direction="in"}`); got != 1 {
		t.Errorf("connections open: %v, want 1", got)
	}

	var conns []map[string]any
	if err := json.Unmarshal([]byte(httpGet(t, "http://"+adm+"/connections")), &conns); err != nil {
		t.Fatal(err)
	}
	if len(conns) != 1 || conns[0]["remote"] != c.LocalAddr().String() || conns[0]["messages_in"] != 2.0 {
		t.Errorf("/connections = %v, want our connection with 2 messages in", conns)
	}
	if got := strings.TrimSpace(httpGet(t, "http://"+adm+"/pools")); got != "[]" {
		t.Errorf("/pools = %q, want []", got)
	}

	var out, errb syncBuffer
	code := run(context.Background(), []string{"bench", "--target", "tcp://" + tcp,
		"--requests", "400", "--conns", "4", "--pipeline", "8"}, &out, &errb, noEnv)
	if code != exitOK {
		t.Errorf("bench exit %d\n%s\n%s", code, &out, &errb)
	}
	for _, want := range []string{`(?m)^answered +400 \(2xx 400\)$`, `(?m)^errors +0$`} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("bench table has no %s:\n%s", want, &out)
		}
	}
	if got := metric(t, adm, `sipcm_auto_responses_total{code="200"}`); got != 401 {
		t.Errorf("auto responses 200 after bench: %v, want 401", got)
	}
	if got := metric(t, adm, `sipcm_connections_accepted_total`); got != 5 {
		t.Errorf("connections accepted: %v, want 5", got)
	}

	if code := p.stop(t); code != exitOK {
		t.Errorf("serve exit %d", code)
	}
	for _, want := range []string{"self-signed certificate for localhost", "draining", "stopped"} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("log has no %q:\n%s", want, p.stderr)
		}
	}
}

// TestServeSIGTERM shows SIGTERM drains: the server stops listening, closes
// the connections and exits 0.
func TestServeSIGTERM(t *testing.T) {
	p := startServe(t, []string{"--tcp", "127.0.0.1:0", "--tls", "none", "--admin", "none", "--loops", "1"}, "tcp")
	c := dialSIP(t, p.addrs["tcp"])
	if got := c.request(t, "OPTIONS"); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS: %q", got)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-p.done:
		p.done <- code
		if code != exitOK {
			t.Errorf("exit %d after SIGTERM:\n%s", code, p.stderr)
		}
	case <-time.After(testTimeout):
		t.Fatal("serve did not stop on SIGTERM")
	}
	if _, err := c.r.ReadByte(); err == nil {
		t.Error("connection still open after the drain")
	}
	if !strings.Contains(p.stderr.String(), "draining") {
		t.Errorf("no drain logged:\n%s", p.stderr)
	}
}

func TestServeStartErrors(t *testing.T) {
	dir := t.TempDir()
	missing := dir + "/missing.pem"
	garbage := dir + "/garbage.pem"
	if err := os.WriteFile(garbage, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"serve", "--tcp", "127.0.0.1:0", "--admin", "none", "--loops", "1"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad tcp address", []string{"--tcp", "127.0.0.1:99999"}, "tcp 127.0.0.1:99999"},
		{"bad admin address", []string{"--admin", "nope"}, "admin"},
		{"missing cert", []string{"--cert", missing, "--key", missing}, "certificate"},
		{"missing ca", []string{"--mtls", "--ca", missing}, "CA"},
		{"ca not PEM", []string{"--mtls", "--ca", garbage}, "no certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), append(append([]string{}, base...), tt.args...), &out, &errb, noEnv)
			if code != exitError || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errb.String(), exitError, tt.want)
			}
		})
	}
}
