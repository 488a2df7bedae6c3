package bench

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// A load client in a process of its own. In the benchmark's process, the
// load's goroutines share the Go scheduler with the server under test: a
// server that is goroutines too hands each batch to the client goroutine
// on the same thread, without waking another, which no client outside the
// process can do and an event-loop server (its loops are threads of their
// own) cannot do either. So the comparisons between such servers run the
// load from a child process: the test binary run again, with envLoad set,
// driven through its standard input and output.

// The child's environment: envLoad holds "ADDR CONNS TLS" (TLS 0 or 1) and
// envLoadCA the PEM of the CA that verifies the server.
const (
	envLoad   = "SIPCM_BENCH_LOAD"
	envLoadCA = "SIPCM_BENCH_LOAD_CA"
)

// remoteLoad is the parent's end of a load client process: it writes a
// request count per line and reads back "ok READS WRITES" (the socket
// reads and writes of the run) or "error: TEXT".
type remoteLoad struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// startRemoteLoad starts a load client process with conns connections to
// addr, over TLS verified by caPEM when tlsOn, and waits until they are
// connected and warmed up.
func startRemoteLoad(addr string, conns int, tlsOn bool, caPEM []byte) (*remoteLoad, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-test.run", "^$")
	on := 0
	if tlsOn {
		on = 1
	}
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %d", envLoad, addr, conns, on), envLoadCA+"="+string(caPEM))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &remoteLoad{cmd: cmd, in: in, out: bufio.NewReader(out)}
	if _, _, err := r.reply(); err != nil {
		_ = r.close()
		return nil, err
	}
	return r, nil
}

// run has the process send n requests and waits for all the responses. It
// returns the process's socket reads and writes during the run.
func (r *remoteLoad) run(n int) (reads, writes uint64, err error) {
	if _, err := fmt.Fprintf(r.in, "%d\n", n); err != nil {
		return 0, 0, fmt.Errorf("bench: load process: %w", err)
	}
	return r.reply()
}

// reply reads one reply line of the process.
func (r *remoteLoad) reply() (reads, writes uint64, err error) {
	line, err := r.out.ReadString('\n')
	if err != nil {
		return 0, 0, fmt.Errorf("bench: load process: %w", err)
	}
	line = strings.TrimSpace(line)
	if msg, ok := strings.CutPrefix(line, "error: "); ok {
		return 0, 0, errors.New("bench: load process: " + msg)
	}
	if _, err := fmt.Sscanf(line, "ok %d %d", &reads, &writes); err != nil {
		return 0, 0, fmt.Errorf("bench: load process replied %q", line)
	}
	return reads, writes, nil
}

// close ends the process (it closes its connections when its input ends)
// and waits for it.
func (r *remoteLoad) close() error {
	_ = r.in.Close()
	return r.cmd.Wait()
}

// remoteBench is a server in the benchmark's process and a load client
// process driving it, kept across the calls of one sub-benchmark.
type remoteBench struct {
	srv  optionsServer
	load *remoteLoad
}

// run starts the server and the load client (conns connections, over TLS
// verified by caPEM when tlsOn) on the first call, then has the client send
// b.N requests. It reports requests per second, the benchmark process's
// allocations per request (the server's: the client's are in the other
// process) and requests per client socket read or write.
func (r *remoteBench) run(b *testing.B, start func() (optionsServer, error), conns int, tlsOn bool, caPEM []byte) {
	if r.srv == nil {
		srv, err := start()
		if err != nil {
			b.Fatal(err)
		}
		r.srv = srv
		if r.load, err = startRemoteLoad(srv.addr(), conns, tlsOn, caPEM); err != nil {
			b.Fatal(err)
		}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	reads, writes, err := r.load.run(b.N)
	b.StopTimer()
	runtime.ReadMemStats(&after)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N), "allocs/req")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N), "B/req")
	if n := reads + writes; n > 0 {
		b.ReportMetric(float64(b.N)/float64(n), "req/batch")
	}
}

// close stops the load client and then the server.
func (r *remoteBench) close(b *testing.B) {
	if r.load != nil {
		if err := r.load.close(); err != nil {
			b.Error(err)
		}
	}
	if r.srv != nil {
		if err := r.srv.close(); err != nil {
			b.Error(err)
		}
	}
}

