package pool_test

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/sipcm/sipcm/pool"
)

// memConn is a stand-in for the engine's connection.
type memConn struct {
	id     uint64
	broken atomic.Bool
}

func (c *memConn) ID() uint64        { return c.id }
func (c *memConn) Broken() bool      { return c.broken.Load() }
func (c *memConn) Stats() pool.Stats { return pool.Stats{} }
func (c *memConn) Close() error      { c.broken.Store(true); return nil }

func Example() {
	var next uint64
	dial := pool.DialFunc(func(ctx context.Context, k pool.Key) (pool.Conn, error) {
		next++ // the engine dials k.Host:k.Port on a loop here
		return &memConn{id: next}, nil
	})
	m, err := pool.NewManager(pool.Config{DefaultSize: 2}, dial)
	if err != nil {
		panic(err)
	}
	defer m.Close()

	h, err := m.Acquire(pool.Key{Host: "proxy.example.net", Port: 5061, Transport: pool.TLS})
	if err != nil {
		panic(err)
	}
	defer h.Release()
	var ids []uint64
	for i := 0; i < 5; i++ {
		c, err := h.Get(context.Background(), 0)
		if err != nil {
			panic(err)
		}
		ids = append(ids, c.ID())
	}
	fmt.Println(ids)
	for _, pi := range m.Pools() {
		fmt.Println(pi.Key, pi.Size, len(pi.Conns))
	}
	// Output:
	// [1 2 1 2 1]
	// tls:proxy.example.net:5061 2 2
}

func ExamplePool_SetSize() {
	var next uint64
	dial := pool.DialFunc(func(ctx context.Context, k pool.Key) (pool.Conn, error) {
		next++
		return &memConn{id: next}, nil
	})
	m, _ := pool.NewManager(pool.Config{DefaultSize: pool.Unlimited}, dial)
	defer m.Close()
	k := pool.Key{Host: "10.0.0.7", Port: 5060, Transport: pool.TCP}
	a, _ := m.Acquire(k)
	b, _ := m.Acquire(k)
	ca, _ := a.Get(context.Background(), 0)
	cb, _ := b.Get(context.Background(), 0)
	fmt.Println("unlimited: own connections", ca.ID(), cb.ID())

	a.Pool().SetSize(1) // share one connection from now on
	ca, _ = a.Get(context.Background(), 0)
	cb, _ = b.Get(context.Background(), 0)
	fmt.Println("size 1: shared connection", ca.ID(), cb.ID())
	// Output:
	// unlimited: own connections 1 2
	// size 1: shared connection 3 3
}
