package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestHelp(t *testing.T) {
	tests := []struct {
		args       []string
		code       int
		stdout     string // in stdout
		stderr     string // in stderr
		notInError bool
	}{
		{args: []string{"--help"}, code: exitOK, stdout: "Commands:"},
		{args: []string{"help"}, code: exitOK, stdout: "sipcm help <command>"},
		{args: []string{"help", "serve"}, code: exitOK, stdout: "Usage: sipcm serve"},
		{args: []string{"help", "bench"}, code: exitOK, stdout: "Usage: sipcm bench"},
		{args: []string{"serve", "--help"}, code: exitOK, stdout: "-max-conns-per-ip"},
		{args: []string{"serve", "-h"}, code: exitOK, stdout: "-first-message-timeout"},
		{args: []string{"bench", "--help"}, code: exitOK, stdout: "-pipeline"},
		{args: []string{"bench", "--conns", "3", "-help"}, code: exitOK, stdout: "-requests"},
		{args: nil, code: exitUsage, stderr: "Commands:"},
		{args: []string{"nope"}, code: exitUsage, stderr: `unknown command "nope"`},
		{args: []string{"help", "nope"}, code: exitUsage, stderr: `unknown command "nope"`},
		{args: []string{"serve", "--bogus"}, code: exitUsage, stderr: "flag provided but not defined: -bogus"},
		{args: []string{"serve", "extra"}, code: exitUsage, stderr: `unexpected argument "extra"`},
		{args: []string{"bench", "--conns", "x"}, code: exitUsage, stderr: "invalid value"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errb, noEnv)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, &out, &errb)
			}
			if !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stdout %q / stderr %q; want %q / %q", &out, &errb, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestServeFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--tcp", "none", "--tls", ""}, "no --tcp or --tls"},
		{[]string{"--cert", "c.pem"}, "--cert and --key go together"},
		{[]string{"--key", "k.pem"}, "--cert and --key go together"},
		{[]string{"--mtls"}, "--mtls needs --ca"},
		{[]string{"--ca", "ca.pem"}, "--ca is used only with --mtls"},
		{[]string{"--allow", "example.com"}, "--allow is used only with --mtls"},
		{[]string{"--max-conns", "-1"}, "cannot be negative"},
		{[]string{"--drain-timeout", "0s"}, "--drain-timeout must be positive"},
		{[]string{"--log-level", "loud"}, "invalid value"},
		{[]string{"--idle-timeout", "soon"}, "invalid value"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), append([]string{"serve"}, tt.args...), &out, &errb, noEnv)
			if code != exitUsage || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, &errb, exitUsage, tt.want)
			}
		})
	}
}

// parseServe parses serve flags as runServe does.
func parseServe(t *testing.T, args []string, getenv env) (*serveOptions, int, bool, string) {
	t.Helper()
	o := defaultServeOptions()
	var errb bytes.Buffer
	fs := newFlagSet("serve", "", "", &errb)
	o.register(fs)
	code, ok := parseFlags(fs, args, getenv, io.Discard)
	return o, code, ok, errb.String()
}

func TestFlagsAndEnvironment(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		tcp    string
		tls    string
		max    int
		idle   time.Duration
		admin  string
		mtls   bool
		allow  string
		errMsg string
	}{
		{name: "defaults", tcp: "127.0.0.1:5060", tls: "127.0.0.1:5061", admin: "127.0.0.1:8060"},
		{name: "repeated", args: []string{"--tcp", "127.0.0.1:1", "--tcp", "[::1]:2,127.0.0.1:3"},
			tcp: "127.0.0.1:1,[::1]:2,127.0.0.1:3", tls: "127.0.0.1:5061", admin: "127.0.0.1:8060"},
		{name: "env", env: map[string]string{"SIPCM_TCP": "127.0.0.1:7", "SIPCM_TLS": "none", "SIPCM_MAX_CONNS": "5",
			"SIPCM_IDLE_TIMEOUT": "30s", "SIPCM_ADMIN": "none", "SIPCM_MTLS": "true", "SIPCM_ALLOW": "a.example,b.example"},
			tcp: "127.0.0.1:7", max: 5, idle: 30 * time.Second, admin: "none", mtls: true, allow: "a.example,b.example"},
		{name: "flag wins", args: []string{"--max-conns", "9", "--tcp", "127.0.0.1:8"},
			env: map[string]string{"SIPCM_MAX_CONNS": "5", "SIPCM_TCP": "127.0.0.1:7"},
			tcp: "127.0.0.1:8", tls: "127.0.0.1:5061", max: 9, admin: "127.0.0.1:8060"},
		{name: "bad env", env: map[string]string{"SIPCM_MAX_CONNS_PER_IP": "many"}, errMsg: "SIPCM_MAX_CONNS_PER_IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, code, ok, errs := parseServe(t, tt.args, mapEnv(tt.env))
			if tt.errMsg != "" {
				if ok || code != exitUsage || !strings.Contains(errs, tt.errMsg) {
					t.Errorf("ok %v code %d stderr %q; want a usage error naming %s", ok, code, errs, tt.errMsg)
				}
				return
			}
			if !ok {
				t.Fatalf("parse failed: %d %s", code, errs)
			}
			if o.tcp.String() != tt.tcp || o.tls.String() != tt.tls || o.maxConns != tt.max ||
				o.idleTimeout != tt.idle || o.admin != tt.admin || o.mtls != tt.mtls || o.allow.String() != tt.allow {
				t.Errorf("got tcp %q tls %q max %d idle %v admin %q mtls %v allow %q", o.tcp, o.tls, o.maxConns,
					o.idleTimeout, o.admin, o.mtls, o.allow)
			}
		})
	}
}

// TestEveryFlagHasEnv checks the environment names of all flags.
func TestEveryFlagHasEnv(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	defaultServeOptions().register(fs)
	want := map[string]string{"max-conns-per-ip": "SIPCM_MAX_CONNS_PER_IP", "first-message-timeout": "SIPCM_FIRST_MESSAGE_TIMEOUT", "tcp": "SIPCM_TCP"}
	fs.VisitAll(func(f *flag.Flag) {
		if w, ok := want[f.Name]; ok && envName(f.Name) != w {
			t.Errorf("envName(%q) = %q, want %q", f.Name, envName(f.Name), w)
		}
	})
}
