// Command hostiletls is the long form of the TLS hostile-client tests
// (the short forms are TestTLSRefusals and TestTLSHandshakeTimeout in
// package engine), run against a sipcm serve process under mutual TLS.
//
// It makes a CA, a server certificate for localhost and the client
// certificates (crypto/x509, through internal/testcert), writes the
// server's files to a temporary directory and starts
//
//	sipcm serve --tcp none --tls 127.0.0.1:0 --mtls --ca CA --allow localhost
//	            --cert CERT --key KEY --handshake-timeout T --admin 127.0.0.1:0
//
// Then, while a good mutual-TLS client keeps one connection open and sends
// an OPTIONS every -ping-every, it runs -n clients of each refused kind (a
// certificate from an untrusted CA, an expired one, one for a name outside
// the allowed domains, one with the wrong extended key usage, none at all),
// -workers at a time, and -stalled clients that stall in the handshake
// (sending nothing, half a ClientHello, or the whole ClientHello and never
// their second flight), all at once. A refused client must never get a SIP
// answer; a stalled one must be closed by the handshake timeout (not
// before it, at most -slack after); after each kind a new good client must
// be served. It reads the refusals by reason from serve's /metrics
// (sipcm_tls_refusals_total) before and after, prints them with the
// server's memory, goroutines and descriptors, and exits 1 when a count is
// off or the good client lost an answer.
//
// Usage:
//
//	hostiletls -sipcm PATH [-n 200] [-workers 8] [-stalled 200]
//	           [-handshake-timeout 2s] [-slack 2s]
//
// bench/soak/hostile-tls.sh builds sipcm and this program and runs it.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sipcm/sipcm/bench/soak/internal/soakutil"
	"github.com/sipcm/sipcm/internal/testcert"
)

// ioTimeout bounds every client read and write that should not block.
const ioTimeout = 10 * time.Second

func main() {
	var (
		bin     = flag.String("sipcm", "", "sipcm binary (required)")
		n       = flag.Int("n", 200, "clients of each refused kind")
		workers = flag.Int("workers", 8, "refused clients at a time")
		stalled = flag.Int("stalled", 200, "clients that stall in the handshake, all at once")
		hsTO    = flag.Duration("handshake-timeout", 2*time.Second, "serve's --handshake-timeout")
		slack   = flag.Duration("slack", 2*time.Second, "how late after the handshake timeout a close may come")
		ping    = flag.Duration("ping-every", 10*time.Millisecond, "pause between the good client's OPTIONS")
	)
	flag.Parse()
	if *bin == "" || *n < 0 || *workers <= 0 || *stalled < 0 {
		fmt.Fprintln(os.Stderr, "hostiletls: -sipcm is required; -n, -stalled >= 0, -workers > 0")
		os.Exit(2)
	}
	r := &run{n: *n, workers: *workers, stalled: *stalled, hsTimeout: *hsTO, slack: *slack, ping: *ping}
	if err := r.setup(*bin); err != nil {
		fmt.Fprintln(os.Stderr, "hostiletls:", err)
		r.teardown()
		os.Exit(1)
	}
	ok := r.main()
	r.teardown()
	if !ok {
		os.Exit(1)
	}
}

// kind is a client the server must refuse, and the reason it must count.
type kind struct {
	name, reason string
	conf         *tls.Config
}

// run is one run of the program.
type run struct {
	n, workers, stalled int
	hsTimeout, slack    time.Duration
	ping                time.Duration

	dir         string
	serve       *exec.Cmd
	serveDone   chan error
	addr, admin string
	good        *tls.Config
	kinds       []kind
	failed      atomic.Bool
}

func (r *run) failf(format string, args ...any) {
	r.failed.Store(true)
	fmt.Printf("FAIL: "+format+"\n", args...)
}