// loadChild is the body of a load client process, run by TestMain when
// envLoad is set: it connects, warms up, replies "ok 0 0", then runs each
// count read from in. It returns the exit status.
func loadChild(spec, caPEM string, in io.Reader, out io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(out, "error: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
		return 1
	}
	var addr string
	var conns, tlsOn int
	if _, err := fmt.Sscanf(spec, "%s %d %d", &addr, &conns, &tlsOn); err != nil || conns < 1 {
		return fail(fmt.Errorf("bench: bad %s %q", envLoad, spec))
	}
	var conf *tls.Config
	if tlsOn == 1 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(caPEM)) {
			return fail(errors.New("bench: no CA certificate in " + envLoadCA))
		}
		conf = &tls.Config{RootCAs: pool, ServerName: "localhost"}
	}
	var counts ioCounts
	f := &loadFixture{}
	defer f.close()
	if err := f.connect(addr, conns, conf, &counts); err != nil {
		return fail(err)
	}
	fmt.Fprintln(out, "ok 0 0")
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		n, err := strconv.Atoi(sc.Text())
		if err != nil || n < 0 {
			return fail(fmt.Errorf("bench: bad count %q", sc.Text()))
		}
		r0, w0 := counts.snapshot()
		if err := f.run(n); err != nil {
			return fail(err)
		}
		r1, w1 := counts.snapshot()
		fmt.Fprintf(out, "ok %d %d\n", r1-r0, w1-w0)
	}
	return 0
}

// TestRemoteLoad runs a load client process against sipcm's TLS server:
// the server must count every request of the warm-up and of two runs, and
// the process must report its socket reads and writes.
func TestRemoteLoad(t *testing.T) {
	certs, err := benchCerts()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := startSipcmTLS(certs)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	const conns = 3
	load, err := startRemoteLoad(srv.addr(), conns, true, certs.ca.PEM)
	if err != nil {
		t.Fatal(err)
	}
	total := 4 * loadWindow * conns
	for _, n := range []int{1000, 1} {
		reads, writes, err := load.run(n)
		if err != nil {
			t.Fatal(err)
		}
		if reads == 0 || writes == 0 {
			t.Errorf("run of %d: %d reads, %d writes", n, reads, writes)
		}
		total += n
	}
	if err := load.close(); err != nil {
		t.Fatal(err)
	}
	s := srv.(*sipcmTLSServer).s
	if st := s.Stats(); st.MessagesIn != uint64(total) || st.MessagesOut != uint64(total) {
		t.Errorf("server counted %d in, %d out, want %d", st.MessagesIn, st.MessagesOut, total)
	}
}

// TestLoadChildErrors checks that a load client process given a bad
// specification, an unreachable server or a bad count says why on its
// output and exits with status 1.
func TestLoadChildErrors(t *testing.T) {
	closed := closedAddr(t)
	srv, err := startSipcm()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	for _, tc := range []struct {
		name, spec, ca, in, want string
	}{
		{"bad spec", "nonsense", "", "", "error: bench: bad " + envLoad},
		{"no connections", srv.addr() + " 0 0", "", "", "error: bench: bad " + envLoad},
		{"bad CA", srv.addr() + " 1 1", "not PEM", "", "error: bench: no CA certificate"},
		{"refused", closed + " 1 0", "", "", "error: dial tcp"},
		{"bad count", srv.addr() + " 1 0", "", "x\n", "ok 0 0\nerror: bench: bad count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			if code := loadChild(tc.spec, tc.ca, strings.NewReader(tc.in), &out); code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			if !strings.HasPrefix(out.String(), tc.want) {
				t.Errorf("output %q, want it to start with %q", out.String(), tc.want)
			}
		})
	}
}

// TestRemoteLoadRefused checks that a load client process that cannot
// connect makes startRemoteLoad fail with the child's reason.
func TestRemoteLoadRefused(t *testing.T) {
	load, err := startRemoteLoad(closedAddr(t), 1, false, nil)
	if err == nil {
		_ = load.close()
		t.Fatal("a load process with nothing to connect to started")
	}
	if !strings.Contains(err.Error(), "bench: load process: dial tcp") {
		t.Errorf("error %q does not give the child's reason", err)
	}
}

// closedAddr returns a loopback address nothing listens on: a port just
// listened on and closed.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
