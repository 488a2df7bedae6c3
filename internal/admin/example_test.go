package admin_test

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"

	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/internal/admin"
)

// The endpoint serves an engine's counters in the Prometheus text format.
func Example() {
	srv, err := engine.NewTCPServer(engine.Config{Loops: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	a, err := admin.New(admin.Config{Engines: []admin.Engine{srv}})
	if err != nil {
		panic(err)
	}
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for line := range strings.Lines(rec.Body.String()) {
		if strings.HasPrefix(line, "sipcm_connections_open") {
			fmt.Print(line)
		}
	}
	// Output:
	// sipcm_connections_open{direction="in"} 0
	// sipcm_connections_open{direction="out"} 0
}
