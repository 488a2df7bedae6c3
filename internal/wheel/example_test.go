package wheel_test

import (
	"fmt"
	"time"

	"github.com/sipcm/sipcm/internal/wheel"
)

// conn is a connection with an idle timeout kept by lazy timestamps.
type conn struct {
	name       string
	lastActive time.Duration // the only thing a message touches
	idle       wheel.Entry[*conn]
}

// Example shows lazy timestamps: messages only store their time, and the
// expiry callback re-arms the entry for the time remaining when the
// connection was active since it was armed.
func Example() {
	const timeout = 10 * time.Second
	var clock wheel.FakeClock
	var w *wheel.Wheel[*conn]
	w = wheel.New(wheel.Config{Tick: time.Second}, clock.Now(), func(c *conn, now time.Duration) {
		if due := c.lastActive + timeout; due > now {
			w.Add(&c.idle, due) // active since: sleep again
			return
		}
		fmt.Printf("%s idle at %v\n", c.name, now)
	})

	busy, quiet := &conn{name: "busy"}, &conn{name: "quiet"}
	for _, c := range []*conn{busy, quiet} {
		c.idle.Value = c
		c.lastActive = clock.Now()
		w.Add(&c.idle, c.lastActive+timeout)
	}
	for range 25 {
		now := clock.Add(time.Second)
		if now <= 15*time.Second {
			busy.lastActive = now // one store per message
		}
		w.Advance(now)
	}
	// Output:
	// quiet idle at 10s
	// busy idle at 25s
}
