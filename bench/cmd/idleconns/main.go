// Command idleconns measures what an idle SIP-over-TCP connection costs a
// server in resident memory.
//
// It starts a server in its own process (sipcm's engine.TCPServer, or a
// minimal sipgo server), then re-executes itself as a client process that
// opens N idle TCP connections to it over loopback. Once the server holds
// all N, it runs the garbage collector and reports the growth of its
// resident set (VmRSS in /proc/self/status) per connection, with the
// runtime's heap and stack figures beside it. The clients live in the other
// process, so their memory is not counted.
//
// Usage:
//
//	idleconns [-n 10000] [-server sipcm|sipgo|both] [-rounds 1] [-ping] [-loops 0] [-memprofile file]
//
// With -ping, each connection sends one OPTIONS and reads the answer before
// it idles, as a registered client's would. With -rounds R, the client opens and closes the N connections R-1 times
// before the measured round (churn). With -server=both, each server is
// measured in a process of its own and the results printed together.
// Linux only (it reads /proc).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	var (
		n      = flag.Int("n", 10000, "idle connections to open")
		server = flag.String("server", "sipcm", "server to measure: sipcm, sipgo or both")
		rounds = flag.Int("rounds", 1, "rounds of opening and closing the connections; the last is measured")
		loops  = flag.Int("loops", 0, "sipcm event loops (0: one per CPU)")
		srcs   = flag.Int("srcs", 0, "127.0.0.x source addresses for the clients (0: one per 20000 connections)")
		role   = flag.String("role", "", "internal: client or server (a process started by idleconns)")
		ping   = flag.Bool("ping", false, "send one OPTIONS on each connection, and read the 200, before it idles")
		prof   = flag.String("memprofile", "", "write the server's heap profile, taken with the connections open, to this file")
		addr   = flag.String("addr", "", "internal: server address, for -role=client")
	)
	flag.Parse()
	if err := raiseNoFile(uint64(*n) + 1024); err != nil {
		fmt.Fprintln(os.Stderr, "idleconns: raising RLIMIT_NOFILE:", err)
	}
	var err error
	switch *role {
	case "client":
		err = runClient(*addr, *n, *srcs, *ping, os.Stdin, os.Stdout)
	case "server":
		if *prof != "" {
			// Every allocation, for an exact attribution (the profile's
			// own records then inflate the RSS figures).
			runtime.MemProfileRate = 1
		}
		var r result
		r, err = runServer(*server, *n, *rounds, *loops, *srcs, *ping, *prof)
		if err == nil {
			fmt.Println(r.encode())
		}
	case "":
		err = runAll(*server, *n, *rounds, *loops, *srcs, *ping, *prof)
	default:
		err = fmt.Errorf("unknown role %q", *role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "idleconns:", err)
		os.Exit(1)
	}
}

// runAll measures each server asked for in a process of its own and prints
// the table.
func runAll(server string, n, rounds, loops, srcs int, ping bool, prof string) error {
	names := []string{server}
	if server == "both" {
		names = []string{"sipcm", "sipgo"}
	}
	var results []result
	for _, s := range names {
		if _, ok := starters[s]; !ok {
			return fmt.Errorf("unknown server %q", s)
		}
		args := []string{"-role=server", "-server=" + s, "-n=" + strconv.Itoa(n),
			"-rounds=" + strconv.Itoa(rounds), "-loops=" + strconv.Itoa(loops), "-srcs=" + strconv.Itoa(srcs),
			"-ping=" + strconv.FormatBool(ping)}
		if prof != "" {
			args = append(args, "-memprofile="+prof+"."+s)
		}
		out, err := selfCommand(args...).Output()
		if err != nil {
			return fmt.Errorf("measuring %s: %w", s, err)
		}
		r, err := decodeResult(strings.TrimSpace(string(out)))
		if err != nil {
			return fmt.Errorf("measuring %s: %w", s, err)
		}
		results = append(results, r)
	}
	printTable(os.Stdout, results)
	return nil
}

// selfCommand runs this program again with args, its stderr passed
// through.
func selfCommand(args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	return cmd
}

// raiseNoFile raises the soft limit on open files to want, and the hard
// limit too when the process may.
func raiseNoFile(want uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= want {
		return nil
	}
	if lim.Max < want {
		raised := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			return nil
		}
		want = lim.Max
	}
	lim.Cur = want
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}

// vmRSS returns the resident set size of this process in bytes.
func vmRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, io.ErrUnexpectedEOF
}
