package admin

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
)

// procSelf is where the process's own /proc entries are read.
const procSelf = "/proc/self"

// process is a snapshot of the process figures served with the metrics.
type process struct {
	rss        int64 // resident set in bytes; -1 when unknown
	fds        int   // open file descriptors; -1 when unknown
	goroutines int
	heapInuse  uint64 // bytes in in-use heap spans (runtime.MemStats.HeapInuse)
}

// heapInuseMetrics are the runtime/metrics samples whose sum is
// runtime.MemStats.HeapInuse; reading them does not stop the world.
var heapInuseMetrics = [...]string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes"}

// readProcess reads the figures of the running process; dir is its /proc
// directory (procSelf). What cannot be read (no /proc) is -1. Any goroutine.
func readProcess(dir string) process {
	p := process{rss: -1, fds: -1, goroutines: runtime.NumGoroutine()}
	samples := make([]metrics.Sample, len(heapInuseMetrics))
	for i, name := range heapInuseMetrics {
		samples[i].Name = name
	}
	metrics.Read(samples)
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			p.heapInuse += s.Value.Uint64()
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "statm")); err == nil {
		if rss, err := parseStatm(b, os.Getpagesize()); err == nil {
			p.rss = rss
		}
	}
	if ents, err := os.ReadDir(filepath.Join(dir, "fd")); err == nil {
		p.fds = len(ents)
	}
	return p
}

var errStatm = errors.New("admin: malformed statm")

// parseStatm returns the resident set in bytes from the contents of
// /proc/<pid>/statm: sizes in pages, the second one resident.
func parseStatm(b []byte, pageSize int) (int64, error) {
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, errStatm
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil || pages < 0 {
		return 0, errStatm
	}
	return pages * int64(pageSize), nil
}

// process writes the process families under the names the Prometheus
// Go client uses, so dashboards for Go services work unchanged.
func (p *promWriter) process(pr process) {
	if pr.rss >= 0 {
		p.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", float64(pr.rss))
	}
	if pr.fds >= 0 {
		p.gauge("process_open_fds", "Number of open file descriptors.", float64(pr.fds))
	}
	p.gauge("go_goroutines", "Number of goroutines that currently exist.", float64(pr.goroutines))
	p.gauge("go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use.", float64(pr.heapInuse))
}
