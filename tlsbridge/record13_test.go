package tlsbridge

import (
	"bytes"
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/sipcm/sipcm/internal/testcert"
)

// stdPair is our side against a crypto/tls peer, established.
func stdPair(t *testing.T, ourServer bool, maxVersion uint16, suites []uint16, disable bool) (*side, *stdPeer, *Manager) {
	t.Helper()
	ca := testcert.MustCA(t, "test CA")
	ours := ca.MustIssue(t, testcert.Both("localhost"))
	m, err := NewManager(Config{Certificate: &ours.TLS, RootCAs: ca.Pool(), DisableRecordLayer: disable})
	if err != nil {
		t.Fatal(err)
	}
	var s *side
	var p *stdPeer
	if ourServer {
		s = newSide(t).accept(t, m)
		cfg := stdClientConfig(ca, "localhost", nil)
		cfg.MaxVersion = maxVersion
		cfg.CipherSuites = suites
		if len(suites) > 0 && suites[0] == tls.TLS_CHACHA20_POLY1305_SHA256 {
			// TLS 1.3 suites cannot be configured in crypto/tls; only the
			// preference order, which follows the hardware.
			t.Skip("TLS 1.3 suite order is not configurable")
		}
		p = newStdPeer(s, false, cfg)
	} else {
		s = newSide(t).connect(m, Outbound{Host: "localhost"})
		p = newStdPeer(s, true, &tls.Config{Certificates: []tls.Certificate{ca.MustIssue(t, testcert.Both("localhost")).TLS}, MaxVersion: maxVersion})
	}
	if errS, errP := handshakeStd(testCtx(t), s, p); errS != nil || errP != nil {
		t.Fatalf("ours %v, theirs %v", errS, errP)
	}
	return s, p, m
}

// TestRecordLayerChosen: TLS 1.3 with AES-GCM runs on our record layer,
// TLS 1.2 and DisableRecordLayer on crypto/tls, and both carry messages
// both ways.
func TestRecordLayerChosen(t *testing.T) {
	msg := bytes.Repeat([]byte("OPTIONS sip:localhost SIP/2.0\r\n"), 700) // 21 KB: two records
	for _, tc := range []struct {
		name    string
		max     uint16
		disable bool
		want    bool
	}{
		{"tls13", tls.VersionTLS13, false, true},
		{"tls12", tls.VersionTLS12, false, false},
		{"tls13-disabled", tls.VersionTLS13, true, false},
	} {
		for _, server := range []bool{true, false} {
			t.Run(tc.name+map[bool]string{true: "/our-server", false: "/our-client"}[server], func(t *testing.T) {
				s, p, _ := stdPair(t, server, tc.max, nil, tc.disable)
				var got bool
				s.loop.do(func() { got = s.c.r13 != nil })
				if got != tc.want {
					t.Fatalf("record layer in use: %v, want %v (suite %#x)", got, tc.want, s.c.suite)
				}
				for range 3 {
					stdExchange(t, s, p, msg)
				}
				closeStd(t, s, p)
			})
		}
	}
}

// TestKeyUpdate: we ask a crypto/tls peer for a key update; it updates
// its receiving key (it reads what we seal with our next key) and answers
// with a KeyUpdate of its own, after which it seals with its next key and
// we read it. Both directions, our side server and client.
func TestKeyUpdate(t *testing.T) {
	msg := []byte("OPTIONS sip:localhost SIP/2.0\r\nContent-Length: 0\r\n\r\n")
	for _, server := range []bool{true, false} {
		t.Run(map[bool]string{true: "our-server", false: "our-client"}[server], func(t *testing.T) {
			s, p, _ := stdPair(t, server, tls.VersionTLS13, nil, false)
			stdExchange(t, s, p, msg)
			var before [48]byte
			var err error
			s.loop.do(func() {
				before = s.c.r13.in.secret
				err = s.c.keyUpdate13(true)
			})
			if err != nil {
				t.Fatal(err)
			}
			// The peer handles our KeyUpdate inside its Read, answers,
			// and reads our message under the new key.
			for range 3 {
				stdExchange(t, s, p, msg)
			}
			s.loop.do(func() {
				if s.c.r13.in.secret == before {
					t.Error("receiving key not updated: the peer's KeyUpdate was not seen")
				}
				if s.c.r13.out.seq != 3 {
					t.Errorf("sending seq %d after the update, want 3", s.c.r13.out.seq)
				}
			})
			closeStd(t, s, p)
		})
	}
}

