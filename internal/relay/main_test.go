package relay

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// gnet starts an ants worker pool when its package is initialised:
	// ignore the goroutines that exist before any test.
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}
