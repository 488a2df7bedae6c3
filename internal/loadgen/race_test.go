//go:build race

package loadgen

// raceEnabled is true when the race detector is on: it allocates and slows
// everything down, so allocation counts mean nothing.
const raceEnabled = true
