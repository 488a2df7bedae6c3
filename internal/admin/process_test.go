package admin

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"testing"
)

func TestParseStatm(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"5865 1432 998 267 0 1301 0\n", 1432 * 4096, true},
		{"1 0", 0, true},
		{"", 0, false},
		{"5865", 0, false},
		{"5865 x 998", 0, false},
		{"5865 -3 998", 0, false},
	}
	for _, tt := range tests {
		got, err := parseStatm([]byte(tt.in), 4096)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseStatm(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestReadProcessDir reads a made-up /proc directory.
func TestReadProcessDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "statm"), []byte("100 25 3 1 0 20 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "fd"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := os.WriteFile(filepath.Join(dir, "fd", strconv.Itoa(i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := readProcess(dir)
	if want := int64(25 * os.Getpagesize()); p.rss != want || p.fds != 3 {
		t.Errorf("rss %d fds %d, want %d and 3", p.rss, p.fds, want)
	}
	if p.goroutines < 1 || p.heapInuse == 0 {
		t.Errorf("goroutines %d heap in use %d, want both positive", p.goroutines, p.heapInuse)
	}

	// Without /proc the process families are left out, not zero.
	p = readProcess(filepath.Join(dir, "missing"))
	if p.rss != -1 || p.fds != -1 {
		t.Errorf("missing dir: rss %d fds %d, want -1", p.rss, p.fds)
	}
	s := newTestServer(t, false)
	s.proc = filepath.Join(dir, "missing")
	_, _, body := get(t, s.Handler(), "/metrics")
	for _, name := range []string{"process_resident_memory_bytes", "process_open_fds"} {
		if regexp.MustCompile(`(?m)^` + name + ` `).MatchString(body) {
			t.Errorf("%s served without /proc", name)
		}
	}
}

// TestProcessMetrics reads this process's figures through /metrics.
func TestProcessMetrics(t *testing.T) {
	s := newTestServer(t, false)
	_, _, body := get(t, s.Handler(), "/metrics")
	names := []string{"go_goroutines", "go_memstats_heap_inuse_bytes"}
	if runtime.GOOS == "linux" {
		names = append(names, "process_resident_memory_bytes", "process_open_fds")
	}
	for _, name := range names {
		m := regexp.MustCompile(`(?m)^# TYPE ` + name + ` gauge\n` + name + ` ([0-9.e+]+)$`).FindStringSubmatch(body)
		if m == nil {
			t.Errorf("no %s gauge in\n%s", name, body)
			continue
		}
		if v, err := strconv.ParseFloat(m[1], 64); err != nil || v <= 0 {
			t.Errorf("%s = %s, want a positive number", name, m[1])
		}
	}
}
