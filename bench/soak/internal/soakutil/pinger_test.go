package soakutil

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// answer reads requests without a body from c and answers each with
// status; after n answers it signals on reached.
func answer(c net.Conn, status string, n int, reached chan<- struct{}) {
	defer c.Close()
	br := bufio.NewReader(c)
	for i := 1; ; i++ {
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
		}
		if _, err := io.WriteString(c, "SIP/2.0 "+status+"\r\nContent-Length: 0\r\n\r\n"); err != nil {
			return
		}
		if i == n {
			close(reached)
		}
	}
}

func TestPinger(t *testing.T) {
	for _, tc := range []struct {
		status string
		ok     bool
	}{{"200 OK", true}, {"503 Service Unavailable", false}} {
		cli, srv := net.Pipe()
		reached := make(chan struct{})
		go answer(srv, tc.status, 1, reached)
		p := StartPinger(func() (net.Conn, error) { return cli, nil },
			func(seq int) string { return Options("TCP", "127.0.0.1:5060", "127.0.0.1", "t", seq) },
			time.Millisecond, 10*time.Second)
		<-reached
		sent, answered, _, err := p.Stop()
		if tc.ok && (err != nil || sent < 1 || answered != sent) {
			t.Errorf("%s: sent %d answered %d err %v", tc.status, sent, answered, err)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), "503") || answered != 0) {
			t.Errorf("%s: answered %d err %v, want a 503 error", tc.status, answered, err)
		}
	}
}
