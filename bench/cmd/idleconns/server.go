package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipcm/sipcm/engine"
)

// idleServer is a SIP server under measurement.
type idleServer interface {
	addr() string
	// conns returns the number of connections the server holds now.
	conns() int
	close() error
}

// starters start the servers by name.
var starters = map[string]func(loops int) (idleServer, error){
	"sipcm": startSipcm,
	"sipgo": startSipgo,
}

func logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

type sipcmServer struct {
	s  *engine.TCPServer
	ln *engine.Listener
}

func startSipcm(loops int) (idleServer, error) {
	s, err := engine.NewTCPServer(engine.Config{
		Logger: logger(),
		Loops:  loops,
		// Long enough not to close the idle connections while they are
		// counted; the timer is armed all the same.
		FirstMessageTimeout: time.Hour,
	})
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	ln, err := s.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return &sipcmServer{s: s, ln: ln}, nil
}

func (s *sipcmServer) addr() string { return s.ln.Addr().String() }
func (s *sipcmServer) conns() int   { return int(s.s.Stats().ConnsIn) }
func (s *sipcmServer) close() error { return s.s.Close() }

// sipgoServer is a minimal sipgo server answering OPTIONS with 200. sipgo
// reads each connection on a goroutine of its own, so the connections it
// holds are counted as goroutines beyond those it had before any.
type sipgoServer struct {
	ua   *sipgo.UserAgent
	srv  *sipgo.Server
	ln   net.Listener
	base int
	done chan error
}

func startSipgo(int) (idleServer, error) {
	// sipgo warns through its default logger when it closes connections
	// the clients closed first.
	sip.SetDefaultLogger(logger().With("server", "sipgo"))
	ua, err := sipgo.NewUA()
	if err != nil {
		return nil, err
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(logger()))
	if err != nil {
		_ = ua.Close()
		return nil, err
	}
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = srv.Close()
		_ = ua.Close()
		return nil, err
	}
	s := &sipgoServer{ua: ua, srv: srv, ln: ln, done: make(chan error, 1)}
	go func() { s.done <- srv.ServeTCP(ln) }()
	// Let the acceptor start before counting the goroutines.
	time.Sleep(100 * time.Millisecond)
	s.base = runtime.NumGoroutine()
	return s, nil
}

func (s *sipgoServer) addr() string { return s.ln.Addr().String() }
func (s *sipgoServer) conns() int   { return runtime.NumGoroutine() - s.base }

func (s *sipgoServer) close() error {
	_ = s.ln.Close()
	<-s.done
	return errors.Join(s.srv.Close(), s.ua.Close())
}

// result is one server's measurement.
type result struct {
	Server        string
	Conns         int
	Rounds        int
	RSSBefore     int64 // VmRSS after GC, before any connection
	RSSAfter      int64 // VmRSS after GC, with the connections open
	RSSFreed      int64 // VmRSS after debug.FreeOSMemory, with them open
	HeapDelta     int64 // runtime HeapInuse growth
	StackDelta    int64 // runtime StackInuse growth
	GoroutineDiff int
}

func (r result) encode() string {
	return fmt.Sprintf("%s %d %d %d %d %d %d %d %d", r.Server, r.Conns, r.Rounds,
		r.RSSBefore, r.RSSAfter, r.RSSFreed, r.HeapDelta, r.StackDelta, r.GoroutineDiff)
}

func decodeResult(s string) (result, error) {
	f := strings.Fields(s)
	if len(f) != 9 {
		return result{}, fmt.Errorf("bad result %q", s)
	}
	var n [8]int64
	for i := range n {
		v, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return result{}, fmt.Errorf("bad result %q: %w", s, err)
		}
		n[i] = v
	}
	return result{f[0], int(n[0]), int(n[1]), n[2], n[3], n[4], n[5], n[6], int(n[7])}, nil
}

// runServer starts the named server, has a client process open n idle
// connections to it (after rounds-1 rounds of opening and closing them),
// and measures the server's memory.
func runServer(name string, n, rounds, loops, srcs int, ping bool, prof string) (result, error) {
	start := starters[name]
	if start == nil {
		return result{}, fmt.Errorf("unknown server %q", name)
	}
	srv, err := start(loops)
	if err != nil {
		return result{}, err
	}
	defer srv.close()

	cmd := selfCommand("-role=client", "-addr="+srv.addr(), "-n="+strconv.Itoa(n), "-srcs="+strconv.Itoa(srcs),
		"-ping="+strconv.FormatBool(ping))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return result{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return result{}, err
	}
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}()
	replies := bufio.NewScanner(stdout)
	do := func(command string, want int) error {
		if _, err := fmt.Fprintln(stdin, command); err != nil {
			return err
		}
		if !replies.Scan() {
			return fmt.Errorf("client: no reply to %s: %v", command, replies.Err())
		}
		if reply := replies.Text(); reply != "ok" {
			return fmt.Errorf("client: %s: %s", command, reply)
		}
		return waitConns(srv, want)
	}

	r := result{Server: name, Conns: n, Rounds: rounds}
	before, err := settle()
	if err != nil {
		return r, err
	}
	r.RSSBefore = before.rss
	for i := 1; i < rounds; i++ {
		if err := do("open", n); err != nil {
			return r, err
		}
		if err := do("close", 0); err != nil {
			return r, err
		}
	}
	if err := do("open", n); err != nil {
		return r, err
	}
	after, err := settle()
	if err != nil {
		return r, err
	}
	r.RSSAfter = after.rss
	r.HeapDelta = int64(after.ms.HeapInuse) - int64(before.ms.HeapInuse)
	r.StackDelta = int64(after.ms.StackInuse) - int64(before.ms.StackInuse)
	r.GoroutineDiff = after.goroutines - before.goroutines
	if prof != "" {
		if err := writeHeapProfile(prof); err != nil {
			return r, err
		}
	}
	debug.FreeOSMemory()
	if r.RSSFreed, err = vmRSS(); err != nil {
		return r, err
	}
	if got := srv.conns(); got != n {
		return r, fmt.Errorf("server holds %d connections after the measurement, want %d", got, n)
	}
	return r, nil
}

func writeHeapProfile(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// waitConns waits until the server holds want connections.
func waitConns(srv idleServer, want int) error {
	deadline := time.Now().Add(2 * time.Minute)
	for srv.conns() != want {
		if time.Now().After(deadline) {
			return fmt.Errorf("server holds %d connections, want %d", srv.conns(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

type snapshot struct {
	rss        int64
	ms         runtime.MemStats
	goroutines int
}

// settle collects garbage, waits for the resident set to stop moving and
// reads it.
func settle() (snapshot, error) {
	var s snapshot
	prev := int64(-1)
	for range 50 {
		runtime.GC()
		rss, err := vmRSS()
		if err != nil {
			return s, err
		}
		if rss == prev {
			break
		}
		prev = rss
		time.Sleep(100 * time.Millisecond)
	}
	s.rss = prev
	runtime.ReadMemStats(&s.ms)
	s.goroutines = runtime.NumGoroutine()
	return s, nil
}
