package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// runClient opens and closes n idle connections to addr as the commands
// read from in ("open", "close") say, answering each with a line on out:
// "ok" or the error. It closes them all at the end of in.
func runClient(addr string, n, srcs int, ping bool, in io.Reader, out io.Writer) error {
	if srcs <= 0 {
		srcs = (n + 19999) / 20000
	}
	var conns []net.Conn
	closeAll := func() {
		for _, c := range conns {
			_ = c.Close()
		}
		conns = conns[:0]
	}
	defer closeAll()
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		var err error
		switch cmd := sc.Text(); cmd {
		case "open":
			conns, err = openConns(addr, n, srcs, ping)
		case "close":
			closeAll()
		default:
			err = fmt.Errorf("unknown command %q", cmd)
		}
		reply := "ok"
		if err != nil {
			reply = err.Error()
		}
		if _, err := fmt.Fprintln(out, reply); err != nil {
			return err
		}
	}
	return sc.Err()
}

// openConns opens n connections to addr from srcs loopback source
// addresses (127.0.0.1, 127.0.0.2, ...), a few at a time. With ping, each
// sends an OPTIONS and reads the answer.
func openConns(addr string, n, srcs int, ping bool) ([]net.Conn, error) {
	const workers = 8
	conns := make([]net.Conn, n)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				d := net.Dialer{Timeout: 30 * time.Second, KeepAlive: -1}
				if srcs > 1 {
					d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%srcs))}
				}
				c, err := d.Dial("tcp", addr)
				if err != nil {
					errs[w] = fmt.Errorf("connection %d: %w", i, err)
					return
				}
				conns[i] = c
				if ping {
					if err := options(c, i); err != nil {
						errs[w] = fmt.Errorf("connection %d: %w", i, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			for _, c := range conns {
				if c != nil {
					_ = c.Close()
				}
			}
			return nil, err
		}
	}
	return conns, nil
}

// options sends an OPTIONS on c and reads the answer, a header section
// without a body.
func options(c net.Conn, i int) error {
	req := fmt.Sprintf("OPTIONS sip:idle@127.0.0.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-idle-%d;rport\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:idle@127.0.0.1>;tag=idle\r\n"+
		"To: <sip:idle@127.0.0.1>\r\n"+
		"Call-ID: idle-%d@bench\r\n"+
		"CSeq: 1 OPTIONS\r\n"+
		"Content-Length: 0\r\n\r\n", i, i)
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, req); err != nil {
		return err
	}
	buf := make([]byte, 0, 2048)
	for !bytes.Contains(buf, []byte("\r\n\r\n")) {
		if len(buf) == cap(buf) {
			return errors.New("answer too long")
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		if err != nil {
			return err
		}
		buf = buf[:len(buf)+n]
	}
	if !bytes.HasPrefix(buf, []byte("SIP/2.0 200 ")) {
		return fmt.Errorf("answer %q", buf[:bytes.IndexByte(buf, '\r')])
	}
	return nil
}
