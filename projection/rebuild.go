package projection

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/sqldb"
)

// Phase names a stage of a rebuild.
type Phase string

// Rebuild phases, in order.
const (
	PhaseHistory Phase = "history" // replaying the History
	PhaseTopics  Phase = "topics"  // reading the topics from their start
	PhaseSwap    Phase = "swap"    // applying the tail and swapping, live runner paused
	PhaseDone    Phase = "done"
)

// Progress is a rebuild's progress, for a progress bar.
type Progress struct {
	Phase Phase
	// Done counts the events processed so far; it never decreases.
	Done int64
	// Total estimates the events to process: the History's length plus
	// the topics' records. It grows with live traffic and is ≥ Done.
	Total int64
	// Rate is Done per second of Elapsed; ETA is (Total-Done)/Rate.
	Rate    float64
	ETA     time.Duration
	Elapsed time.Duration
}

// RebuildResult describes a finished rebuild.
type RebuildResult struct {
	// Events counts the events processed (applied, duplicates, skipped).
	Events int64
	// Generation is the generation of the tables now live.
	Generation int64
	// Checkpoints are the live checkpoints right after the swap.
	Checkpoints map[TopicPartition]int64
	Duration    time.Duration
	// SwapDuration is how long the live projection was paused.
	SwapDuration time.Duration
}

// RebuildOption configures Rebuild.
type RebuildOption interface{ applyRebuild(*rebuildConfig) }

type rebuildOptFunc func(*rebuildConfig)

func (f rebuildOptFunc) applyRebuild(c *rebuildConfig) { f(c) }

type rebuildConfig struct {
	history          History
	progress         func(Progress)
	progressInterval time.Duration
	swapLag          int64
	swapTimeout      time.Duration
	allowTruncated   bool
}

// WithHistory replays h (e.g. EventStoreHistory) before the topics.
func WithHistory(h History) RebuildOption {
	return rebuildOptFunc(func(c *rebuildConfig) { c.history = h })
}

// WithProgress calls fn with the progress at most every WithProgressInterval
// (default 250ms) and at every phase change, from the rebuilding goroutine.
func WithProgress(fn func(Progress)) RebuildOption {
	return rebuildOptFunc(func(c *rebuildConfig) { c.progress = fn })
}

// WithProgressInterval sets how often progress is reported (and the live
// position re-read).
func WithProgressInterval(d time.Duration) RebuildOption {
	return rebuildOptFunc(func(c *rebuildConfig) { c.progressInterval = d })
}

// WithSwapLag sets how close (in records, over all partitions) the shadow
// must be to the live checkpoints before the swap starts (default 1000);
// the rest is applied during the swap, with the live runner paused.
func WithSwapLag(n int64) RebuildOption {
	return rebuildOptFunc(func(c *rebuildConfig) { c.swapLag = n })
}

// WithSwapTimeout bounds the swap's pause (default 30s); past it the
// rebuild rolls back and fails, and the live model stays as it was.
func WithSwapTimeout(d time.Duration) RebuildOption {
	return rebuildOptFunc(func(c *rebuildConfig) { c.swapTimeout = d })
}

// WithAllowTruncated lets a rebuild without a History go on although a
// partition's log no longer starts at offset 0 (the model will miss the
// deleted records).
func WithAllowTruncated() RebuildOption {
	return rebuildOptFunc(func(c *rebuildConfig) { c.allowTruncated = true })
}

