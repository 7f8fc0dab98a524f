package loadgen

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress draws the state of a run on w: one line redrawn in place on a
// terminal, a plain line per second otherwise.
type progress struct {
	w        io.Writer
	tty      bool
	duration time.Duration
	expected int64
	r        *run
	start    time.Time
	draining atomic.Bool
	pending  atomic.Int64
	quit     chan struct{}
	wg       sync.WaitGroup
}

func newProgress(w io.Writer, tty bool, d time.Duration, expected int64, r *run) *progress {
	p := &progress{w: w, tty: tty, duration: d, expected: expected, r: r, start: time.Now(), quit: make(chan struct{})}
	if w == nil {
		return p
	}
	every := time.Second
	if tty {
		every = 200 * time.Millisecond
	}
	p.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				p.draw(true)
				return
			case <-t.C:
				p.draw(false)
			}
		}
	})
	return p
}

func (p *progress) phase(string)     { p.draining.Store(true) }
func (p *progress) setPending(n int) { p.pending.Store(int64(n)) }
func (p *progress) stop()            { close(p.quit); p.wg.Wait() }

// draw writes the current state; last ends a TTY line.
func (p *progress) draw(last bool) {
	el := time.Since(p.start)
	frac := min(float64(el)/float64(p.duration), 1)
	const width = 30
	fill := int(frac * width)
	bar := "[" + strings.Repeat("=", fill) + strings.Repeat(" ", width-fill) + "]"
	terminal := "-"
	if p.r.obs != nil {
		terminal = fmt.Sprint(p.r.obs.count())
	}
	line := fmt.Sprintf("%s %3.0f%% %5.1fs sent %d accepted %d failed %d terminal %s",
		bar, frac*100, el.Seconds(), p.r.sent.Load(), p.r.ok.Load(), p.r.failed.Load(), terminal)
	if p.draining.Load() {
		line += fmt.Sprintf(" draining: %d not terminal", p.pending.Load())
	}
	switch {
	case p.tty && last:
		fmt.Fprintf(p.w, "\r\033[K%s\n", line)
	case p.tty:
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	default:
		fmt.Fprintln(p.w, line)
	}
}
