package dispatch

import (
	"hash/maphash"
	"sync"
)

// Dialog claims: a simple map from (Call-ID, local tag) to the endpoint
// that owns the dialog, sharded by hash to spread the locks of the loops.

const claimShards = 64

type claimShard struct {
	mu sync.RWMutex
	m  map[string]*Endpoint
	_  [64 - 32]byte // keep shards on separate cache lines
}

func (d *Dispatcher) claimShard(key []byte) *claimShard {
	return &d.claims[maphash.Bytes(d.seed, key)%claimShards]
}

// Claim routes the in-dialog requests of a dialog to e: the requests whose
// Call-ID is callID and whose To tag is localTag (the tag e put in the To
// of its response, or in the From of its request). A claim lasts until
// Unclaim or until e is removed. It fails with ErrNotAdded when e is not
// added here, and with ErrDialogClaimed when another endpoint holds the
// dialog. Any goroutine.
func (d *Dispatcher) Claim(e *Endpoint, callID, localTag []byte) error {
	var kb [keyBuf]byte
	k := appendDialogKey(kb[:0], callID, localTag)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.owner.Load() != d {
		return ErrNotAdded
	}
	sh := d.claimShard(k)
	sh.mu.Lock()
	if cur := sh.m[string(k)]; cur != nil && cur != e && cur.owner.Load() == d {
		sh.mu.Unlock()
		return ErrDialogClaimed
	}
	key := string(k)
	sh.m[key] = e
	sh.mu.Unlock()
	e.claims[key] = struct{}{}
	return nil
}

// Unclaim drops the claim on a dialog, if any. Any goroutine.
func (d *Dispatcher) Unclaim(callID, localTag []byte) {
	var kb [keyBuf]byte
	k := appendDialogKey(kb[:0], callID, localTag)
	sh := d.claimShard(k)
	sh.mu.Lock()
	e := sh.m[string(k)]
	delete(sh.m, string(k))
	sh.mu.Unlock()
	if e != nil {
		e.mu.Lock()
		delete(e.claims, string(k))
		e.mu.Unlock()
	}
}

// Claimed returns the endpoint that claimed a dialog, or nil. It does not
// allocate for keys up to 256 bytes. Any goroutine.
func (d *Dispatcher) Claimed(callID, localTag []byte) *Endpoint {
	var kb [keyBuf]byte
	k := appendDialogKey(kb[:0], callID, localTag)
	sh := d.claimShard(k)
	sh.mu.RLock()
	e := sh.m[string(k)]
	sh.mu.RUnlock()
	if e != nil && e.owner.Load() != d {
		return nil // removed meanwhile
	}
	return e
}

// dropClaims detaches e from d and drops its claims.
func (d *Dispatcher) dropClaims(e *Endpoint) {
	e.mu.Lock()
	e.owner.Store(nil)
	keys := e.claims
	e.claims = nil
	e.mu.Unlock()
	for k := range keys {
		sh := d.claimShard([]byte(k))
		sh.mu.Lock()
		if sh.m[k] == e {
			delete(sh.m, k)
		}
		sh.mu.Unlock()
	}
}
