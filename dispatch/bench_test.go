package dispatch

import (
	"testing"

	"github.com/sipcm/sipcm/sipparse"
)

// BenchmarkRoute measures parsing and routing one request, by rule.
func BenchmarkRoute(b *testing.B) {
	d, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	var eps []*Endpoint
	for i := range 1000 {
		eps = append(eps, mustEndpoint(b, EndpointConfig{
			AOR:  "sip:user" + itoa(i) + "@example.com",
			GRUU: "sip:user" + itoa(i) + "@example.com;gr=urn:uuid:" + itoa(i),
		}))
	}
	if err := d.Add(eps...); err != nil {
		b.Fatal(err)
	}
	tok := eps[500].Token()
	cases := []struct {
		name string
		msg  []byte
	}{
		{"token", request("INVITE", "sip:x@192.0.2.10;sipcm-ctx="+tok, "", "")},
		{"gruu", request("INVITE", "sip:user500@example.com;gr=urn:uuid:500", "", "")},
		{"aor", request("INVITE", "sip:user500@Example.com", "", "")},
		{"500", request("INVITE", "sip:nobody@example.com", "", "")},
	}
	for _, tc := range cases {
		b.Run(tc.name+"/dispatch", func(b *testing.B) {
			b.ReportAllocs()
			c := newConn(1)
			var m sipparse.Message
			for b.Loop() {
				if err := m.Parse(tc.msg); err != nil {
					b.Fatal(err)
				}
				d.HandleMessage(c, &m)
			}
		})
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// BenchmarkSend measures sending a request and delivering its final
// response.
func BenchmarkSend(b *testing.B) {
	env := newEnv(b, Config{})
	e := mustEndpoint(b, EndpointConfig{AOR: "sip:alice@example.com"})
	if err := env.d.Add(e); err != nil {
		b.Fatal(err)
	}
	req := outRequest("OPTIONS")
	fn := func(Conn, *sipparse.Message, error) {}
	var sent, m sipparse.Message
	var resp []byte
	b.Run("options/dispatch", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := env.d.Send(e, peer, req, fn); err != nil {
				b.Fatal(err)
			}
			env.conn.mu.Lock()
			last := env.conn.sent[len(env.conn.sent)-1]
			env.conn.sent = env.conn.sent[:0]
			env.conn.mu.Unlock()
			if err := sent.Parse(last); err != nil {
				b.Fatal(err)
			}
			resp = sipparse.AppendResponse(resp[:0], &sent, 200, "OK", nil)
			if err := m.Parse(resp); err != nil {
				b.Fatal(err)
			}
			env.d.HandleMessage(env.conn, &m)
		}
	})
}
