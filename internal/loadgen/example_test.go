package loadgen_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/internal/loadgen"
)

// A Generator sends a fixed number of pipelined OPTIONS and reports the
// result.
func Example() {
	srv, _ := engine.NewTCPServer(engine.Config{Loops: 1, Logger: slog.New(slog.DiscardHandler), Handler: engine.DefaultHandler{}})
	_ = srv.Start()
	defer srv.Close()
	ln, _ := srv.Listen(context.Background(), "tcp", "127.0.0.1:0")

	g, err := loadgen.New(loadgen.Config{Addr: ln.Addr().String(), Conns: 2, Pipeline: 8, Requests: 1000})
	if err != nil {
		panic(err)
	}
	r, err := g.Run(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println("answered", r.Answered, "ok", r.OK, "errors", r.Errors())
	// Output: answered 1000 ok 1000 errors 0
}