// Rebuild rebuilds the projection from scratch into shadow tables
// ("<table>__shadow") and swaps them in atomically. The projection must
// implement Schema. It works whether or not a runner of the projection is
// running, in this process or another: live queries read the live tables
// until the swap.
//
//  1. The shadow tables are (re)created under the next generation.
//  2. The History, if any, is replayed into them, then the topics are read
//     from their start, in batches of one transaction each, the shadow's
//     checkpoints stored under "<name>__shadow".
//  3. Once the shadow is within WithSwapLag of the live checkpoints, one
//     transaction locks the projection's state row — which pauses the live
//     runner, whose every batch takes that lock first — applies the tail
//     up to the live checkpoints, drops the live tables, renames the
//     shadow ones, and makes the shadow's checkpoints the live ones. After
//     the commit the live runner finds the stored checkpoints moved and
//     seeks to them.
//
// A failed or cancelled rebuild leaves the live model untouched; the next
// rebuild drops the leftover shadow. Only one rebuild of a projection may
// run at a time (on PostgreSQL an advisory lock enforces it).
func (r *Runner) Rebuild(ctx context.Context, opts ...RebuildOption) (RebuildResult, error) {
	rc := rebuildConfig{progressInterval: 250 * time.Millisecond, swapLag: 1000, swapTimeout: 30 * time.Second}
	for _, o := range opts {
		if o != nil {
			o.applyRebuild(&rc)
		}
	}
	name := r.p.Name()
	switch {
	case r.schema == nil:
		return RebuildResult{}, ErrNoSchema
	case rc.history != nil && !r.cfg.dedup:
		return RebuildResult{}, fmt.Errorf("%w: a rebuild with a History needs dedup", ErrInvalid)
	case rc.progressInterval <= 0 || rc.swapLag < 0 || rc.swapTimeout <= 0:
		return RebuildResult{}, fmt.Errorf("%w: rebuild options", ErrInvalid)
	}
	if r.db.Dialect == sqldb.Postgres {
		lock := r.db.SessionLock(lockKey(r.db, "rebuild", name))
		ok, err := lock.Ensure(ctx)
		if err != nil {
			return RebuildResult{}, err
		}
		if !ok {
			return RebuildResult{}, fmt.Errorf("projection %s: another rebuild is running", name)
		}
		defer lock.Release()
	}
	if err := r.Setup(ctx); err != nil {
		return RebuildResult{}, err
	}
	b := &rebuilder{r: r, rc: rc, start: time.Now(), shadowNext: map[TopicPartition]int64{}}
	if err := b.prepare(ctx); err != nil {
		return RebuildResult{}, err
	}
	res, err := b.run(ctx)
	if err != nil {
		r.cfg.log.Error("projection: rebuild failed", "projection", name, "err", err)
	}
	return res, err
}

type rebuilder struct {
	r      *Runner
	rc     rebuildConfig
	shadow *target
	gen    int64
	start  time.Time

	cl  *kgo.Client
	adm *kadm.Client

	shadowNext   map[TopicPartition]int64
	done, total  int64
	historyLen   int64
	phase        Phase
	lastProgress time.Time
}

