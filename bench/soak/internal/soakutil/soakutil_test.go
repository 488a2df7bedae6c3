package soakutil

import (
	"bufio"
	"strings"
	"testing"
	"time"

	"github.com/sipcm/sipcm/sipparse"
)

func TestOptionsParses(t *testing.T) {
	for _, tr := range []string{"TCP", "TLS"} {
		var m sipparse.Message
		req := Options(tr, "127.0.0.1:5061", "localhost", "good", 7)
		if err := m.Parse([]byte(req)); err != nil {
			t.Fatalf("%s: %v\n%s", tr, err, req)
		}
		if m.Method != sipparse.MethodOptions || m.CSeq.Num != 7 || string(m.Bytes(m.CallID)) != "good-7@soak" {
			t.Errorf("%s: method %v cseq %d call-id %q", tr, m.Method, m.CSeq.Num, m.Bytes(m.CallID))
		}
	}
}

func TestReadAnswer(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", true},
		{"\r\n\r\nSIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\n\r\n", true},
		{"SIP/2.0 503 Service Unavailable\r\n\r\n", false},
		{"SIP/2.0 200 OK\r\n", false}, // cut before the empty line
	} {
		err := ReadAnswer(bufio.NewReader(strings.NewReader(tc.in)))
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}

func TestParseMetrics(t *testing.T) {
	in := "# HELP x y\n# TYPE x counter\nsipcm_tls_refusals_total{reason=\"expired\"} 3\n\ngo_goroutines 12\n"
	m, err := ParseMetrics(bufio.NewScanner(strings.NewReader(in)))
	if err != nil {
		t.Fatal(err)
	}
	if Num(m, `sipcm_tls_refusals_total{reason="expired"}`) != 3 || Num(m, "go_goroutines") != 12 || Num(m, "absent") != 0 || len(m) != 2 {
		t.Errorf("got %v", m)
	}
}

func TestSpread(t *testing.T) {
	if got := Spread(nil); got != "-" {
		t.Errorf("Spread(nil) = %q", got)
	}
	got := Spread([]time.Duration{3 * time.Second, time.Second, 2 * time.Second})
	if want := "min 1s median 2s max 3s"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
