// Command tlsbaseline is the crypto/tls baseline of bench/compare/tls.sh: a
// server answering 200 to every SIP request over TLS, crypto/tls over
// net.Conn with a goroutine per connection (package bench/internal/tlsbase,
// the baseline the in-process TLS benchmarks run too).
//
// Usage:
//
//	tlsbaseline [-addr 127.0.0.1:5081] [-cert FILE -key FILE]
//
// Without -cert it presents a certificate for localhost made at start
// (ECDSA P-256, as the self-signed one of sipcm serve), so the load
// generator runs with --insecure-skip-verify against either.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net"
	"os/signal"
	"syscall"

	"github.com/sipcm/sipcm/bench/internal/tlsbase"
	"github.com/sipcm/sipcm/internal/testcert"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5081", "TLS listening address")
	certFile := flag.String("cert", "", "certificate `file` (PEM, chain included); default: one made at start")
	keyFile := flag.String("key", "", "private key `file` (PEM) of -cert")
	flag.Parse()
	cert, err := certificate(*certFile, *keyFile)
	if err != nil {
		log.Fatalf("tlsbaseline: %v", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("tlsbaseline: %v", err)
	}
	// As the in-process baseline: no session tickets, crypto/tls defaults.
	s := tlsbase.Listen(ln, &tls.Config{Certificates: []tls.Certificate{cert}, SessionTicketsDisabled: true})
	fmt.Printf("listening tls %s\n", s.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	_ = s.Close()
}

// certificate loads the certificate in certFile and keyFile, or makes one
// for localhost when both are empty.
func certificate(certFile, keyFile string) (tls.Certificate, error) {
	if certFile != "" || keyFile != "" {
		return tls.LoadX509KeyPair(certFile, keyFile)
	}
	ca, err := testcert.NewCA("tlsbaseline")
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := ca.Issue(testcert.Server("localhost"))
	if err != nil {
		return tls.Certificate{}, err
	}
	return leaf.TLS, nil
}
