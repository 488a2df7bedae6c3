package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sipcm/sipcm/internal/loadgen"
)

// benchOptions are the flags of sipcm bench.
type benchOptions struct {
	target   string
	conns    int
	pipeline int
	duration time.Duration
	requests uint64
	rate     float64
	timeout  time.Duration
	loops    int
	progress bool
	logLevel levelFlag
	ca       string // tls://: PEM file of the roots that verify the target
	insecure bool   // tls://: do not verify the target's certificate
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer, getenv env) int {
	o := &benchOptions{logLevel: levelFlag{slog.LevelWarn}}
	fs := newFlagSet("bench", "[flags]",
		"Send SIP OPTIONS over --conns connections with --pipeline requests outstanding\n"+
			"on each, for --duration or --requests, and print requests/s, latency\n"+
			"percentiles and errors by kind. Without --target it starts sipcm serve in\n"+
			"this process on 127.0.0.1:0 and measures it. The exit status is 1 when any\n"+
			"request failed. SIGINT or SIGTERM stops early and prints the table.", stderr)
	fs.StringVar(&o.target, "target", "", "server `URL`: tcp://HOST:PORT or tls://HOST:PORT; empty: an in-process sipcm serve")
	fs.StringVar(&o.ca, "ca", "", "tls:// targets: CA certificates `file` (PEM) that verifies the server, e.g. the --cert of sipcm serve (default: the system roots)")
	fs.BoolVar(&o.insecure, "insecure-skip-verify", false, "tls:// targets: do not verify the server's certificate (for the self-signed certificate of sipcm serve)")
	fs.IntVar(&o.conns, "conns", 10, "connections")
	fs.IntVar(&o.pipeline, "pipeline", 16, "requests outstanding per connection")
	fs.DurationVar(&o.duration, "duration", 0, "how long to send (0: 10s, or at most 1m with --requests)")
	fs.Uint64Var(&o.requests, "requests", 0, "requests to send in total (0: as many as --duration allows)")
	fs.Float64Var(&o.rate, "rate", 0, "requests per second in total (0: as fast as answered)")
	fs.DurationVar(&o.timeout, "timeout", loadgen.DefaultTimeout, "how long a request waits for its response")
	fs.IntVar(&o.loops, "loops", 0, "event loops of the in-process server (0: one per CPU)")
	fs.BoolVar(&o.progress, "progress", true, "show live progress when stderr is a terminal")
	fs.Var(&o.logLevel, "log-level", "log `level`: debug, info, warn or error")
	if code, ok := parseFlags(fs, args, getenv, stdout); !ok {
		return code
	}
	if o.conns <= 0 || o.pipeline <= 0 {
		return usageError(fs, "--conns and --pipeline must be positive")
	}
	log := newLogger(stderr, o.logLevel.level)

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	target, label := o.target, ""
	if target == "" {
		s, err := startServer(ctx, inProcessOptions(o.loops), log)
		if err != nil {
			log.Error("bench: in-process server", "err", err)
			return exitError
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), defaultDrainTimeout)
			defer cancel()
			_ = s.shutdown(sctx)
		}()
		target, label = "tcp://"+s.tcp[0].String(), " (in-process sipcm serve)"
	}
	network, addr, err := parseTarget(target)
	if err != nil {
		return usageError(fs, "%v", err)
	}
	dial, err := dialerFor(network, o)
	if err != nil {
		return usageError(fs, "%v", err)
	}
	g, err := loadgen.New(loadgen.Config{
		Addr:      addr,
		Dial:      dial,
		Transport: strings.ToUpper(network),
		Conns:     o.conns,
		Pipeline:  o.pipeline,
		Requests:  o.requests,
		Duration:  o.duration,
		Rate:      o.rate,
		Timeout:   o.timeout,
	})
	if err != nil {
		return usageError(fs, "%v", err)
	}

	var p *progress
	if o.progress && isTerminal(stderr) {
		p = startProgress(g, stderr)
	}
	res, err := g.Run(ctx)
	if p != nil {
		p.stop()
	}
	writeTable(stdout, target+label, g.Config(), res)
	if err != nil {
		log.Error("bench", "err", err)
		return exitError
	}
	if res.Errors() > 0 || res.Answered == 0 {
		return exitError
	}
	return exitOK
}

