package relay

import "time"

// AckWait is how long an INVITE awaits the ACK of its non-2xx final
// response.
const AckWait = ackWait

// SetClock replaces the clock of r. Call it before r handles traffic.
func SetClock(r *Relay, now func() time.Duration) { r.now = now }
