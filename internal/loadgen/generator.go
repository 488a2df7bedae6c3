package loadgen

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Errors returned by a Generator.
var (
	// ErrRan means Run was called twice.
	ErrRan = errors.New("loadgen: generator already ran")
	// ErrNoConnection means no connection to the target could be opened;
	// the returned error wraps the first dial error too.
	ErrNoConnection = errors.New("loadgen: no connection to the target")
)

// Generator runs one load run against a target.
type Generator struct {
	cfg     Config
	clients []*client // fixed at New
	ran     atomic.Bool
	start   atomic.Pointer[time.Time] // set by Run
	epoch   time.Time                 // the same, for the run's goroutines
	budget  atomic.Int64              // requests left when cfg.Requests > 0

	mu   sync.Mutex
	hist *hdrhistogram.Histogram
}

// New returns a Generator for cfg.
func New(cfg Config) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	run := hex.EncodeToString(rnd[:])
	g := &Generator{cfg: cfg, hist: newHistogram()}
	g.budget.Store(int64(min(cfg.Requests, 1<<62)))
	g.clients = make([]*client, cfg.Conns)
	for i := range g.clients {
		g.clients[i] = newClient(g, i, run+"-"+strconv.FormatInt(int64(i), 36))
	}
	return g, nil
}

// Config returns the configuration with its defaults filled in. Any
// goroutine.
func (g *Generator) Config() Config { return g.cfg }

// Run runs the load until Config.Requests have been sent or Config.Duration
// has passed or ctx ends, whichever comes first, then waits up to
// Config.Timeout for the outstanding responses. It starts two goroutines per
// connection and returns when all have stopped. The Result is never nil;
// the error is ErrRan or wraps ErrNoConnection when no connection could be
// opened. Any goroutine, once.
func (g *Generator) Run(ctx context.Context) (*Result, error) {
	if g.ran.Swap(true) {
		return &Result{}, ErrRan
	}
	start := time.Now()
	g.epoch = start
	g.start.Store(&start)

	sendCtx, cancel := context.WithTimeout(ctx, g.cfg.Duration)
	defer cancel()
	var wg sync.WaitGroup
	for _, c := range g.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.run(sendCtx)
		}()
	}
	wg.Wait()
	return g.result(time.Since(start))
}

// now returns the time since the run started, never zero. Run's goroutines.
func (g *Generator) now() int64 { return int64(time.Since(g.epoch)) + 1 }

// take reserves up to n requests of the budget and returns how many it got.
func (g *Generator) take(n int) int {
	if g.cfg.Requests == 0 {
		return n
	}
	left := g.budget.Add(-int64(n))
	if left >= 0 {
		return n
	}
	return int(max(int64(n)+left, 0))
}

// record adds latencies, in ns, to the histogram. Any goroutine.
func (g *Generator) record(lat []int64) {
	g.mu.Lock()
	for _, v := range lat {
		_ = g.hist.RecordValue(min(max(v, histLowest), histHighest))
	}
	g.mu.Unlock()
}

// Progress returns a snapshot of the run so far. Any goroutine.
func (g *Generator) Progress() Progress {
	var p Progress
	if s := g.start.Load(); s != nil {
		p.Elapsed = time.Since(*s)
	}
	for _, c := range g.clients {
		p.Sent += c.sent.Load()
		p.Answered += c.answered.Load()
		p.Errors += c.errs.Load()
	}
	return p
}

// result adds up the clients' counters once they have stopped.
func (g *Generator) result(wall time.Duration) (*Result, error) {
	r := &Result{hist: g.hist}
	var first, last int64 = -1, 0
	var dialErr error
	for _, c := range g.clients {
		if c.conn == nil {
			if c.dialErr != nil {
				r.ConnErrors++
				dialErr = cmp.Or(dialErr, c.dialErr)
			}
			continue
		}
		r.Conns++
		r.Sent += c.sent.Load()
		r.Answered += c.answered.Load()
		r.OK += c.ok
		r.Timeouts += c.timeouts
		r.Lost += c.lost
		r.BadResponses += c.bad
		r.Late += c.late
		r.Unsent += c.unsent
		if err := errors.Join(c.readErr, c.writeErr); err != nil {
			r.ConnErrors++
			if r.ConnError == nil {
				r.ConnError = err
			}
		}
		for code, n := range c.codes {
			if r.Codes == nil {
				r.Codes = make(map[int]uint64)
			}
			r.Codes[code] += n
		}
		if c.first > 0 && (first < 0 || c.first < first) {
			first = c.first
		}
		last = max(last, c.last)
	}
	if r.ConnError == nil {
		r.ConnError = dialErr
	}
	r.Elapsed = wall
	if first >= 0 && last > first {
		r.Elapsed = time.Duration(last - first)
	}
	if r.Conns == 0 && dialErr != nil {
		return r, fmt.Errorf("%w %s: %w", ErrNoConnection, g.cfg.Addr, dialErr)
	}
	return r, nil
}