// setup makes the certificates and starts sipcm serve.
func (r *run) setup(bin string) error {
	dir, err := os.MkdirTemp("", "sipcm-hostile-tls.")
	if err != nil {
		return err
	}
	r.dir = dir
	ca, err := testcert.NewCA("hostiletls CA")
	if err != nil {
		return err
	}
	other, err := testcert.NewCA("hostiletls untrusted CA")
	if err != nil {
		return err
	}
	srvOpts := testcert.Server("localhost")
	srvOpts.IPs = []net.IP{net.IPv4(127, 0, 0, 1)}
	srv, err := ca.Issue(srvOpts)
	if err != nil {
		return err
	}
	// Every client trusts the server's CA; their certificates come from
	// issuer.
	issue := func(issuer *testcert.CA, o testcert.Options) *tls.Config {
		l, ierr := issuer.Issue(o)
		if ierr != nil {
			err = ierr
			return nil
		}
		return clientConf(ca, l)
	}
	r.good = issue(ca, testcert.Client("localhost"))
	r.kinds = []kind{
		{"untrusted CA", "untrusted CA", issue(other, testcert.Client("localhost"))},
		{"expired", "expired", issue(ca, testcert.Expired(testcert.Client("localhost")))},
		{"outside the allowed domains", "not in allowed domains", issue(ca, testcert.Client("evil.example.org"))},
		{"wrong EKU (serverAuth only)", "wrong extended key usage", issue(ca, testcert.Server("localhost"))},
		{"no certificate", "no client certificate", clientConf(ca, nil)},
	}
	if err != nil {
		return err
	}
	files := map[string][]byte{"ca.pem": ca.PEM, "cert.pem": srv.CertPEM, "key.pem": srv.KeyPEM}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return err
		}
	}

	args := []string{"serve", "--tcp", "none", "--tls", "127.0.0.1:0", "--admin", "127.0.0.1:0",
		"--cert", filepath.Join(dir, "cert.pem"), "--key", filepath.Join(dir, "key.pem"),
		"--mtls", "--ca", filepath.Join(dir, "ca.pem"), "--allow", "localhost",
		"--handshake-timeout", r.hsTimeout.String(), "--log-level", "error"}
	fmt.Printf("%s %s\n", bin, strings.Join(args, " "))
	r.serve = exec.Command(bin, args...)
	r.serve.Stderr = os.Stderr
	out, err := r.serve.StdoutPipe()
	if err != nil {
		return err
	}
	if err := r.serve.Start(); err != nil {
		return err
	}
	r.serveDone = make(chan error, 1)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		r.serveDone <- r.serve.Wait()
	}()
	deadline := time.After(ioTimeout)
	for r.addr == "" || r.admin == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				return errors.New("sipcm serve ended before listening")
			}
			f := strings.Fields(l)
			switch {
			case len(f) == 3 && f[0] == "listening" && f[1] == "tls":
				r.addr = f[2]
			case len(f) == 3 && f[0] == "listening" && f[1] == "admin":
				r.admin = strings.TrimPrefix(f[2], "http://")
			}
		case <-deadline:
			return errors.New("sipcm serve did not print its addresses")
		}
	}
	go func() { // keep draining stdout
		for range lines {
		}
	}()
	fmt.Printf("sipcm serve on tls %s (admin %s), handshake timeout %v\n", r.addr, r.admin, r.hsTimeout)
	return nil
}

