// Command sipcm runs a SIP server on the sipcm engine and measures SIP
// servers under load.
//
// Usage:
//
//	sipcm serve [flags]   answer SIP over TCP (and TLS) with an admin endpoint
//	sipcm relay --upstream tcp://HOST:PORT [flags]
//	                      forward every request to an upstream through a pool
//	sipcm bench [flags]   send OPTIONS load and report requests/s and latency
//
// Run "sipcm help <command>" or "sipcm <command> --help" for the flags.
// Every flag may also be given in the environment as SIPCM_<FLAG>, in upper
// case with '-' written '_' (SIPCM_ADMIN, SIPCM_MAX_CONNS_PER_IP); a flag on
// the command line wins. SIGINT and SIGTERM stop gracefully; a second signal
// ends at once.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command failed, or bench counted errors
	exitUsage = 2 // bad command line
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// env reads an environment variable; os.Getenv in main, a map in tests.
type env func(string) string

// command is a subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer, getenv env) int
}

func commands() []command {
	return []command{
		{"serve", "run a SIP server that answers OPTIONS, with an admin endpoint", runServe},
		{"relay", "forward every SIP request to an upstream through a shared pool", runRelay},
		{"bench", "send OPTIONS load to a SIP server and report requests/s and latency", runBench},
	}
}

// run runs the command line args (without the program name) and returns
// the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv env) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	case "help":
		if len(rest) == 0 {
			usage(stdout)
			return exitOK
		}
		name, rest = rest[0], []string{"--help"}
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, rest, stdout, stderr, getenv)
		}
	}
	fmt.Fprintf(stderr, "sipcm: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `sipcm manages SIP connections over TCP and TLS.

Usage:
  sipcm <command> [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-7s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `  help    show the flags of a command: sipcm help <command>

Every flag may also be set in the environment as SIPCM_<FLAG> (upper case,
'-' written '_', e.g. SIPCM_MAX_CONNS); a flag on the command line wins.
`)
}
