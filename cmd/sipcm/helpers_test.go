package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testTimeout bounds every wait of these tests.
const testTimeout = 30 * time.Second

// noEnv is an empty environment.
func noEnv(string) string { return "" }

// mapEnv is an environment from a map.
func mapEnv(m map[string]string) env { return func(k string) string { return m[k] } }

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lineWriter passes each complete line written to it on a channel.
type lineWriter struct {
	mu    sync.Mutex
	part  []byte
	lines chan string
}

func newLineWriter() *lineWriter { return &lineWriter{lines: make(chan string, 100)} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.part = append(w.part, p...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			return len(p), nil
		}
		select {
		case w.lines <- string(w.part[:i]):
		default:
		}
		w.part = w.part[i+1:]
	}
}

// serveProc is sipcm serve run in this process by run().
type serveProc struct {
	addrs  map[string]string // "tcp", "admin" -> address
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan int
}

// startServe runs "sipcm serve args..." and waits for the listening lines
// of the kinds named in want.
func startServe(t *testing.T, args []string, want ...string) *serveProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &serveProc{addrs: map[string]string{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	out := newLineWriter()
	go func() { p.done <- run(ctx, append([]string{"serve"}, args...), out, p.stderr, noEnv) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.done:
		case <-time.After(testTimeout):
			t.Error("serve did not stop")
		}
	})
	timeout := time.After(testTimeout)
	missing := func() bool {
		for _, k := range want {
			if _, ok := p.addrs[k]; !ok {
				return true
			}
		}
		return false
	}
	for missing() {
		select {
		case line := <-out.lines:
			f := strings.Fields(line)
			if len(f) == 3 && f[0] == "listening" {
				p.addrs[f[1]] = strings.TrimPrefix(f[2], "http://")
			}
		case code := <-p.done:
			t.Fatalf("serve exited with %d:\n%s", code, p.stderr)
		case <-timeout:
			t.Fatalf("serve printed no listening lines for %v:\n%s", want, p.stderr)
		}
	}
	return p
}

// stop stops the server as a signal would and returns its exit code.
func (p *serveProc) stop(t *testing.T) int {
	t.Helper()
	p.cancel()
	select {
	case code := <-p.done:
		p.done <- code // for the cleanup
		return code
	case <-time.After(testTimeout):
		t.Fatal("serve did not stop")
		return -1
	}
}

// sipClient is a SIP over TCP client connection for tests.
type sipClient struct {
	net.Conn
	r *bufio.Reader
	n int
}

func dialSIP(t *testing.T, addr string) *sipClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(testTimeout))
	return &sipClient{Conn: c, r: bufio.NewReader(c)}
}

// request sends a request of the given method and returns the status line
// of the response, after reading the whole response.
func (c *sipClient) request(t *testing.T, method string) string {
	t.Helper()
	c.n++
	_, err := fmt.Fprintf(c, "%s sip:test@127.0.0.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKtest%d\r\n"+
		"From: <sip:a@example.com>;tag=1\r\nTo: <sip:test@127.0.0.1>\r\n"+
		"Call-ID: test-%d\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		method, c.n, c.n, c.n, method)
	if err != nil {
		t.Fatal(err)
	}
	status, err := c.r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the response to %s: %v", method, err)
	}
	length := 0
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Content-Length") {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if _, err := io.CopyN(io.Discard, c.r, int64(length)); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(status)
}

// httpGet fetches an admin URL without keeping connections open.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: testTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// metric returns the value of the sample of /metrics that starts with
// series (name and labels as printed).
func metric(t *testing.T, adminAddr, series string) float64 {
	t.Helper()
	body := httpGet(t, "http://"+adminAddr+"/metrics")
	for line := range strings.Lines(body) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics:\n%s", series, body)
	return 0
}
