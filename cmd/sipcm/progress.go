package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/sipcm/sipcm/internal/loadgen"
)

const progressEvery = 250 * time.Millisecond

// progress shows a running load on a terminal: a bar over the requests or
// the duration, with the rate and the errors so far.
type progress struct {
	done, stopped chan struct{}
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// startProgress starts the goroutine that updates the display; stop ends it.
func startProgress(g *loadgen.Generator, w io.Writer) *progress {
	cfg := g.Config()
	byCount := cfg.Requests > 0
	total := max(int64(cfg.Duration/time.Millisecond), 1)
	if byCount {
		total = int64(cfg.Requests)
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(progressEvery/2),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetRenderBlankState(true),
	)
	p := &progress{done: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(p.stopped)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		var last loadgen.Progress
		for {
			select {
			case <-p.done:
				_ = bar.Finish()
				return
			case <-t.C:
			}
			pr := g.Progress()
			rate := float64(pr.Answered-last.Answered) / progressEvery.Seconds()
			last = pr
			bar.Describe(fmt.Sprintf("sent %d  answered %d  %.0f req/s  errors %d", pr.Sent, pr.Answered, rate, pr.Errors))
			if byCount {
				_ = bar.Set64(int64(min(pr.Sent, cfg.Requests)))
			} else {
				_ = bar.Set64(min(int64(pr.Elapsed/time.Millisecond), total))
			}
		}
	}()
	return p
}

// stop ends the display and waits for its goroutine.
func (p *progress) stop() {
	close(p.done)
	<-p.stopped
}
