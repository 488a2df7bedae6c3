package main

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestBinary builds sipcm with go build and runs it as a program: --help,
// serve on free ports answering OPTIONS, and a graceful stop on SIGTERM.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the program")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*testTimeout)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "sipcm")
	if out, err := exec.CommandContext(ctx, gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	out, err := exec.CommandContext(ctx, bin, "serve", "--help").Output()
	if err != nil || !strings.Contains(string(out), "Usage: sipcm serve") {
		t.Errorf("sipcm serve --help: %v\n%s", err, out)
	}

	cmd := exec.CommandContext(ctx, bin, "serve", "--tcp", "127.0.0.1:0", "--tls", "none", "--admin", "127.0.0.1:0", "--loops", "1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrs := map[string]string{}
	sc := bufio.NewScanner(stdout)
	for len(addrs) < 2 && sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "listening" {
			addrs[f[1]] = strings.TrimPrefix(f[2], "http://")
		}
	}
	if addrs["tcp"] == "" || addrs["admin"] == "" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("no listening lines: %v\n%s", addrs, &stderr)
	}
	c := dialSIP(t, addrs["tcp"])
	if got := c.request(t, "OPTIONS"); got != "SIP/2.0 200 OK" {
		t.Errorf("OPTIONS: %q", got)
	}
	if got := metric(t, addrs["admin"], `sipcm_auto_responses_total{code="200"}`); got != 1 {
		t.Errorf("200 responses: %v, want 1", got)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, &stderr)
	}
	if !strings.Contains(stderr.String(), "stopped") {
		t.Errorf("no stop logged:\n%s", &stderr)
	}
}
