package dispatch

import (
	"fmt"
	"slices"
)

// table is an immutable snapshot of the endpoints: the routing path reads
// it through an atomic pointer with no lock, and Add, Remove and SetDefault
// replace it (copy on write).
type table struct {
	eps     []*Endpoint // in order of addition
	byToken map[string]*Endpoint
	byGRUU  map[string]*Endpoint
	byAOR   map[string]*Endpoint // the earliest added endpoint of each AOR
	def     *Endpoint
}

var emptyTable = &table{}

func buildTable(eps []*Endpoint, def *Endpoint) *table {
	t := &table{
		eps:     eps,
		byToken: make(map[string]*Endpoint, len(eps)),
		byGRUU:  make(map[string]*Endpoint),
		byAOR:   make(map[string]*Endpoint, len(eps)),
		def:     def,
	}
	for _, e := range eps {
		t.byToken[e.keys.token] = e
		if e.keys.gruu != "" {
			t.byGRUU[e.keys.gruu] = e
		}
		if _, ok := t.byAOR[e.keys.aor]; !ok {
			t.byAOR[e.keys.aor] = e
		}
	}
	return t
}

// Add adds endpoints, all or none: it fails when one is already added to a
// dispatcher (ErrEndpointInUse), is peer-to-peer on a client manager
// (ErrPeerToPeerOnClient), or has the token or GRUU of another endpoint
// (ErrDuplicateToken, ErrDuplicateGRUU). Several endpoints may share an
// AOR: requests routed by AOR go to the earliest added. Requests already
// being routed may still miss the new endpoints. Each call copies the
// table: add many endpoints in one call. Any goroutine.
func (d *Dispatcher) Add(eps ...*Endpoint) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed.Load() {
		return ErrClosed
	}
	old := d.tbl.Load()
	tokens := make(map[string]bool, len(eps))
	gruus := make(map[string]bool)
	for _, e := range eps {
		switch {
		case e.owner.Load() != nil || slices.Contains(old.eps, e):
			return fmt.Errorf("%w: %s", ErrEndpointInUse, e.aor)
		case d.cfg.Client && e.kind == PeerToPeer:
			return fmt.Errorf("%w: %s", ErrPeerToPeerOnClient, e.aor)
		case old.byToken[e.keys.token] != nil || tokens[e.keys.token]:
			return fmt.Errorf("%w: %s", ErrDuplicateToken, e.token)
		case e.keys.gruu != "" && (old.byGRUU[e.keys.gruu] != nil || gruus[e.keys.gruu]):
			return fmt.Errorf("%w: %s", ErrDuplicateGRUU, e.gruu)
		}
		tokens[e.keys.token] = true
		if e.keys.gruu != "" {
			gruus[e.keys.gruu] = true
		}
	}
	for i, e := range eps {
		if !e.owner.CompareAndSwap(nil, d) { // added elsewhere meanwhile
			for _, f := range eps[:i] {
				f.owner.Store(nil)
			}
			return fmt.Errorf("%w: %s", ErrEndpointInUse, e.aor)
		}
		e.mu.Lock()
		e.claims = make(map[string]struct{})
		e.mu.Unlock()
	}
	all := make([]*Endpoint, 0, len(old.eps)+len(eps))
	all = append(append(all, old.eps...), eps...)
	d.tbl.Store(buildTable(all, old.def))
	return nil
}

// Remove removes endpoints (ignoring those not added here), clears the
// default endpoint if it is one of them, drops their dialog claims and
// calls Transport.Release for each. Requests already routed to them may
// still reach their handlers, and their outstanding requests still get
// their responses. Any goroutine.
func (d *Dispatcher) Remove(eps ...*Endpoint) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.tbl.Load()
	var gone []*Endpoint
	keep := make([]*Endpoint, 0, len(old.eps))
	for _, e := range old.eps {
		if slices.Contains(eps, e) {
			gone = append(gone, e)
		} else {
			keep = append(keep, e)
		}
	}
	if len(gone) == 0 {
		return
	}
	def := old.def
	if slices.Contains(gone, def) {
		def = nil
	}
	d.tbl.Store(buildTable(keep, def))
	for _, e := range gone {
		d.dropClaims(e)
	}
	if tr := d.tr.Load(); tr != nil {
		for _, e := range gone {
			(*tr).Release(e)
		}
	}
}

// SetDefault sets the endpoint that gets the requests no other rule routes;
// nil clears it. It fails with ErrNotAdded when e is not added here. Any
// goroutine.
func (d *Dispatcher) SetDefault(e *Endpoint) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.tbl.Load()
	if e != nil && e.owner.Load() != d {
		return ErrNotAdded
	}
	t := *old
	t.def = e
	d.tbl.Store(&t)
	return nil
}

// Default returns the default endpoint, or nil. Any goroutine.
func (d *Dispatcher) Default() *Endpoint { return d.tbl.Load().def }

// Endpoints returns the endpoints added, in order of addition. Any
// goroutine.
func (d *Dispatcher) Endpoints() []*Endpoint { return slices.Clone(d.tbl.Load().eps) }
