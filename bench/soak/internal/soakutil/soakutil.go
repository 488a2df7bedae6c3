// Package soakutil holds what the long-run hostile-client programs under
// bench/soak share: the OPTIONS they send, reading its answer, reading the
// server's /metrics and summarising durations. Every function may be called
// from any goroutine.
package soakutil

import (
	"bufio"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Options returns an OPTIONS request from user who to hostile@host, sent
// over transport (TCP, TLS) from sentBy, with seq in its branch, Call-ID
// and CSeq.
func Options(transport, sentBy, host, who string, seq int) string {
	s := strconv.Itoa(seq)
	return "OPTIONS sip:hostile@" + host + " SIP/2.0\r\n" +
		"Via: SIP/2.0/" + transport + " " + sentBy + ";branch=z9hG4bK-" + who + "-" + s + ";rport\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:" + who + "@" + host + ">;tag=t\r\n" +
		"To: <sip:hostile@" + host + ">\r\n" +
		"Call-ID: " + who + "-" + s + "@soak\r\n" +
		"CSeq: " + s + " OPTIONS\r\n" +
		"Content-Length: 0\r\n\r\n"
}

// ReadAnswer reads one response without a body from br, which must be a
// 200; CRLFs before its status line are skipped.
func ReadAnswer(br *bufio.Reader) error {
	status := ""
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if status == "" {
			if line == "\r\n" {
				continue
			}
			status = line
			continue
		}
		if line == "\r\n" {
			break
		}
	}
	if !strings.HasPrefix(status, "SIP/2.0 200 ") {
		return fmt.Errorf("soakutil: answer %q", strings.TrimSpace(status))
	}
	return nil
}

// Metrics reads the Prometheus text at http://admin/metrics into a map from
// series (name and labels) to value.
func Metrics(admin string, timeout time.Duration) (map[string]string, error) {
	c := http.Client{Timeout: timeout}
	resp, err := c.Get("http://" + admin + "/metrics")
	if err != nil {
		return map[string]string{}, fmt.Errorf("soakutil: metrics: %w", err)
	}
	defer resp.Body.Close()
	return ParseMetrics(bufio.NewScanner(resp.Body))
}

// ParseMetrics reads Prometheus text lines from sc into a map from series to
// value, skipping comments and empty lines.
func ParseMetrics(sc *bufio.Scanner) (map[string]string, error) {
	m := map[string]string{}
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			m[line[:i]] = line[i+1:]
		}
	}
	if err := sc.Err(); err != nil {
		return m, fmt.Errorf("soakutil: metrics: %w", err)
	}
	return m, nil
}

// Num returns the value of series k in m, 0 when absent or not a number.
func Num(m map[string]string, k string) float64 {
	v, _ := strconv.ParseFloat(m[k], 64)
	return v
}

// Spread summarises durations as min, median and max, rounded to the
// millisecond; "-" when there are none. It sorts ds.
func Spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	slices.Sort(ds)
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	return fmt.Sprintf("min %v median %v max %v", r(ds[0]), r(ds[len(ds)/2]), r(ds[len(ds)-1]))
}