// teardown stops serve gracefully and removes the certificates.
func (r *run) teardown() {
	if r.serve != nil && r.serve.Process != nil && r.serveDone != nil {
		_ = r.serve.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-r.serveDone:
			if err != nil {
				r.failf("sipcm serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			_ = r.serve.Process.Kill()
			<-r.serveDone
			r.failf("sipcm serve did not stop on SIGTERM")
		}
	}
	if r.dir != "" {
		_ = os.RemoveAll(r.dir)
	}
}

// clientConf is a client config that trusts ca for the server localhost
// and always presents leaf (none when nil): with Certificates alone,
// crypto/tls would send none when the server's CA list does not name its
// issuer.
func clientConf(ca *testcert.CA, leaf *testcert.Leaf) *tls.Config {
	c := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", MinVersion: tls.VersionTLS12}
	if leaf != nil {
		cert := leaf.TLS
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	return c
}

func (r *run) main() bool {
	m0 := r.metrics()
	// The good client: one mutual-TLS connection, an OPTIONS every r.ping.
	p := soakutil.StartPinger(func() (net.Conn, error) {
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: ioTimeout}, Config: r.good}
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		return d.DialContext(ctx, "tcp", r.addr)
	}, func(seq int) string { return soakutil.Options("TLS", "127.0.0.1:5061", "localhost", "good", seq) },
		r.ping, ioTimeout)

	for _, k := range r.kinds {
		start := time.Now()
		served := r.refused(k)
		fmt.Printf("%-30s %d clients in %v: %d got a SIP answer\n", k.name, r.n,
			time.Since(start).Round(time.Millisecond), served)
		if served != 0 {
			r.failf("%s: %d refused clients got an answer", k.name, served)
		}
		r.freshGood(k.name)
	}
	if r.stalled > 0 {
		r.stalls()
		r.freshGood("the stalled handshakes")
	}

	sent, answered, worst, perr := p.Stop()
	fmt.Printf("good client: %d OPTIONS sent, %d answered, worst latency %v, on one connection\n",
		sent, answered, worst.Round(time.Microsecond))
	if perr != nil || sent != answered || sent == 0 {
		r.failf("good client: %d sent, %d answered: %v", sent, answered, perr)
	}
	m1 := r.settled(m0)

	fmt.Println("sipcm_tls_refusals_total by reason   before    after     delta    want")
	want := map[string]int{"handshake timeout": r.stalled}
	for _, k := range r.kinds {
		want[k.reason] += r.n
	}
	reasons := map[string]bool{}
	for s := range m1 {
		if rs, ok := strings.CutPrefix(s, `sipcm_tls_refusals_total{reason="`); ok {
			reasons[strings.TrimSuffix(rs, `"}`)] = true
		}
	}
	for _, rs := range slices.Sorted(maps.Keys(reasons)) {
		k := `sipcm_tls_refusals_total{reason="` + rs + `"}`
		d := soakutil.Num(m1, k) - soakutil.Num(m0, k)
		fmt.Printf("  %-34s %8s %8s %8.0f %7d\n", rs, m0[k], m1[k], d, want[rs])
		if d != float64(want[rs]) {
			r.failf("%d refusals counted for %q, want %d", int(d), rs, want[rs])
		}
		delete(want, rs)
	}
	for rs := range want {
		r.failf("no sipcm_tls_refusals_total series for %q", rs)
	}
	fmt.Println("server /metrics                          before       after")
	for _, k := range []string{"process_resident_memory_bytes", "go_goroutines", "process_open_fds",
		`sipcm_connections_open{direction="in"}`, `sipcm_messages_total{direction="in"}`} {
		fmt.Printf("  %-38s %10s %10s\n", k, m0[k], m1[k])
	}
	if r.failed.Load() {
		fmt.Println("hostile-tls: FAILED")
		return false
	}
	fmt.Println("hostile-tls: ok")
	return true
}