// inProcessOptions are the serve options of bench's in-process server:
// TCP on a free loopback port, no TLS, no admin endpoint.
func inProcessOptions(loops int) *serveOptions {
	o := defaultServeOptions()
	o.tcp = newListFlag("127.0.0.1:0")
	o.tls = newListFlag()
	o.admin = "none"
	o.loops = loops
	return o
}

// parseTarget splits tcp://HOST:PORT or tls://HOST:PORT into its network
// ("tcp" or "tls") and address; a bare HOST:PORT is tcp.
func parseTarget(s string) (network, addr string, err error) {
	if !strings.Contains(s, "://") {
		s = "tcp://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", "", fmt.Errorf("target %q: %v", s, err)
	}
	switch {
	case u.Scheme != "tcp" && u.Scheme != "tls":
		return "", "", fmt.Errorf("target %q: scheme must be tcp or tls", s)
	case u.Port() == "" || u.Hostname() == "":
		return "", "", fmt.Errorf("target %q: want %s://HOST:PORT", s, u.Scheme)
	case u.Path != "" || u.RawQuery != "" || u.User != nil || u.Fragment != "":
		return "", "", fmt.Errorf("target %q: want only %s://HOST:PORT", s, u.Scheme)
	}
	return u.Scheme, u.Host, nil
}

// dialerFor returns the dialer of a target network; nil means plain TCP.
// For "tls" it dials TCP and runs a TLS client handshake (crypto/tls,
// TLS 1.2 or newer), verifying the server against o.ca or the system
// roots for the target's host name, or not at all with o.insecure.
func dialerFor(network string, o *benchOptions) (loadgen.DialFunc, error) {
	if network != "tls" {
		if o.ca != "" || o.insecure {
			return nil, errors.New("--ca and --insecure-skip-verify are for tls:// targets")
		}
		return nil, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.insecure}
	if o.ca != "" {
		if o.insecure {
			return nil, errors.New("--ca and --insecure-skip-verify exclude each other")
		}
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			return nil, fmt.Errorf("--ca: %v", err)
		}
		conf.RootCAs = x509.NewCertPool()
		if !conf.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca: no certificate in %s", o.ca)
		}
	}
	return loadgen.TLSDialer(conf, 0), nil
}

// writeTable prints the result of a run.
func writeTable(w io.Writer, target string, cfg loadgen.Config, r *loadgen.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...)
	}
	row("target", "%s", target)
	row("load", "%d conns x %d pipeline%s", r.Conns, cfg.Pipeline, rateText(cfg.Rate))
	row("elapsed", "%.3fs", r.Elapsed.Seconds())
	row("requests sent", "%d", r.Sent)
	row("answered", "%d (2xx %d)", r.Answered, r.OK)
	row("requests/s", "%.0f", r.Rate())
	row("latency p50", "%s", latency(r.Percentile(50)))
	row("latency p90", "%s", latency(r.Percentile(90)))
	row("latency p99", "%s", latency(r.Percentile(99)))
	row("latency p99.9", "%s", latency(r.Percentile(99.9)))
	row("latency max", "%s", latency(r.MaxLatency()))
	row("errors", "%d", r.Errors())
	row("  timeouts", "%d", r.Timeouts)
	row("  connection errors", "%d", r.ConnErrors)
	row("  lost with connection", "%d", r.Lost)
	row("  bad responses", "%d", r.BadResponses)
	for _, code := range r.ErrorCodes() {
		row(fmt.Sprintf("  status %d", code), "%d", r.Codes[code])
	}
	if r.Late > 0 {
		row("late responses", "%d", r.Late)
	}
	if cfg.Rate > 0 {
		row("unsent (behind pace)", "%d", r.Unsent)
	}
	if r.ConnError != nil {
		row("first connection error", "%v", r.ConnError)
	}
	_ = tw.Flush()
}

func rateText(rate float64) string {
	if rate <= 0 {
		return ""
	}
	return fmt.Sprintf(", paced at %.0f/s", rate)
}

// latency formats a latency in µs below a millisecond, else in ms.
func latency(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%dµs", d.Microseconds())
	}
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}