// prepare drops a leftover shadow and creates a fresh one.
func (b *rebuilder) prepare(ctx context.Context) error {
	r, name := b.r, b.r.p.Name()
	return r.db.InTx(ctx, func(tx *sqldb.Tx) error {
		gen, _, err := lockState(ctx, tx, name)
		if err != nil {
			return err
		}
		b.gen = gen + 1
		t := Tables{shadow: true, generation: b.gen}
		b.shadow = newTarget(r.p, r.cfg, t)
		if err := dropTables(ctx, tx, name, r.schema, t); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM projection_checkpoints WHERE projection = $1`, `DELETE FROM projection_errors WHERE projection = $1`, `DELETE FROM projection_parked WHERE projection = $1`} {
			if _, err := tx.ExecContext(ctx, q, b.shadow.cpName); err != nil {
				return fmt.Errorf("projection %s: clear shadow: %w", name, err)
			}
		}
		return createTables(ctx, tx, name, r.schema, t)
	})
}

func (b *rebuilder) run(ctx context.Context) (RebuildResult, error) {
	r := b.r
	cl, err := kgo.NewClient(append(slices.Clone(r.cfg.kafkaOpts), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		return RebuildResult{}, fmt.Errorf("projection %s: kafka client: %w", r.p.Name(), err)
	}
	defer cl.Close()
	b.cl, b.adm = cl, kadm.NewClient(cl)

	if h := b.rc.history; h != nil {
		if b.historyLen, err = h.Len(ctx); err != nil {
			return RebuildResult{}, err
		}
	}
	if err := b.watchTopics(ctx); err != nil {
		return RebuildResult{}, err
	}
	if h := b.rc.history; h != nil {
		b.report(PhaseHistory, true)
		err := h.Replay(ctx, func(msgs []Message) error {
			items := make([]item, len(msgs))
			for i, m := range msgs {
				env, err := r.dec.Upcast(m.Envelope)
				if err != nil {
					items[i] = item{msg: m, decodeErr: err, eventType: m.Envelope.EventType}
					continue
				}
				m.Envelope = env
				items[i] = item{msg: m, eventType: env.EventType}
			}
			return b.applyCommitted(ctx, items)
		})
		if err != nil {
			return RebuildResult{}, err
		}
	}
	b.report(PhaseTopics, true)
	lastWatch := time.Now()
	for {
		if time.Since(lastWatch) >= time.Second {
			if err := b.watchTopics(ctx); err != nil {
				return RebuildResult{}, err
			}
			lastWatch = time.Now()
		}
		live, err := Checkpoints(ctx, b.r.db, b.r.p.Name())
		if err != nil {
			return RebuildResult{}, err
		}
		b.report(PhaseTopics, false)
		if b.lag(live) <= b.rc.swapLag {
			break
		}
		if err := b.pollApply(ctx, 200*time.Millisecond, nil); err != nil {
			return RebuildResult{}, err
		}
	}
	if err := b.watchTopics(ctx); err != nil { // partitions added meanwhile
		return RebuildResult{}, err
	}
	return b.swap(ctx)
}

// watchTopics adds partitions not consumed yet from their start, and
// refreshes the total; a new partition that no longer starts at 0 is
// ErrHistoryTruncated unless there is a History or WithAllowTruncated.
func (b *rebuilder) watchTopics(ctx context.Context) error {
	topics := b.r.p.Topics()
	starts, err := b.adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("projection %s: list start offsets: %w", b.r.p.Name(), err)
	}
	ends, err := b.adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("projection %s: list end offsets: %w", b.r.p.Name(), err)
	}
	add := map[string]map[int32]kgo.Offset{}
	total := b.historyLen
	var errs []error
	starts.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			errs = append(errs, fmt.Errorf("%s/%d: %w", o.Topic, o.Partition, o.Err))
			return
		}
		tp := TopicPartition{o.Topic, o.Partition}
		if e, ok := ends.Lookup(o.Topic, o.Partition); ok && e.Err == nil {
			total += e.Offset - o.Offset
		}
		if _, ok := b.shadowNext[tp]; ok {
			return
		}
		if o.Offset > 0 && b.rc.history == nil && !b.rc.allowTruncated {
			errs = append(errs, fmt.Errorf("%w: %s/%d starts at offset %d", ErrHistoryTruncated, o.Topic, o.Partition, o.Offset))
			return
		}
		// The shadow starts where the log does: a partition that retention
		// emptied (start = end = the live checkpoint) has nothing left to
		// read and is caught up (with -1 the swap waited for records that
		// would never come, and timed out).
		b.shadowNext[tp] = o.Offset
		if add[o.Topic] == nil {
			add[o.Topic] = map[int32]kgo.Offset{}
		}
		add[o.Topic][o.Partition] = kgo.NewOffset().AtStart()
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("projection %s: rebuild: %w", b.r.p.Name(), err)
	}
	if len(add) > 0 {
		b.cl.AddConsumePartitions(add)
	}
	b.total = max(b.total, total)
	return nil
}

// lag sums how far the shadow is behind live.
func (b *rebuilder) lag(live map[TopicPartition]int64) int64 {
	var lag int64
	for tp, next := range live {
		if sn := b.shadowNext[tp]; next > sn {
			lag += next - max(sn, 0)
		}
	}
	return lag
}

// pollApply polls once (for at most wait) and applies the records, one
// transaction per partition batch, or all in tx when tx is not nil.
func (b *rebuilder) pollApply(ctx context.Context, wait time.Duration, tx *sqldb.Tx) error {
	pctx, cancel := context.WithTimeout(ctx, wait)
	fetches := b.cl.PollRecords(pctx, 8*b.r.cfg.batchMax)
	cancel()
	if err := ctx.Err(); err != nil {
		return err
	}
	var batches [][]item
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		tp := TopicPartition{fp.Topic, fp.Partition}
		var items []item
		for _, rec := range fp.Records {
			if rec.Offset < b.shadowNext[tp] {
				continue
			}
			m := Message{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Key: rec.Key, Timestamp: rec.Timestamp}
			items = append(items, decodeRecord(b.r.dec, b.r.cfg.contracts, m, rec.Value))
			if len(items) == b.r.cfg.batchMax {
				batches = append(batches, items)
				items = nil
			}
		}
		if len(items) > 0 {
			batches = append(batches, items)
		}
	})
	for _, items := range batches {
		var err error
		if tx != nil {
			err = b.applyIn(ctx, tx, items)
		} else {
			err = b.applyCommitted(ctx, items)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// applyIn applies items inside the swap transaction; any failure aborts
// the rebuild.
//
// Under SkipEvent and ParkKey an event that cannot be decoded (unknown type
// or version: no retry would help) is skipped or parked here as in the
// earlier phases, so a poison event that arrives during the swap does not
// fail the rebuild.
func (b *rebuilder) applyIn(ctx context.Context, tx *sqldb.Tx, items []item) error {
	if pol := b.r.cfg.policy; pol == SkipEvent || pol == ParkKey {
		for i, it := range items {
			if it.decodeErr == nil || skippable(it.decodeErr) {
				continue
			}
			if i > 0 {
				if err := b.applyIn(ctx, tx, items[:i]); err != nil {
					return err
				}
			}
			action, st := actionSkipped, applyStats{skipped: 1}
			if pol == ParkKey && it.msg.Partition >= 0 {
				action, st = actionParked, applyStats{parked: 1}
				if err := parkItem(ctx, tx, b.shadow.cpName, it, it.decodeErr.Error()); err != nil {
					return err
				}
			}
			if err := recordError(ctx, tx, b.shadow.cpName, it.msg, it.eventType, kindDecode, action, it.decodeErr, 1); err != nil {
				return err
			}
			if it.msg.Partition >= 0 {
				if err := upsertCheckpoint(ctx, tx, b.shadow.cpName, TopicPartition{it.msg.Topic, it.msg.Partition}, it.msg.Offset+1); err != nil {
					return err
				}
			}
			b.advanced(items[i:i+1], st)
			if i+1 < len(items) {
				return b.applyIn(ctx, tx, items[i+1:])
			}
			return nil
		}
	}
	st, err := b.shadow.apply(ctx, tx, items)
	if err != nil {
		var f *applyFailure
		if errors.As(err, &f) {
			it := items[f.index]
			return &PoisonError{Projection: b.r.p.Name(), Topic: it.msg.Topic, Partition: it.msg.Partition,
				Offset: it.msg.Offset, EventID: it.msg.Envelope.EventID, Attempts: 1, Err: f.err}
		}
		return err
	}
	b.advanced(items, st)
	return nil
}

// applyCommitted applies items into the shadow in transactions of their
// own, retrying a failing event and then applying the poison policy
// (StopPartition fails the rebuild).
func (b *rebuilder) applyCommitted(ctx context.Context, items []item) error {
	attempts := 0
	for len(items) > 0 {
		var st applyStats
		err := b.r.db.InTx(ctx, func(tx *sqldb.Tx) error {
			var err error
			st, err = b.shadow.apply(ctx, tx, items)
			return err
		})
		if err == nil {
			b.advanced(items, st)
			return nil
		}
		var f *applyFailure
		if !errors.As(err, &f) {
			return err
		}
		if f.index > 0 { // commit what comes before the failing event
			if err := b.applyCommitted(ctx, items[:f.index]); err != nil {
				return err
			}
			items = items[f.index:]
			continue
		}
		attempts++
		it := items[0]
		if it.decodeErr == nil && attempts < b.r.cfg.maxAttempts {
			if !sleepCtx(ctx, b.r.backoff(attempts)) {
				return ctx.Err()
			}
			continue
		}
		perr := &PoisonError{Projection: b.r.p.Name(), Topic: it.msg.Topic, Partition: it.msg.Partition,
			Offset: it.msg.Offset, EventID: it.msg.Envelope.EventID, Attempts: attempts, Err: f.err}
		park := b.r.cfg.policy == ParkKey && it.msg.Partition >= 0
		if b.r.cfg.policy != SkipEvent && !park {
			return perr
		}
		kind := kindApply
		if it.decodeErr != nil {
			kind = kindDecode
		}
		if err := b.r.db.InTx(ctx, func(tx *sqldb.Tx) error {
			action := actionSkipped
			if park {
				action = actionParked
				if err := parkItem(ctx, tx, b.shadow.cpName, it, f.err.Error()); err != nil {
					return err
				}
			}
			if err := recordError(ctx, tx, b.shadow.cpName, it.msg, it.eventType, kind, action, f.err, attempts); err != nil {
				return err
			}
			if it.msg.Partition < 0 {
				return nil
			}
			return upsertCheckpoint(ctx, tx, b.shadow.cpName, TopicPartition{it.msg.Topic, it.msg.Partition}, it.msg.Offset+1)
		}); err != nil {
			return err
		}
		b.advanced(items[:1], applyStats{skipped: 1})
		items, attempts = items[1:], 0
	}
	return nil
}
