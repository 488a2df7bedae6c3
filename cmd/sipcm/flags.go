package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// listFlag is a repeatable flag whose values may also be separated by
// commas. Its defaults are replaced by the first value given; an empty value
// or "none" clears the list.
type listFlag struct {
	vals []string
	set  bool
}

func newListFlag(defaults ...string) *listFlag { return &listFlag{vals: defaults} }

func (l *listFlag) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.vals, ",")
}

func (l *listFlag) Set(s string) error {
	if !l.set {
		l.vals, l.set = nil, true
	}
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" && v != "none" {
			l.vals = append(l.vals, v)
		}
	}
	return nil
}

// levelFlag is a log level.
type levelFlag struct{ level slog.Level }

func (l *levelFlag) String() string { return strings.ToLower(l.level.String()) }
func (l *levelFlag) Set(s string) error {
	return l.level.UnmarshalText([]byte(s))
}

// newFlagSet returns a flag set for a subcommand whose usage names the
// command, describes it and lists its flags with their environment names.
func newFlagSet(name, synopsis, description string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sipcm "+name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: sipcm %s %s\n\n%s\n\nFlags (environment: SIPCM_<FLAG>):\n", name, synopsis, description)
		fs.PrintDefaults()
	}
	return fs
}

// envName returns the environment variable of a flag.
func envName(flagName string) string {
	return "SIPCM_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args, then sets each flag not on the command line from
// its environment variable. It returns an exit code and false when the
// command must stop: after --help (exitOK; the help goes to stdout) or on a
// usage error (exitUsage; the message goes to the flag set's output).
func parseFlags(fs *flag.FlagSet, args []string, getenv env, stdout io.Writer) (int, bool) {
	if wantsHelp(args) {
		fs.SetOutput(stdout)
		fs.Usage()
		return exitOK, false
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return exitUsage, false
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		name := envName(f.Name)
		if v := getenv(name); v != "" {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %v", name, v, e)
			}
		}
	})
	if err != nil {
		fmt.Fprintf(fs.Output(), "%s: %v\n", fs.Name(), err)
		return exitUsage, false
	}
	return exitOK, true
}

// wantsHelp reports whether args ask for help before any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// usageError reports a bad flag combination found after parsing.
func usageError(fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(fs.Output(), "%s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	return exitUsage
}

// newLogger returns a text logger on w at the given level.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
