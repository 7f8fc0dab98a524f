package consumer

import (
	"context"
	"time"
)

// Group commit (SQLite). SQLite has one writer connection, so partition
// workers that each ran their own transaction would only queue for it.
// Instead they hand their ready lane batches to one writer goroutine,
// which takes every submission already waiting (up to groupMax records)
// and runs them in one transaction; while it runs, the next submissions
// queue up and form the next transaction. Each worker waits for the
// result of its own submission, so a worker still has at most one round
// in flight and per-key order, watermarks and retries work as with one
// transaction per lane. On PostgreSQL the lanes keep their own parallel
// transactions.

// submission is one worker's round: its lane batches and, once done is
// closed, the transaction's error.
type submission struct {
	w    *worker
	bs   []*laneBatch
	err  error
	done chan struct{}
}

// groupMax bounds the records of one group-commit transaction (soft: the
// last submission taken may overshoot it by one round of one worker).
func (r *Runner) groupMax() int { return 4 * r.cfg.batchMax }

// submit hands bs to the writer and waits for its transaction's result
// (the worker's context error if it was cancelled before the writer took
// the batches).
func (w *worker) submit(bs []*laneBatch) error {
	if err := w.ctx.Err(); err != nil {
		return err // do not cancel the others' transaction
	}
	s := &submission{w: w, bs: bs, done: make(chan struct{})}
	select {
	case w.r.subs <- s:
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
	<-s.done
	return s.err
}

// writeLoop is the group-commit writer; it returns when stop is closed.
func (r *Runner) writeLoop(stop <-chan struct{}) {
	limit := r.groupMax()
	for {
		var first *submission
		select {
		case first = <-r.subs:
		case <-stop:
			return
		}
		subs := []*submission{first}
		n := first.records()
	drain:
		for n < limit {
			select {
			case s := <-r.subs:
				subs = append(subs, s)
				n += s.records()
			default:
				break drain
			}
		}
		var bs []*laneBatch
		// The transaction is cancelled when any of its workers is (a
		// shutdown that overran its bound); the others retry their batches.
		ctx, cancel := context.WithCancel(context.Background())
		stops := make([]func() bool, 0, len(subs))
		for _, s := range subs {
			bs = append(bs, s.bs...)
			stops = append(stops, context.AfterFunc(s.w.ctx, cancel))
		}
		err := r.runBatches(ctx, bs)
		if err == nil {
			r.metrics.batches.Add(1)
		}
		for _, f := range stops {
			f()
		}
		cancel()
		for _, s := range subs {
			s.err = err
			close(s.done)
		}
	}
}

func (s *submission) records() int {
	n := 0
	for _, b := range s.bs {
		n += len(b.items)
	}
	return n
}

// runRound runs the worker's lane batches: through the group-commit writer
// on SQLite, else one transaction per lane, the lanes in parallel. It then
// applies the outcomes.
func (w *worker) runRound(bs []*laneBatch) {
	r := w.r
	if r.subs != nil {
		err := w.submit(bs)
		now := time.Now()
		for _, b := range bs {
			b.finish(err, now)
		}
		return
	}
	errs := make([]error, len(bs))
	if len(bs) == 1 {
		errs[0] = r.runBatches(w.ctx, bs)
	} else {
		done := make(chan struct{}, len(bs))
		for i, b := range bs {
			go func() {
				errs[i] = r.runBatches(w.ctx, []*laneBatch{b})
				done <- struct{}{}
			}()
		}
		for range bs {
			<-done
		}
	}
	now := time.Now()
	for i, b := range bs {
		if errs[i] == nil {
			r.metrics.batches.Add(1)
		}
		b.finish(errs[i], now)
	}
}
