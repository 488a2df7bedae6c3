// Command sipgoserver is a minimal github.com/emiago/sipgo server that
// answers OPTIONS with 200 OK over TCP and does nothing else: the Go peer
// in bench/compare/run.sh.
//
// Usage:
//
//	sipgoserver [-addr 127.0.0.1:5080]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5080", "TCP listening address")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	// sipgo also logs through its package-wide logger (closed connections).
	sip.SetDefaultLogger(logger)

	ua, err := sipgo.NewUA()
	if err != nil {
		log.Fatalf("sipgoserver: %v", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(logger))
	if err != nil {
		log.Fatalf("sipgoserver: %v", err)
	}
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("sipgoserver: %v", err)
	}
	fmt.Printf("listening tcp %s\n", ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- srv.ServeTCP(ln) }()
	select {
	case <-ctx.Done():
		_ = ln.Close()
		<-done
	case err = <-done:
	}
	_ = srv.Close()
	_ = ua.Close()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		log.Fatalf("sipgoserver: %v", err)
	}
}
