package loadgen

import (
	"maps"
	"slices"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latency histogram range: 1 µs resolution up to 1 minute, 3 significant
// digits.
const (
	histLowest  = int64(time.Microsecond)
	histHighest = int64(time.Minute)
	histDigits  = 3
)

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, histDigits)
}

// Result is what a run measured.
type Result struct {
	Conns    int    // connections that were opened
	Sent     uint64 // requests handed to a connection
	Answered uint64 // final responses matched to a request, any status
	OK       uint64 // of which 2xx

	Timeouts     uint64         // requests without a final response within Config.Timeout
	Lost         uint64         // requests outstanding when their connection broke or the run ended
	ConnErrors   uint64         // failed dials and connections broken during the run
	BadResponses uint64         // responses that did not parse or matched no request
	Late         uint64         // responses that came after their request timed out (not errors)
	Codes        map[int]uint64 // final responses other than 2xx, by status code
	ConnError    error          // the first dial or connection error, if any

	// Unsent counts, in a paced run (Config.Rate), the requests that fell
	// due and were never sent: the target or the connection could not keep
	// the rate (every pipeline slot waiting, or more than a second behind).
	// Not an error: Rate shows what was achieved.
	Unsent uint64

	// Elapsed runs from the first request sent to the last response
	// received (or to the end of the run when nothing was answered).
	Elapsed time.Duration

	hist *hdrhistogram.Histogram // latency of answered requests, in ns
}

// Errors returns the number of errors of every kind.
func (r *Result) Errors() uint64 {
	n := r.Timeouts + r.Lost + r.ConnErrors + r.BadResponses
	for _, v := range r.Codes {
		n += v
	}
	return n
}

// Rate returns the answered requests per second.
func (r *Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Answered) / r.Elapsed.Seconds()
}

// Percentile returns the latency below which q percent (0 to 100) of the
// answered requests fall, 0 when none was answered.
func (r *Result) Percentile(q float64) time.Duration {
	if r.hist == nil || r.hist.TotalCount() == 0 {
		return 0
	}
	return time.Duration(r.hist.ValueAtPercentile(q))
}

// MaxLatency returns the highest latency recorded.
func (r *Result) MaxLatency() time.Duration {
	if r.hist == nil || r.hist.TotalCount() == 0 {
		return 0
	}
	return time.Duration(r.hist.Max())
}

// MeanLatency returns the mean latency.
func (r *Result) MeanLatency() time.Duration {
	if r.hist == nil || r.hist.TotalCount() == 0 {
		return 0
	}
	return time.Duration(r.hist.Mean())
}

// ErrorCodes returns the status codes of Codes in increasing order.
func (r *Result) ErrorCodes() []int {
	return slices.Sorted(maps.Keys(r.Codes))
}

// Progress is a snapshot of a running Generator.
type Progress struct {
	Elapsed  time.Duration // since Run started
	Sent     uint64
	Answered uint64
	Errors   uint64
}
