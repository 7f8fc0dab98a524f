package consumer

import (
	"context"
	"errors"
	"time"

	"github.com/causeway-dev/causeway/sqldb"
)

// A lane batch is the ready records of one lane of one partition (offset
// order per key, at most WithBatchMax). One or more lane batches run in one
// transaction (see runBatches): on PostgreSQL each lane batch has its own
// transaction and the lanes run in parallel; on SQLite, which has one
// writer, the group-commit writer (writer.go) puts the lane batches of all
// partitions that are ready at the same time into one transaction.
//
// A transaction first runs every batch optimistically ("fast" mode): one
// park check for all keys, one multi-row dedup insert for all event ids
// (RETURNING the new ones), then the handler for each new event, with no
// savepoints. Handlers rarely fail; when one does, the whole transaction
// is rolled back, the failure is remembered, and the transaction is run
// again with that batch in "safe" mode: per record SAVEPOINT → dedup
// insert → handler → RELEASE, so the failing record is rolled back alone
// and only its key is held back. The remembered failure is reused rather
// than calling the handler for that record again, so each real failure is
// one attempt. Every pass turns at least one more batch safe, so a
// transaction runs at most len(batches)+1 times.

// laneBatch is one lane's ready records of one partition.
type laneBatch struct {
	w     *worker
	items []*item
	res   []outcome
	errs  []error
	// known holds handler failures seen in an optimistic pass, by item
	// index; safe is set once the batch had one.
	known map[int]error
	safe  bool
}

func newLaneBatch(w *worker, items []*item) *laneBatch {
	return &laneBatch{w: w, items: items, res: make([]outcome, len(items)), errs: make([]error, len(items))}
}

// optimisticFailure aborts a fast-mode transaction: item i of b failed.
type optimisticFailure struct {
	b   *laneBatch
	i   int
	err error
}

func (*optimisticFailure) Error() string { return "consumer: handler failed in optimistic pass" }

// runBatches handles bs in one transaction, re-running it in safe mode
// for the batches whose handler failed optimistically. It returns a
// database error (nothing of bs happened) or nil (the outcomes in each
// batch's res and errs are committed).
func (r *Runner) runBatches(ctx context.Context, bs []*laneBatch) error {
	for {
		err := r.db.InTx(ctx, func(tx *sqldb.Tx) error { return r.batchTx(ctx, tx, bs) })
		var of *optimisticFailure
		if !errors.As(err, &of) {
			return err
		}
		if of.b.known == nil {
			of.b.known = make(map[int]error)
		}
		of.b.known[of.i] = of.err
		of.b.safe = true
	}
}

// fastCand is one record the fast pass hands to the handler unless it is a
// duplicate.
type fastCand struct {
	b *laneBatch
	i int
}

