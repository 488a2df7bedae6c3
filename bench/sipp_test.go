package bench

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipcm/sipcm/engine"
)

// sippOptionsScenario is a sipp client scenario: one OPTIONS per call,
// which must be answered 200 within 5 s. The response time of each call is
// recorded as ResponseTime1 and counted in buckets (sipp's clock counts
// milliseconds).
const sippOptionsScenario = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="sipcm OPTIONS">
  <send start_rtd="true">
    <![CDATA[

      OPTIONS sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      From: <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      User-Agent: sipp
      Content-Length: [len]

    ]]>
  </send>
  <recv response="200" timeout="5000" rtd="true"/>
  <ResponseTimeRepartition value="1, 2, 5, 10, 50"/>
</scenario>
`

// Defaults of TestSippOptions; SIPP_DURATION and SIPP_RATE override them.
const (
	sippDefaultDuration = 5 * time.Second
	sippDefaultRate     = 200 // calls per second
)

// TestSippOptions runs sipp (Debian package sip-tester) as an outside
// client against sipcm's server: OPTIONS over one TCP connection at a fixed
// rate for a bounded duration (SIPP_DURATION, default 5s; SIPP_RATE calls/s,
// default 200), and requires every call to succeed, from sipp's exit status
// and from its statistics file. It is skipped without sipp and under -short.
//
//	SIPP_DURATION=30s go test -run TestSippOptions -v ./bench
func TestSippOptions(t *testing.T) {
	if testing.Short() {
		t.Skip("sipp load test skipped under -short")
	}
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Skip("sipp not installed (Debian package sip-tester)")
	}
	dur, rate := sippDuration(t), sippRate(t)
	calls := int(float64(rate) * dur.Seconds())
	if calls < 1 {
		t.Fatalf("SIPP_DURATION %v at SIPP_RATE %d makes no call", dur, rate)
	}

	srv, err := engine.NewTCPServer(engine.Config{Handler: engine.DefaultHandler{}, Logger: benchLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ln, err := srv.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	scenario := filepath.Join(dir, "options.xml")
	if err := os.WriteFile(scenario, []byte(sippOptionsScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	stats := filepath.Join(dir, "stats.csv")
	screen := filepath.Join(dir, "screen.log")
	// sipp stops by itself after the calls (-m) or, failing, at its global
	// timeout (-timeout, an error with -timeout_error); the context is the
	// last resort.
	global := dur + 30*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), global+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sipp, ln.Addr().String(),
		"-sf", scenario,
		"-t", "t1", // TCP, one socket
		"-i", "127.0.0.1",
		"-r", strconv.Itoa(rate), "-rp", "1000",
		"-m", strconv.Itoa(calls),
		"-timeout", fmt.Sprintf("%ds", int(global.Seconds())), "-timeout_error",
		"-nostdin",
		"-trace_stat", "-stf", stats, "-fd", "1",
		"-trace_screen", "-screen_file", screen,
	)
	cmd.Dir = dir
	out, runErr := cmd.CombinedOutput()
	if runErr != nil {
		var ee *exec.ExitError
		if !errors.As(runErr, &ee) {
			t.Fatalf("sipp: %v", runErr)
		}
		// 1: at least one call failed; others: sipp could not run.
		screenLog, _ := os.ReadFile(screen)
		t.Errorf("sipp exited with status %d (0 means every call succeeded)\noutput:\n%s\nscreen:\n%s",
			ee.ExitCode(), tail(out, 2000), tail(screenLog, 3000))
	}

	final, err := sippFinalStats(stats)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		want int
	}{
		{"OutgoingCall(C)", calls},
		{"SuccessfulCall(C)", calls},
		{"FailedCall(C)", 0},
		{"OutOfCallMsgs(C)", 0},
		{"DeadCallMsgs(C)", 0},
	} {
		got, err := strconv.Atoi(final[c.name])
		if err != nil {
			t.Errorf("sipp statistics: %s = %q: %v", c.name, final[c.name], err)
			continue
		}
		if got != c.want {
			t.Errorf("sipp statistics: %s = %d, want %d", c.name, got, c.want)
		}
	}
	st := srv.Stats()
	if st.MessagesIn != uint64(calls) || st.MessagesOut != uint64(calls) {
		t.Errorf("server: %d messages in, %d out, want %d each", st.MessagesIn, st.MessagesOut, calls)
	}
	if st.Accepted != 1 {
		t.Errorf("server: %d connections accepted, want 1 (-t t1)", st.Accepted)
	}
	t.Logf("sipp %v at %d calls/s over one TCP connection: %s calls, %s successful, %s failed, "+
		"rate %s cps, elapsed %s; response times: %s under 1 ms, %s 1-2 ms, %s 2-5 ms, %s 5-10 ms, %s 10-50 ms, %s 50 ms or more",
		dur, rate, final["OutgoingCall(C)"], final["SuccessfulCall(C)"], final["FailedCall(C)"],
		final["CallRate(C)"], final["ElapsedTime(C)"],
		final["ResponseTimeRepartition1_<1"], final["ResponseTimeRepartition1_<2"], final["ResponseTimeRepartition1_<5"],
		final["ResponseTimeRepartition1_<10"], final["ResponseTimeRepartition1_<50"], final["ResponseTimeRepartition1_>=50"])
}

// sippDuration reads SIPP_DURATION.
func sippDuration(t *testing.T) time.Duration {
	s := os.Getenv("SIPP_DURATION")
	if s == "" {
		return sippDefaultDuration
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > 10*time.Minute {
		t.Fatalf("SIPP_DURATION=%q: want a duration in (0, 10m]", s)
	}
	return d
}

// sippRate reads SIPP_RATE.
func sippRate(t *testing.T) int {
	s := os.Getenv("SIPP_RATE")
	if s == "" {
		return sippDefaultRate
	}
	r, err := strconv.Atoi(s)
	if err != nil || r <= 0 || r > 100000 {
		t.Fatalf("SIPP_RATE=%q: want calls per second in (0, 100000]", s)
	}
	return r
}

// sippFinalStats reads the last row of a sipp statistics file (-trace_stat,
// ';'-separated, with a header row) as a map from column name to value.
func sippFinalStats(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sipp statistics: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = ';'
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("sipp statistics: %w", err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("sipp statistics: %d rows in %s, want a header and data", len(rows), path)
	}
	head, last := rows[0], rows[len(rows)-1]
	m := make(map[string]string, len(head))
	for i, name := range head {
		if i < len(last) {
			m[strings.TrimSpace(name)] = strings.TrimSpace(last[i])
		}
	}
	return m, nil
}

// tail returns at most the last n bytes of b as a string.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
