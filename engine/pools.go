package engine

import (
	"cmp"
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sipcm/sipcm/dispatch"
	"github.com/sipcm/sipcm/pool"
)

// poolConn is a pooled connection as package pool sees it. It is made
// before the dial and bound to its Conn before the Conn is published.
type poolConn struct {
	c   *Conn
	key pool.Key
}

// ID implements pool.Conn. Any goroutine.
func (p *poolConn) ID() uint64 { return p.c.id }

// Broken implements pool.Conn: the connection has closed. Any goroutine.
func (p *poolConn) Broken() bool { return p.c.closed.Load() }

// Close implements pool.Conn: it starts the close and returns. Any
// goroutine.
func (p *poolConn) Close() error { return p.c.Close() }

// Stats implements pool.Conn: the connection's counters, with the requests
// outstanding on it as its in-flight work. Any goroutine.
func (p *poolConn) Stats() pool.Stats {
	c := p.c
	return pool.Stats{
		InFlight:    int64(c.m.disp.Outstanding(c.id)),
		MessagesIn:  c.msgsIn.load(),
		MessagesOut: c.msgsOut.load(),
		BytesIn:     c.bytesIn.load(),
		BytesOut:    c.bytesOut.load(),
		LastActive:  c.m.epoch.Add(time.Duration(c.lastActive.Load())),
	}
}

// poolDialer dials the pools' connections on the manager's loops.
type poolDialer struct{ m *Manager }

// Dial implements pool.Dialer. It blocks; the pools call it off the loops.
func (d poolDialer) Dial(ctx context.Context, k pool.Key) (pool.Conn, error) {
	network, address, err := dialTarget(k)
	if err != nil {
		return nil, err
	}
	pc := &poolConn{key: k}
	if _, err := d.m.dial(ctx, network, address, pc); err != nil {
		return nil, err
	}
	return pc, nil
}

// DialAsync implements pool.AsyncDialer with a dial on a goroutine the
// manager owns (it waits for it in Close). Any goroutine.
func (d poolDialer) DialAsync(ctx context.Context, k pool.Key, done func(pool.Conn, error)) error {
	network, address, err := dialTarget(k)
	if err != nil {
		return err
	}
	pc := &poolConn{key: k}
	return d.m.dialAsync(ctx, network, address, pc, func(_ *Conn, err error) {
		if err != nil {
			done(nil, err)
			return
		}
		done(pc, nil)
	})
}

// dialTarget returns what to dial for k.
func dialTarget(k pool.Key) (network, address string, err error) {
	if k.Transport != pool.TCP && k.Transport != pool.TLS {
		return "", "", &wrapped{msg: "engine: cannot dial transport " + k.Transport.String(), err: ErrTransport}
	}
	host := k.Host
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return "tcp", net.JoinHostPort(host, strconv.Itoa(int(k.Port))), nil
}

// PoolKey returns the key of the pool the manager's endpoints of group use
// to reach dst: dst's host as given, its port (0 means 5060 for TCP and
// 5061 for TLS), its transport ("TCP" or "TLS", any case; empty means TCP)
// and group as the identity. Any goroutine.
func PoolKey(dst dispatch.Dest, group string) (pool.Key, error) {
	k := pool.Key{Host: dst.Host, Port: dst.Port, Identity: group}
	switch {
	case dst.Transport == "" || strings.EqualFold(dst.Transport, "TCP"):
		k.Transport = pool.TCP
		if k.Port == 0 {
			k.Port = 5060
		}
	case strings.EqualFold(dst.Transport, "TLS"):
		k.Transport = pool.TLS
		if k.Port == 0 {
			k.Port = 5061
		}
	default:
		return k, &wrapped{msg: "engine: unknown transport " + strconv.Quote(dst.Transport), err: ErrTransport}
	}
	if k.Host == "" {
		return k, &wrapped{msg: "engine: destination without host", err: pool.ErrKey}
	}
	return k, nil
}

// DefaultPoolSize returns the size of the pools that have no size of their
// own (Config.PoolSize, or as SetDefaultPoolSize changed it). Any
// goroutine.
func (m *Manager) DefaultPoolSize() int { return m.pools.DefaultSize() }

// SetDefaultPoolSize changes the default pool size, also of the live pools
// that follow it: 1 to pool.MaxSize, or pool.Unlimited. Growing lets the
// next sends open connections; shrinking retires the surplus ones once
// their outstanding requests are done. Any goroutine.
func (m *Manager) SetDefaultPoolSize(n int) error { return m.pools.SetDefaultSize(n) }

// SetPoolSize sets the size of the pool for k (see PoolKey), now if it is
// live and whenever it is made again; 0 makes it follow the default size
// again. Any goroutine.
func (m *Manager) SetPoolSize(k pool.Key, n int) error { return m.pools.SetKeySize(k, n) }

// Pools returns a snapshot of the live pools, ordered by key: each with its
// key, size, references (endpoints) and connections (state, age, idle time,
// in-flight requests, messages and bytes). Safe while traffic flows. Any
// goroutine.
func (m *Manager) Pools() []pool.PoolInfo {
	ps := m.pools.Pools()
	slices.SortFunc(ps, func(a, b pool.PoolInfo) int {
		return cmp.Or(cmp.Compare(a.Key.Host, b.Key.Host), cmp.Compare(a.Key.Port, b.Key.Port),
			cmp.Compare(a.Key.Transport, b.Key.Transport), cmp.Compare(a.Key.Identity, b.Key.Identity))
	})
	return ps
}

// dropPooled tells c's pool that c closed, so that its slot is refilled at
// once. Loop only (OnClose).
func (m *Manager) dropPooled(c *Conn) {
	if c.pc == nil {
		return
	}
	if p := m.pools.Pool(c.pc.key); p != nil {
		p.Drop(c.pc)
	}
}