// batchTx is the body of a batch transaction.
func (r *Runner) batchTx(ctx context.Context, tx *sqldb.Tx, bs []*laneBatch) error {
	n := 0
	for _, b := range bs {
		clear(b.res)
		clear(b.errs)
		n += len(b.items)
	}
	keys := func() []string {
		out := make([]string, 0, n)
		seen := make(map[string]struct{}, n)
		for _, b := range bs {
			for _, it := range b.items {
				if _, ok := seen[string(it.rec.Key)]; !ok {
					seen[string(it.rec.Key)] = struct{}{}
					out = append(out, string(it.rec.Key))
				}
			}
		}
		return out
	}
	// The park check must be the transaction's first statement (it takes
	// the share locks on PostgreSQL).
	parkedKeys, err := parkedAmong(ctx, tx, r.group, keys)
	if err != nil {
		return err
	}

	// Fast batches: park, sort out undecodable records, collect the rest.
	cands := make([]fastCand, 0, n)
	ids := make([]string, 0, n)
	idSeen := make(map[string]struct{}, n)
	for _, b := range bs {
		if b.safe {
			continue
		}
		blocked := make(map[string]bool)
		for i, it := range b.items {
			k := string(it.rec.Key)
			switch {
			case blocked[k]:
				continue
			case parkedKeys[k]:
				if err := parkRecord(ctx, tx, r.group, it.rec); err != nil {
					return err
				}
				b.res[i] = parked
			case it.decErr != nil:
				b.res[i], b.errs[i] = undecodable, it.decErr
				blocked[k] = true
			default:
				cands = append(cands, fastCand{b, i})
				if _, ok := idSeen[it.env.EventID]; !ok {
					idSeen[it.env.EventID] = struct{}{}
					ids = append(ids, it.env.EventID)
				}
			}
		}
	}
	if len(ids) > 0 {
		fresh, err := insertProcessed(ctx, tx, r.group, ids)
		if err != nil {
			return err
		}
		for _, c := range cands {
			it := c.b.items[c.i]
			if _, ok := fresh[it.env.EventID]; ok {
				delete(fresh, it.env.EventID) // the first record of an id runs; later ones are duplicates
				if herr := r.fast.Handle(ctx, tx, c.b.w.message(it)); herr != nil {
					return &optimisticFailure{b: c.b, i: c.i, err: herr}
				}
			}
			c.b.res[c.i] = handled
		}
	}

	// Safe batches: a savepoint per record.
	for _, b := range bs {
		if !b.safe {
			continue
		}
		blocked := make(map[string]bool)
		for i, it := range b.items {
			k := string(it.rec.Key)
			switch {
			case blocked[k]:
				continue
			case parkedKeys[k]:
				if err := parkRecord(ctx, tx, r.group, it.rec); err != nil {
					return err
				}
				b.res[i] = parked
			case it.decErr != nil:
				b.res[i], b.errs[i] = undecodable, it.decErr
				blocked[k] = true
			default:
				herr, ok := b.known[i]
				if !ok {
					if herr, err = r.handleInSavepoint(ctx, tx, b.w.message(it)); err != nil {
						return err
					}
				}
				if herr != nil {
					b.res[i], b.errs[i] = failed, herr
					blocked[k] = true
					continue
				}
				b.res[i] = handled
			}
		}
	}
	return nil
}

// finish applies the outcome of b's transaction (err: it was rolled back)
// to its items: done, retry later, or dead-letter next.
func (b *laneBatch) finish(err error, now time.Time) {
	w := b.w
	r := w.r
	if err != nil {
		// Nothing of the lane happened; try it again after a pause.
		r.log.Error("consumer: batch transaction failed", "topic", w.tp.topic,
			"partition", w.tp.partition, "records", len(b.items), "error", err)
		// A deadlock victim (PostgreSQL) runs again after a short pause;
		// any other failure waits longer.
		wait := 3
		if sqldb.IsConflict(err) {
			wait = 1
		}
		for _, it := range b.items {
			it.notBefore = now.Add(r.cfg.backoff.Delay(wait))
		}
		return
	}
	for i, it := range b.items {
		switch b.res[i] {
		case handled:
			it.done = true
			r.metrics.handled.Add(1)
		case parked:
			it.done = true
			r.metrics.parked.Add(1)
		case undecodable:
			it.attempts, it.firstFail, it.lastFail, it.lastErr = 1, now, now, b.errs[i]
			it.letter = true
		case failed:
			r.metrics.failures.Add(1)
			it.attempts++
			if it.firstFail.IsZero() {
				it.firstFail = now
			}
			it.lastFail, it.lastErr = now, b.errs[i]
			if it.attempts >= r.cfg.maxAttempts || IsPermanent(b.errs[i]) {
				it.letter = true
				continue
			}
			it.notBefore = now.Add(r.cfg.backoff.Delay(it.attempts))
			r.log.Debug("consumer: handler failed, will retry", "topic", it.rec.Topic,
				"partition", it.rec.Partition, "offset", it.rec.Offset, "attempt", it.attempts, "error", b.errs[i])
		}
	}
}
