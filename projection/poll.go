package projection

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/sqldb"
)

// poll applies one poll's records, partition after partition, as
// partition does. The pending records of consecutive (distinct)
// partitions that fit in one batch (WithBatchMax records in all) share a
// transaction: under a
// steady load a poll brings a few records of each of many partitions, and
// a transaction's fixed work (the state lock, the checkpoints' read, the
// parked keys, the dedup insert, the commit) then comes once per poll
// instead of once per partition. The result is the same as one
// transaction per partition: the same statements in the same order, and
// each partition's checkpoint stored with its records' effects. Should
// that transaction fail in any way (a record that cannot be applied, the
// database, a moved checkpoint), it is rolled back and its partitions are
// applied one by one (partition), which retries and applies the poison
// policy as ever.
func (r *Runner) poll(ctx context.Context, cl *kgo.Client, parts []partItems) error {
	var group []partItems
	size := 0
	in := map[TopicPartition]bool{} // the partitions in group
	for _, pb := range parts {
		items := r.pending(cl, pb.tp, pb.items)
		if len(items) == 0 {
			continue
		}
		if len(group) > 0 && (size+len(items) > r.cfg.batchMax || in[pb.tp]) {
			if err := r.group(ctx, cl, group); err != nil {
				return err
			}
			group, size = nil, 0
			clear(in)
		}
		group = append(group, partItems{pb.tp, items})
		size += len(items)
		in[pb.tp] = true
	}
	return r.group(ctx, cl, group)
}

// group applies the pending records of the partitions of g: in one
// transaction when there are several, else as partition does.
func (r *Runner) group(ctx context.Context, cl *kgo.Client, g []partItems) error {
	switch len(g) {
	case 0:
		return nil
	case 1:
		return r.partition(ctx, cl, g[0].tp, g[0].items, nil)
	}
	st, moved, err := r.tryGroup(ctx, cl, g)
	if err == nil {
		r.count(st)
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	r.cfg.log.Debug("projection: poll transaction failed, applying its partitions one by one", "projection", r.p.Name(), "err", err)
	// A record that failed is one of a partition's: that try counts as the
	// first of its tries (WithRetry).
	var fail *applyFailure
	at := -1 // the failed record's index in the records of g, if one failed
	if errors.As(err, &fail) {
		at = fail.index
	}
	for _, pb := range g {
		var failed *applyFailure
		if 0 <= at && at < len(pb.items) {
			failed = &applyFailure{index: at, err: fail.err}
		}
		at -= len(pb.items)
		if moved[pb.tp] {
			continue // sought to its stored checkpoint: the records are fetched again
		}
		if err := r.partition(ctx, cl, pb.tp, pb.items, failed); err != nil {
			return err
		}
	}
	return nil
}

// tryGroup is tryBatch for the records of several partitions: one
// transaction that locks the state row, checks every partition's stored
// checkpoint, applies the records partition after partition and stores
// each partition's checkpoint. moved lists the partitions whose stored
// checkpoint was not this runner's (they were sought to it); any error
// means the transaction rolled back.
func (r *Runner) tryGroup(ctx context.Context, cl *kgo.Client, g []partItems) (st applyStats, moved map[TopicPartition]bool, err error) {
	err = r.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if err := r.lockState(ctx, tx); err != nil {
			return err
		}
		stored, err := readCheckpoints(ctx, tx, r.p.Name())
		if err != nil {
			return err
		}
		for _, pb := range g {
			next, ok := stored[pb.tp]
			if !ok {
				next = -1
			}
			if r.seekIfMoved(cl, pb.tp, next) {
				if moved == nil {
					moved = map[TopicPartition]bool{}
				}
				moved[pb.tp] = true
			}
		}
		if moved != nil {
			return errMoved
		}
		st, err = r.live.applyGroup(ctx, tx, g)
		return err
	})
	if err != nil {
		return st, moved, err
	}
	for _, pb := range g {
		r.committed(pb.tp, pb.items[len(pb.items)-1].msg.Offset+1)
	}
	return st, nil, nil
}

// applyGroup is apply for the items of several partitions, in order:
// applyItems over all of them, then the partitions' checkpoints (one
// statement).
func (t *target) applyGroup(ctx context.Context, tx *sqldb.Tx, g []partItems) (applyStats, error) {
	n := 0
	for _, pb := range g {
		n += len(pb.items)
	}
	all := make([]item, 0, n)
	for _, pb := range g {
		all = append(all, pb.items...)
	}
	st, err := t.applyItems(ctx, tx, all)
	if err != nil {
		return st, err
	}
	cps := make([]checkpoint, len(g))
	for i, pb := range g {
		cps[i] = checkpoint{pb.tp, pb.items[len(pb.items)-1].msg.Offset + 1}
	}
	return st, upsertCheckpoints(ctx, tx, t.cpName, cps)
}
