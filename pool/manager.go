package pool

import (
	"sync"
	"time"
)

// Manager owns the pools of one engine manager. All methods may be called
// from any goroutine.
type Manager struct {
	cfg    Config
	dialer Dialer
	async  AsyncDialer // dialer, when it is one

	mu      sync.Mutex
	pools   map[Key]*Pool
	sizes   map[Key]int // sizes set with SetKeySize
	defSize int
	closed  bool
	stop    chan struct{} // non-nil once started
	done    chan struct{}
}

// NewManager returns a manager that dials with d. It starts no goroutine.
func NewManager(cfg Config, d Dialer) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d == nil {
		return nil, ErrNoDialer
	}
	cfg = cfg.withDefaults()
	ad, _ := d.(AsyncDialer)
	return &Manager{
		cfg:     cfg,
		dialer:  d,
		async:   ad,
		pools:   make(map[Key]*Pool),
		sizes:   make(map[Key]int),
		defSize: cfg.DefaultSize,
	}, nil
}

// DefaultSize returns the size of pools that have no size of their own.
// Any goroutine.
func (m *Manager) DefaultSize() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.defSize
}

// SetDefaultSize changes the default size, also of the existing pools that
// have no size of their own (see Pool.SetSize). n is 1..MaxSize or
// Unlimited. Any goroutine.
func (m *Manager) SetDefaultSize(n int) error {
	if !validSize(n) {
		return ErrSize
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.defSize = n
	for _, p := range m.pools {
		p.mu.Lock()
		if p.own == 0 {
			p.resize(n)
		}
		p.mu.Unlock()
	}
	return nil
}

// SetKeySize sets the size of the pool for k: at once when the pool exists,
// and whenever it is created again. n is 1..MaxSize or Unlimited; 0 removes
// the setting, so that the pool follows the default size. (Pool.SetSize
// changes only the live pool.) Any goroutine.
func (m *Manager) SetKeySize(k Key, n int) error {
	if n != 0 && !validSize(n) {
		return ErrSize
	}
	if !k.valid() {
		return ErrKey
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if n == 0 {
		delete(m.sizes, k)
	} else {
		m.sizes[k] = n
	}
	if p := m.pools[k]; p != nil {
		p.mu.Lock()
		p.own = n
		if n == 0 {
			n = m.defSize
		}
		p.resize(n)
		p.mu.Unlock()
	}
	return nil
}

// Acquire returns a handle on the pool for k, creating the pool if needed
// and taking a reference on it. A pool lingering without references is
// reused with its connections. Any goroutine.
func (m *Manager) Acquire(k Key) (*Handle, error) {
	if !k.valid() {
		return nil, ErrKey
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	p := m.pools[k]
	if p == nil {
		size := m.defSize
		if n := m.sizes[k]; n != 0 {
			size = n
		}
		p = newPool(m, k, size)
		p.own = m.sizes[k]
		m.pools[k] = p
	}
	p.refs++
	p.lingering = false
	h := &Handle{p: p}
	h.slot.Store(new(slot))
	p.mu.Lock()
	p.handles[h] = struct{}{}
	p.mu.Unlock()
	return h, nil
}

// Pool returns the live pool for k, or nil. Any goroutine.
func (m *Manager) Pool(k Key) *Pool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pools[k]
}

// Sweep does the pool's background work as of now: it empties slots whose
// connection broke, retires connections older than the lease timeout,
// closes retired connections whose in-flight work is done (or whose drain
// timeout passed) and closes pools whose linger period is over. A retired
// connection is closed no earlier than the second Sweep after it was
// retired, so that a Get that picked it just before has raised its
// in-flight count. Call it periodically (Start does) from any goroutine.
func (m *Manager) Sweep(now time.Time) {
	m.mu.Lock()
	var live []*Pool
	for k, p := range m.pools {
		if p.refs == 0 && p.lingering && now.Sub(p.idleAt) >= m.cfg.Linger {
			m.removeLocked(k, p)
			continue
		}
		live = append(live, p)
	}
	m.mu.Unlock()
	for _, p := range live {
		p.sweep(now)
	}
}

// removeLocked closes p and forgets it. m.mu held.
func (m *Manager) removeLocked(k Key, p *Pool) {
	delete(m.pools, k)
	p.removed = true
	p.mu.Lock()
	p.close()
	p.mu.Unlock()
}

// Start starts a goroutine that calls Sweep every Config.SweepInterval
// until Close. Any goroutine; once.
func (m *Manager) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if m.stop != nil {
		return ErrStarted
	}
	m.stop = make(chan struct{})
	m.done = make(chan struct{})
	go m.run(m.stop, m.done)
	return nil
}

func (m *Manager) run(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(m.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			m.Sweep(m.cfg.Now())
		}
	}
}

// Close stops the goroutine started by Start and closes every pool and
// connection at once, in-flight work or not. Later Acquires and Gets fail
// with ErrClosed. Any goroutine; idempotent.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	stop, done := m.stop, m.done
	m.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done // a running Sweep finishes first
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, p := range m.pools {
		m.removeLocked(k, p)
	}
	return nil
}
