package projection

import (
	"context"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/sqldb"
)

// advanced records that items were processed into the shadow.
func (b *rebuilder) advanced(items []item, st applyStats) {
	last := items[len(items)-1].msg
	if last.Partition >= 0 {
		b.shadowNext[TopicPartition{last.Topic, last.Partition}] = last.Offset + 1
	}
	b.done += int64(st.applied + st.duplicates + st.skipped + st.parked)
	b.report(b.phase, false)
}

// report calls the progress callback, at most every progressInterval
// unless force.
func (b *rebuilder) report(phase Phase, force bool) {
	b.phase = phase
	if b.rc.progress == nil {
		return
	}
	now := time.Now()
	if !force && now.Sub(b.lastProgress) < b.rc.progressInterval {
		return
	}
	b.lastProgress = now
	b.total = max(b.total, b.done)
	p := Progress{Phase: phase, Done: b.done, Total: b.total, Elapsed: now.Sub(b.start)}
	if secs := p.Elapsed.Seconds(); secs > 0 {
		p.Rate = float64(b.done) / secs
	}
	if p.Rate > 0 {
		p.ETA = time.Duration(float64(p.Total-p.Done) / p.Rate * float64(time.Second))
	}
	b.rc.progress(p)
}

// swap applies the tail and swaps the shadow in, in one transaction that
// holds the projection's state lock (pausing the live runner).
func (b *rebuilder) swap(ctx context.Context) (RebuildResult, error) {
	r, name := b.r, b.r.p.Name()
	b.report(PhaseSwap, true)
	swapStart := time.Now()
	sctx, cancel := context.WithTimeout(ctx, b.rc.swapTimeout)
	defer cancel()
	var final map[TopicPartition]int64
	err := r.db.InTx(sctx, func(tx *sqldb.Tx) error {
		if _, _, err := lockState(sctx, tx, name); err != nil {
			return err
		}
		live, err := readCheckpoints(sctx, tx, name)
		if err != nil {
			return err
		}
		for b.lag(live) > 0 {
			if err := b.pollApply(sctx, 100*time.Millisecond, tx); err != nil {
				return fmt.Errorf("projection %s: swap tail: %w", name, err)
			}
		}
		names := append([]string{seenTable(name)}, r.schema.TableNames()...)
		for _, n := range names {
			if _, err := tx.ExecContext(sctx, `DROP TABLE IF EXISTS `+n); err != nil {
				return fmt.Errorf("projection %s: drop live %s: %w", name, n, err)
			}
			if _, err := tx.ExecContext(sctx, `ALTER TABLE `+n+shadowSuffix+` RENAME TO `+n); err != nil {
				return fmt.Errorf("projection %s: rename %s: %w", name, n+shadowSuffix, err)
			}
		}
		stmts := []struct {
			q    string
			args []any
		}{
			{`DELETE FROM projection_checkpoints WHERE projection = $1`, []any{name}},
			{`UPDATE projection_checkpoints SET projection = $1 WHERE projection = $2`, []any{name, b.shadow.cpName}},
			{`DELETE FROM projection_errors WHERE projection = $1`, []any{name}},
			{`UPDATE projection_errors SET projection = $1 WHERE projection = $2`, []any{name, b.shadow.cpName}},
			{`DELETE FROM projection_parked WHERE projection = $1`, []any{name}},
			{`UPDATE projection_parked SET projection = $1 WHERE projection = $2`, []any{name, b.shadow.cpName}},
			{`UPDATE projection_state SET generation = $1, updated_at = $2 WHERE projection = $3`, []any{b.gen, time.Now().UnixMilli(), name}},
		}
		for _, s := range stmts {
			if _, err := tx.ExecContext(sctx, s.q, s.args...); err != nil {
				return fmt.Errorf("projection %s: swap: %w", name, err)
			}
		}
		final, err = readCheckpoints(sctx, tx, name)
		return err
	})
	if err != nil {
		return RebuildResult{}, err
	}
	res := RebuildResult{Events: b.done, Generation: b.gen, Checkpoints: final,
		Duration: time.Since(b.start), SwapDuration: time.Since(swapStart)}
	b.report(PhaseDone, true)
	r.cfg.log.Info("projection rebuilt", "projection", name, "events", res.Events, "generation", res.Generation,
		"duration", res.Duration, "swap", res.SwapDuration)
	return res, nil
}