// settled returns /metrics once the connections of the run are gone (the
// server closes each after counting it), or after ioTimeout.
func (r *run) settled(m0 map[string]string) map[string]string {
	deadline := time.Now().Add(ioTimeout)
	for {
		m := r.metrics()
		if soakutil.Num(m, `sipcm_connections_open{direction="in"}`) <= soakutil.Num(m0, `sipcm_connections_open{direction="in"}`) ||
			time.Now().After(deadline) {
			return m
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// refused runs r.n clients of kind k, r.workers at a time, and returns how
// many of them got a SIP answer (0 when the server refuses them all).
func (r *run) refused(k kind) int {
	var next, served atomic.Int64
	var wg sync.WaitGroup
	for range r.workers {
		wg.Go(func() {
			for next.Add(1) <= int64(r.n) {
				got, err := r.attempt(k.conf)
				if err != nil {
					r.failf("%s: %v", k.name, err)
				}
				if got {
					served.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return int(served.Load())
}

// attempt connects with conf and sends an OPTIONS when the handshake ends
// well on the client's side (TLS 1.3: the server's verdict on the client's
// certificate comes after it). It reports whether an answer came; err is
// for a failure that is not the server's refusal (no connection, a timeout
// where the server should have closed).
func (r *run) attempt(conf *tls.Config) (answered bool, err error) {
	nc, err := net.DialTimeout("tcp", r.addr, ioTimeout)
	if err != nil {
		return false, err
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(ioTimeout))
	tc := tls.Client(nc, conf)
	if err := tc.Handshake(); err != nil {
		return false, timeoutErr(err)
	}
	if _, err := io.WriteString(tc, soakutil.Options("TLS", "127.0.0.1:5061", "localhost", "refused", 1)); err != nil {
		return false, timeoutErr(err)
	}
	if err := soakutil.ReadAnswer(bufio.NewReader(tc)); err != nil {
		return false, timeoutErr(err)
	}
	return true, nil
}

// timeoutErr returns err when it is a timeout (the server did not close),
// nil for any other error (the refusal).
func timeoutErr(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("no refusal within %v: %w", ioTimeout, err)
	}
	return nil
}

// freshGood checks that a new good client is served after what.
func (r *run) freshGood(what string) {
	nc, err := net.DialTimeout("tcp", r.addr, ioTimeout)
	if err != nil {
		r.failf("good client after %s: %v", what, err)
		return
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(ioTimeout))
	tc := tls.Client(nc, r.good)
	if _, err := io.WriteString(tc, soakutil.Options("TLS", "127.0.0.1:5061", "localhost", "fresh", 1)); err != nil {
		r.failf("good client after %s: %v", what, err)
		return
	}
	if err := soakutil.ReadAnswer(bufio.NewReader(tc)); err != nil {
		r.failf("good client after %s: %v", what, err)
	}
}

// stalls opens r.stalled connections at once that stall in the handshake,
// a third each way, and checks each is closed at the handshake timeout.
func (r *run) stalls() {
	hello, err := clientHello()
	if err != nil {
		r.failf("ClientHello: %v", err)
		return
	}
	ways := []struct {
		name string
		send []byte
	}{
		{"sends nothing", nil},
		{"half a ClientHello", hello[:len(hello)/2]},
		{"whole ClientHello, no second flight", hello},
	}
	lives := make([][]time.Duration, len(ways))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range r.stalled {
		w := i % len(ways)
		nc, err := net.DialTimeout("tcp", r.addr, ioTimeout)
		if err != nil {
			r.failf("stalled client %d: %v", i, err)
			break
		}
		opened := time.Now()
		wg.Go(func() {
			defer nc.Close()
			_ = nc.SetDeadline(opened.Add(r.hsTimeout + r.slack + ioTimeout))
			if len(ways[w].send) > 0 {
				if _, err := nc.Write(ways[w].send); err != nil {
					r.failf("stalled client (%s): %v", ways[w].name, err)
					return
				}
			}
			_, err := io.Copy(io.Discard, nc) // the server's flight, if any, then its close
			life := time.Since(opened)
			switch {
			case timeoutErr(err) != nil:
				r.failf("stalled client (%s) still open after %v", ways[w].name, life.Round(time.Millisecond))
			case life < r.hsTimeout || life > r.hsTimeout+r.slack:
				r.failf("stalled client (%s) closed after %v, want %v to %v", ways[w].name,
					life.Round(time.Millisecond), r.hsTimeout, r.hsTimeout+r.slack)
			}
			mu.Lock()
			lives[w] = append(lives[w], life)
			mu.Unlock()
		})
	}
	wg.Wait()
	for i, w := range ways {
		fmt.Printf("stalled, %-36s %d closed by the server, life %s\n", w.name+":", len(lives[i]), soakutil.Spread(lives[i]))
	}
}

// clientHello returns the bytes of a crypto/tls ClientHello for localhost.
func clientHello() ([]byte, error) {
	rc := &recordConn{}
	_ = tls.Client(rc, &tls.Config{ServerName: "localhost"}).Handshake()
	if len(rc.b) == 0 {
		return nil, errors.New("no ClientHello written")
	}
	return rc.b, nil
}

// recordConn keeps the first write and fails everything after it.
type recordConn struct {
	net.Conn
	b []byte
}

func (c *recordConn) Write(p []byte) (int, error) {
	if c.b != nil {
		return 0, net.ErrClosed
	}
	c.b = append([]byte(nil), p...)
	return len(p), nil
}

func (c *recordConn) Read([]byte) (int, error)         { return 0, net.ErrClosed }
func (c *recordConn) Close() error                     { return nil }
func (c *recordConn) SetDeadline(time.Time) error      { return nil }
func (c *recordConn) SetWriteDeadline(time.Time) error { return nil }
func (c *recordConn) SetReadDeadline(time.Time) error  { return nil }

// metrics reads serve's /metrics into a map from series to value.
func (r *run) metrics() map[string]string {
	m, err := soakutil.Metrics(r.admin, ioTimeout)
	if err != nil {
		r.failf("%v", err)
	}
	return m
}
