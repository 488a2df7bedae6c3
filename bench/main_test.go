package bench

import (
	"log/slog"
	"os"
	"testing"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(envLoad); spec != "" {
		// This process is a load client of a benchmark (remote_test.go).
		os.Exit(loadChild(spec, os.Getenv(envLoadCA), os.Stdin, os.Stdout))
	}
	// sipgo warns through its package-wide logger whenever it closes a
	// connection the client closed first, as every test here does.
	sip.SetDefaultLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	// gnet starts an ants worker pool when its package is initialised:
	// ignore the goroutines that exist before any test.
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}