// TestCorruptRecord: a flipped bit in a record from a crypto/tls peer
// closes our side with bad_record_mac, which the peer receives, and is
// counted.
func TestCorruptRecord(t *testing.T) {
	for _, v := range tlsVersions {
		t.Run(v.name, func(t *testing.T) {
			s, p, m := stdPair(t, true, v.max, nil, false)
			p.setCapture(true)
			if _, err := p.tc.Write([]byte("OPTIONS")); err != nil {
				t.Fatal(err)
			}
			bad := p.take()
			bad[len(bad)-3] ^= 0x10
			var err error
			s.loop.do(func() { err = s.c.Feed(bad) })
			if err == nil || !isLocalError(err) {
				t.Fatalf("Feed: %v, want a local alert", err)
			}
			if _, rerr := p.tc.Read(make([]byte, 10)); rerr == nil || !strings.Contains(rerr.Error(), "bad record MAC") {
				t.Errorf("peer read %v, want bad record MAC", rerr)
			}
			if n := m.Stats().RecordErrors; n != 1 {
				t.Errorf("RecordErrors %d, want 1", n)
			}
			s.loop.do(func() { s.c.Close() })
			p.mc.Close()
		})
	}
}

// TestPostHandshakeMessages plays a peer with our own record layer (its
// keys are known) sending what crypto/tls would not: a NewSessionTicket
// to a client (ignored), a handshake message split across records, a
// KeyUpdate not ending its record, an unknown post-handshake message, a
// record with no content type, and a plaintext record.
func TestPostHandshakeMessages(t *testing.T) {
	ticket := append([]byte{msgNewSessionTicket, 0, 0, 8}, make([]byte, 8)...)
	for _, tc := range []struct {
		name    string
		toSrv   bool
		records [][2][]byte // content type, data
		raw     []byte      // a record sent as is, after records
		want    error       // nil: the message after them arrives
	}{
		{"ticket-to-client", false, [][2][]byte{{{typeHandshake}, ticket}}, nil, nil},
		{"ticket-split", false, [][2][]byte{{{typeHandshake}, ticket[:3]}, {{typeHandshake}, ticket[3:]}}, nil, nil},
		{"ticket-to-server", true, [][2][]byte{{{typeHandshake}, ticket}}, nil, errUnexpected},
		{"keyupdate-not-last", true, [][2][]byte{{{typeHandshake}, append([]byte{msgKeyUpdate, 0, 0, 1, 0}, ticket...)}}, nil, errUnexpected},
		{"keyupdate-bad-value", true, [][2][]byte{{{typeHandshake}, []byte{msgKeyUpdate, 0, 0, 1, 2}}}, nil, errIllegalParam},
		{"cert-request", false, [][2][]byte{{{typeHandshake}, []byte{13, 0, 0, 0}}}, nil, errUnexpected},
		{"split-then-data", true, [][2][]byte{{{typeHandshake}, ticket[:3]}, {{typeApplicationData}, []byte("x")}}, nil, errUnexpected},
		{"unknown-type", true, [][2][]byte{{{99}, []byte("x")}}, nil, errUnexpected},
		{"plaintext-alert", true, nil, []byte{typeAlert, 3, 3, 0, 2, 2, 40}, errUnexpected},
		{"overflow", true, nil, []byte{typeApplicationData, 3, 3, 0x41, 0x01}, errRecordOverflow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newSteadyPair(t, tls.VersionTLS13)
			from, to, wire, back := p.cli, p.srv, &p.toSrv, &p.toCli
			if !tc.toSrv {
				from, to, wire, back = p.srv, p.cli, &p.toCli, &p.toSrv
			}
			if from.c.r13 == nil || to.c.r13 == nil {
				t.Fatal("record layer not in use")
			}
			for _, r := range tc.records {
				*wire = from.c.r13.appendRecord(*wire, r[0][0], r[1])
			}
			*wire = append(*wire, tc.raw...)
			msg := []byte("OPTIONS")
			if _, err := from.c.Write(msg); err != nil {
				t.Fatal(err)
			}
			err := to.c.Feed(*wire)
			if tc.want == nil {
				if err != nil || !bytes.Equal(to.c.Buffered(), msg) {
					t.Fatalf("Feed %v, got %q", err, to.c.Buffered())
				}
				return
			}
			if !errors.Is(err, tc.want) && (err == nil || err.Error() != tc.want.Error()) {
				t.Fatalf("Feed: %v, want %v", err, tc.want)
			}
			// The alert reaches the peer.
			if ferr := from.c.Feed(*back); ferr == nil || !strings.Contains(ferr.Error(), "remote error") {
				t.Errorf("peer Feed after our alert: %v", ferr)
			}
		})
	}
}
