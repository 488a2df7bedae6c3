package relay_test

import (
	"context"
	"testing"
	"time"

	"github.com/sipcm/sipcm/engine"
	"github.com/sipcm/sipcm/internal/loadgen"
	"github.com/sipcm/sipcm/internal/relay"
)

// TestLoadAccounting runs sipcm bench's load generator through a relay to
// an engine upstream, twice (the second run on a warm relay with new
// client connections, as a soak follows its maximum-rate run), and checks
// that nothing goes missing anywhere: every request sent is answered 200
// in time and matched, the relay forwarded each once and relayed each
// answer, holds nothing afterwards, and neither it nor the upstream
// dropped, refused or failed to correlate a message. The load is bounded
// in count.
func TestLoadAccounting(t *testing.T) {
	const runs, requests = 2, 20000
	up, err := engine.NewTCPServer(engine.Config{Loops: 2, Handler: engine.DefaultHandler{}, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = up.Close() })
	uln, err := up.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rl := startRelay(t, uln.Addr().String(), relay.Config{PoolSize: 3}, nil)
	for i := range runs {
		g, err := loadgen.New(loadgen.Config{Addr: rl.addr, Conns: 8, Pipeline: 16, Requests: requests,
			Timeout: testTimeout})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*testTimeout)
		res, err := g.Run(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent != requests || res.Answered != requests || res.OK != requests || res.Errors() != 0 || res.Late != 0 {
			t.Errorf("run %d: sent %d answered %d (2xx %d), errors %d (timeouts %d, lost %d, bad %d), late %d",
				i, res.Sent, res.Answered, res.OK, res.Errors(), res.Timeouts, res.Lost, res.BadResponses, res.Late)
		}
		t.Logf("run %d: %d requests at %.0f/s, latency max %v", i, res.Answered, res.Rate(), res.MaxLatency().Round(time.Microsecond))
	}
	want := uint64(runs * requests)
	waitFor(t, "the relay to hold nothing", func() bool { return rl.r.Stats().Pending == 0 })
	if st := rl.r.Stats(); st.Requests != want || st.Forwarded != want || st.Relayed != want || st.Dropped != 0 ||
		st.Unavailable != 0 || st.Timeouts != 0 || st.Waiting != 0 {
		t.Errorf("relay: %+v, want %d requests forwarded and relayed", st, want)
	}
	if ds := rl.r.Dispatcher().Stats(); ds.Sent != want || ds.Responses != want || ds.Outstanding != 0 ||
		ds.Stray != 0 || ds.Late != 0 || ds.Timeouts != 0 || ds.Broken != 0 || ds.SendErrors != 0 {
		t.Errorf("relay's dispatcher: %+v", ds)
	}
	for name, st := range map[string]engine.Stats{"relay": rl.srv.Stats(), "upstream": up.Stats()} {
		if st.BadRequests != 0 || st.BadMessages != 0 || st.FramingErrors != 0 || st.Backpressure != 0 || st.Oversize != 0 {
			t.Errorf("%s engine: %+v", name, st)
		}
	}
	if st := up.Stats(); st.MessagesIn != want || st.MessagesOut != want {
		t.Errorf("upstream read %d requests and wrote %d responses, want %d", st.MessagesIn, st.MessagesOut, want)
	}
}
