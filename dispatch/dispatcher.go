package dispatch

import (
	"crypto/rand"
	"encoding/hex"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipcm/sipcm/internal/wheel"
	"github.com/sipcm/sipcm/sipparse"
)

// Dispatcher routes the requests a manager reads to its endpoints, answers
// those no endpoint takes, sends the endpoints' requests and routes their
// responses back. Its methods say which goroutine may call them; "loop
// only" means on the event loop of the connection concerned, as the
// engine's handler calls are.
type Dispatcher struct {
	cfg   Config // with defaults
	clock Clock
	tr    atomic.Pointer[Transport]

	mu      sync.Mutex // serialises Add, Remove, SetDefault, Start, Close
	tbl     atomic.Pointer[table]
	started bool
	closed  atomic.Bool
	stop    chan struct{}
	stopped chan struct{}

	seed   maphash.Seed
	claims [claimShards]claimShard

	magic   [8]byte // random part of our branches
	seq     atomic.Uint64
	txs     [txShards]txShard
	conns   [connShards]connShard
	sweepMu sync.Mutex
	expired []*tx // filled by the wheels in Sweep, under sweepMu
	bufs    sync.Pool

	stats stats
}

// New returns a dispatcher for cfg with no endpoints.
func New(cfg Config) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	d := &Dispatcher{
		cfg:   cfg,
		clock: cfg.Clock,
		seed:  maphash.MakeSeed(),
	}
	if cfg.Transport != nil {
		d.SetTransport(cfg.Transport)
	}
	d.tbl.Store(emptyTable)
	for i := range d.claims {
		d.claims[i].m = make(map[string]*Endpoint)
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	hex.Encode(d.magic[:], r[:])
	now := d.clock.Now()
	slots := int(cfg.Timeout/cfg.Tick) + 2
	slots = min(max(slots, 64), 1024)
	for i := range d.txs {
		sh := &d.txs[i]
		sh.m = make(map[uint64]*tx)
		sh.w = wheel.New(wheel.Config{Tick: cfg.Tick, Slots: slots}, now, func(t *tx, _ time.Duration) {
			if t.state.CompareAndSwap(txPending, txDone) {
				delete(sh.m, t.key)
				d.expired = append(d.expired, t)
			}
		})
	}
	for i := range d.conns {
		d.conns[i].m = make(map[uint64]*connTxs)
	}
	d.bufs.New = func() any {
		b := make([]byte, 0, 2048)
		return &b
	}
	return d, nil
}

// SetTransport sets the transport Send uses. Any goroutine.
func (d *Dispatcher) SetTransport(tr Transport) {
	if tr == nil {
		d.tr.Store(nil)
		return
	}
	d.tr.Store(&tr)
}

// Start starts the goroutine that expires outstanding requests every
// Config.Tick. Without it, call Sweep. Any goroutine.
func (d *Dispatcher) Start() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed.Load():
		return ErrClosed
	case d.started:
		return ErrStarted
	}
	d.started = true
	d.stop = make(chan struct{})
	d.stopped = make(chan struct{})
	go d.sweeper(d.stop, d.stopped)
	return nil
}

func (d *Dispatcher) sweeper(stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	t := time.NewTicker(d.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			d.Sweep()
		}
	}
}

// Close stops the goroutine Start started, ends every outstanding request
// with ErrClosed, and makes Send and Add fail with ErrClosed. Incoming
// messages are still routed. Any goroutine but an event loop, since it
// waits for the sweeper.
func (d *Dispatcher) Close() error {
	d.mu.Lock()
	if d.closed.Swap(true) {
		d.mu.Unlock()
		return nil
	}
	started := d.started
	d.mu.Unlock()
	if started {
		close(d.stop)
		<-d.stopped
	}
	d.endAll(ErrClosed)
	return nil
}

// HandleMessage handles a message read on c: a request is routed (see
// Route) to its endpoint's Handler, or answered by the dispatcher: 500 when
// no endpoint takes it, 481 for a CANCEL, nothing for an ACK, 400 when its
// Request-URI is malformed, or the status the endpoint declined it with. A
// response is delivered to the sender of its request, found by the branch
// of its top Via, or dropped. m is used only during the call. It allocates
// nothing on these paths (keys up to 256 bytes). Loop only.
func (d *Dispatcher) HandleMessage(c Conn, m *sipparse.Message) {
	if m.Request {
		d.handleRequest(c, m)
		return
	}
	d.handleResponse(c, m)
}
