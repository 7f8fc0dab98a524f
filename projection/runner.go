package projection

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/sqldb"
)

// Runner keeps one projection up to date: it reads the projection's topics
// by direct partition assignment from the offsets stored with the model and
// applies each partition's records in batches, one transaction per batch
// that also stores the partition's next offset (the small batches of one
// poll's partitions share one). See the package documentation for the
// guarantees.
//
// A Runner's methods are safe for concurrent use; Run runs once.
type Runner struct {
	db     *sqldb.DB
	dec    Decoder
	p      Projection
	schema Schema
	cfg    config
	live   *target

	started atomic.Bool
	leader  atomic.Bool

	mu      sync.Mutex
	next    map[TopicPartition]int64 // committed next offset (-1: none yet)
	hw      map[TopicPartition]int64 // high watermarks seen in fetches
	stopped map[TopicPartition]*PoisonError
	changed chan struct{} // closed and replaced on every commit
	// resync holds the partitions sought to their stored checkpoint
	// (fence) whose records have not restarted there yet, with the number
	// of re-seeks: records polled before the seek may follow, and
	// applying them would skip the records between the checkpoint and
	// them.
	resync map[TopicPartition]int

	applied, duplicates, skipped, poisoned, parked atomic.Int64
}

// New returns a runner for p on db, decoding record values with dec.
// Migrations() must have been applied to db.
func New(db *sqldb.DB, dec Decoder, p Projection, opts ...Option) (*Runner, error) {
	if db == nil || dec == nil {
		return nil, fmt.Errorf("%w: nil db or decoder", ErrInvalid)
	}
	s, err := validate(p)
	if err != nil {
		return nil, err
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Runner{
		db: db, dec: dec, p: p, schema: s, cfg: cfg,
		live:    newTarget(p, cfg, Tables{}),
		next:    map[TopicPartition]int64{},
		hw:      map[TopicPartition]int64{},
		stopped: map[TopicPartition]*PoisonError{},
		changed: make(chan struct{}),
		resync:  map[TopicPartition]int{},
	}, nil
}

// Setup creates the projection's live tables (Schema.Setup), its dedup
// table and its state row, unless they exist. Run calls it; the read
// service may call it earlier so queries find the tables before the first
// event.
func (r *Runner) Setup(ctx context.Context) error { return setupLive(ctx, r.db, r.p, r.schema) }

// Run sets the projection up and applies events until ctx is cancelled
// (then it returns nil, after the batch in flight committed or rolled
// back) or a fatal error occurs. On PostgreSQL it first waits for the
// projection's session advisory lock, so that of several instances on one
// database only one applies; if that lock is lost, Run returns an error.
func (r *Runner) Run(ctx context.Context) error {
	if !r.started.CompareAndSwap(false, true) {
		return ErrRunning
	}
	if r.db.Dialect == sqldb.Postgres {
		lock := r.db.SessionLock(lockKey(r.db, "run", r.p.Name()))
		defer lock.Release()
		for {
			ok, err := lock.Ensure(ctx)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				r.cfg.log.Warn("projection: leader lock", "projection", r.p.Name(), "err", err)
			}
			if !ok {
				if !sleepCtx(ctx, r.cfg.leaderRetry) {
					return nil
				}
				continue
			}
			r.leader.Store(true)
			err = r.run(ctx, lock)
			r.leader.Store(false)
			if ctx.Err() != nil || !errors.Is(err, errLostLeader) {
				return err
			}
			// The lock went with its connection (a PostgreSQL restart, say):
			// stand for election again, and start over from the checkpoints
			// (another runner may have moved them meanwhile).
			r.cfg.log.Warn("projection: lost the leader lock; standing again", "projection", r.p.Name(), "err", err)
			r.mu.Lock()
			r.next, r.hw = map[TopicPartition]int64{}, map[TopicPartition]int64{}
			r.stopped = map[TopicPartition]*PoisonError{}
			r.mu.Unlock()
			if !sleepCtx(ctx, r.cfg.leaderRetry) {
				return nil
			}
		}
	}
	r.leader.Store(true)
	defer r.leader.Store(false)
	return r.run(ctx, nil)
}

// errLostLeader: the runner's PostgreSQL session lock was lost while it
// ran; Run stands for election again.
var errLostLeader = errors.New("lost the leader lock")

func (r *Runner) run(ctx context.Context, lock *sqldb.SessionLock) error {
	if err := r.Setup(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	cl, err := kgo.NewClient(append(slices.Clone(r.cfg.kafkaOpts), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		return fmt.Errorf("projection %s: kafka client: %w", r.p.Name(), err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	r.cfg.log.Info("projection runner started", "projection", r.p.Name(), "topics", r.p.Topics())

	// Two stages, so that decoding overlaps the database: the fetch stage
	// polls, decodes and discovers partitions; this goroutine applies.
	ch := make(chan fetched, 2)
	fctx, fcancel := context.WithCancel(ctx)
	go func() {
		defer close(ch)
		r.fetchLoop(fctx, cl, adm, lock, ch)
	}()
	defer func() {
		fcancel()
		for range ch {
		}
	}()
	for f := range ch {
		if f.err != nil {
			return f.err
		}
		if err := r.poll(ctx, cl, f.parts); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}

// fetched is one poll's decoded records, per partition, or the fetch
// stage's fatal error.
type fetched struct {
	parts []partItems
	err   error
}

type partItems struct {
	tp    TopicPartition
	items []item
}

// fetchLoop polls, decodes and sends the records to ch until ctx ends; it
// also looks for new partitions and checks the leader lock every
// WithPartitionWatch.
func (r *Runner) fetchLoop(ctx context.Context, cl *kgo.Client, adm *kadm.Client, lock *sqldb.SessionLock, ch chan<- fetched) {
	var lastWatch time.Time
	for ctx.Err() == nil {
		if time.Since(lastWatch) >= r.cfg.partitionWatch {
			if err := r.discover(ctx, cl, adm); err != nil && ctx.Err() == nil {
				r.cfg.log.Warn("projection: partition discovery", "projection", r.p.Name(), "err", err)
			}
			lastWatch = time.Now()
			if lock != nil {
				if ok, err := lock.Ensure(ctx); !ok && ctx.Err() == nil {
					select {
					case ch <- fetched{err: fmt.Errorf("projection %s: %w: %v", r.p.Name(), errLostLeader, err)}:
					case <-ctx.Done():
					}
					return
				}
			}
		}
		pctx, cancel := context.WithTimeout(ctx, r.cfg.partitionWatch)
		fetches := cl.PollRecords(pctx, 8*r.cfg.batchMax)
		cancel()
		if ctx.Err() != nil {
			return
		}
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				r.cfg.log.Warn("projection: fetch", "projection", r.p.Name(), "topic", t, "partition", p, "err", err)
			}
		})
		var f fetched
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			tp := TopicPartition{fp.Topic, fp.Partition}
			r.mu.Lock()
			r.hw[tp] = fp.HighWatermark
			next := r.next[tp]
			r.mu.Unlock()
			items := make([]item, 0, len(fp.Records))
			for _, rec := range fp.Records {
				if rec.Offset < next {
					continue
				}
				m := Message{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Key: rec.Key, Timestamp: rec.Timestamp}
				items = append(items, decodeRecord(r.dec, r.cfg.contracts, m, rec.Value))
			}
			if len(items) > 0 {
				f.parts = append(f.parts, partItems{tp, items})
			}
		})
		if len(f.parts) == 0 {
			continue
		}
		select {
		case ch <- f:
		case <-ctx.Done():
			return
		}
	}
}

// discover adds the partitions of the topics that are not consumed yet,
// at their stored checkpoint (or the log start).
func (r *Runner) discover(ctx context.Context, cl *kgo.Client, adm *kadm.Client) error {
	details, err := adm.ListTopics(ctx, r.p.Topics()...)
	if err != nil {
		return err
	}
	var stored map[TopicPartition]int64
	add := map[string]map[int32]kgo.Offset{}
	var errs []error
	for _, d := range details.Sorted() {
		if d.Err != nil {
			errs = append(errs, fmt.Errorf("topic %s: %w", d.Topic, d.Err))
			continue
		}
		for _, pd := range d.Partitions.Sorted() {
			tp := TopicPartition{d.Topic, pd.Partition}
			r.mu.Lock()
			_, known := r.next[tp]
			r.mu.Unlock()
			if known {
				continue
			}
			if stored == nil {
				if stored, err = readCheckpoints(ctx, r.db.Read, r.p.Name()); err != nil {
					return err
				}
			}
			off := kgo.NewOffset().AtStart()
			next, ok := stored[tp]
			if ok {
				off = kgo.NewOffset().At(next)
			} else {
				next = -1
			}
			r.mu.Lock()
			r.next[tp] = next
			r.mu.Unlock()
			if add[tp.Topic] == nil {
				add[tp.Topic] = map[int32]kgo.Offset{}
			}
			add[tp.Topic][tp.Partition] = off
			r.cfg.log.Debug("projection: consuming partition", "projection", r.p.Name(), "topic", tp.Topic, "partition", tp.Partition, "from", next)
		}
	}
	if len(add) > 0 {
		cl.AddConsumePartitions(add)
	}
	return errors.Join(errs...)
}

// pending returns those of one partition's fetched, decoded records that
// are to be applied now: none when the partition is stopped, or when the
// records were polled before a seek (then it seeks again); else those
// from the partition's next offset on.
func (r *Runner) pending(cl *kgo.Client, tp TopicPartition, all []item) []item {
	r.mu.Lock()
	next := r.next[tp]
	_, stopped := r.stopped[tp]
	r.mu.Unlock()
	if stopped {
		return nil
	}
	items := all[:0]
	for _, it := range all {
		if it.msg.Offset >= next { // earlier ones are left over from a reseek
			items = append(items, it)
		}
	}
	r.mu.Lock()
	reseeks, resyncing := r.resync[tp]
	if resyncing && len(items) > 0 {
		if items[0].msg.Offset == next || reseeks >= 3 { // restarted at the checkpoint (or a real gap)
			delete(r.resync, tp)
		} else {
			// Polled before the seek, past a gap: drop, and seek again in
			// case the seek raced with the poll that returned them.
			r.resync[tp] = reseeks + 1
			r.mu.Unlock()
			cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{tp.Topic: {tp.Partition: {Epoch: -1, Offset: next}}})
			return nil
		}
	}
	r.mu.Unlock()
	return items
}

// partition applies items, pending records of tp, in batches of at most
// WithBatchMax records, one transaction each; a record that cannot be
// applied is retried alone, then the poison policy applies. failed, if
// not nil, reports that items[failed.index] (within the first batch)
// already failed in a transaction that was rolled back: that was its
// batch's try, so only the records before it are applied in the first
// batch before it is retried.
func (r *Runner) partition(ctx context.Context, cl *kgo.Client, tp TopicPartition, items []item, failed *applyFailure) error {
	for len(items) > 0 {
		n := min(len(items), r.cfg.batchMax)
		var (
			done  int
			cause error
			err   error
		)
		if failed != nil && failed.index < n {
			done, cause = failed.index, failed.err
			if done > 0 {
				var d int
				var c error
				if d, c, err = r.batch(ctx, cl, tp, items[:done]); err == nil && d < done {
					done, cause = d, c // an earlier record failed this time
				}
			}
		} else {
			done, cause, err = r.batch(ctx, cl, tp, items[:n])
		}
		failed = nil
		switch {
		case errors.Is(err, errMoved):
			return nil // the stored checkpoint moved: records are refetched from it
		case err != nil:
			return err
		}
		items = items[done:]
		if done < n {
			// items[0] failed: retry it alone, then apply the policy.
			ok, err := r.retry(ctx, cl, tp, items[0], cause)
			if err != nil {
				if errors.Is(err, errMoved) {
					return nil
				}
				return err
			}
			if !ok {
				return nil // stopped
			}
			items = items[1:]
		}
	}
	return nil
}

// errMoved: the stored checkpoint is not where this runner left it (a
// rebuild swapped a model in, or another instance applied); the runner
// seeks to it.
var errMoved = errors.New("projection: checkpoint moved")

// batch applies items in one transaction and returns how many committed:
// all of them, or those before the first that failed (which the caller
// retries), with its error. Database errors are retried here with backoff
// until ctx ends.
func (r *Runner) batch(ctx context.Context, cl *kgo.Client, tp TopicPartition, items []item) (int, error, error) {
	var cause error // of items[len(items)], once a failure shortened items
	for attempt := 1; ; {
		st, fail, err := r.tryBatch(ctx, cl, tp, items)
		if err == nil {
			if fail == nil {
				r.count(st)
				return len(items), cause, nil
			}
			if fail.index == 0 {
				return 0, fail.err, nil
			}
			items, cause = items[:fail.index], fail.err // commit what comes before the failing item
			continue
		}
		if errors.Is(err, errMoved) || ctx.Err() != nil {
			return 0, nil, err
		}
		r.cfg.log.Warn("projection: batch failed, retrying", "projection", r.p.Name(), "topic", tp.Topic, "partition", tp.Partition, "err", err)
		if !sleepCtx(ctx, r.backoff(attempt)) {
			return 0, nil, ctx.Err()
		}
		attempt++
	}
}

// tryBatch runs one transaction: lock the state row, check the stored
// checkpoint is where this runner left it, apply, commit. An Apply failure
// rolls back and is returned as fail.
func (r *Runner) tryBatch(ctx context.Context, cl *kgo.Client, tp TopicPartition, items []item) (st applyStats, fail *applyFailure, err error) {
	err = r.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if err := r.fence(ctx, cl, tx, tp); err != nil {
			return err
		}
		s, err := r.live.apply(ctx, tx, items)
		st = s
		return err
	})
	if errors.As(err, &fail) {
		return st, fail, nil
	}
	if err != nil {
		return st, nil, err
	}
	r.committed(tp, items[len(items)-1].msg.Offset+1)
	return st, nil, nil
}

// fence locks the state row and compares the stored checkpoint of tp with
// this runner's; when they differ it seeks to the stored one.
func (r *Runner) fence(ctx context.Context, cl *kgo.Client, tx *sqldb.Tx, tp TopicPartition) error {
	if err := r.lockState(ctx, tx); err != nil {
		return err
	}
	stored, err := readCheckpoint(ctx, tx, r.p.Name(), tp)
	if err != nil {
		return err
	}
	if r.seekIfMoved(cl, tp, stored) {
		return errMoved
	}
	return nil
}

// lockState locks the projection's state row for the rest of tx.
func (r *Runner) lockState(ctx context.Context, tx *sqldb.Tx) error {
	if _, ok, err := lockState(ctx, tx, r.p.Name()); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("projection %s: state row missing", r.p.Name())
	}
	return nil
}

// seekIfMoved compares stored, the stored checkpoint of tp (-1: none),
// with this runner's; when they differ it seeks to the stored one and
// reports true.
func (r *Runner) seekIfMoved(cl *kgo.Client, tp TopicPartition, stored int64) bool {
	r.mu.Lock()
	mine := r.next[tp]
	r.mu.Unlock()
	if stored == mine {
		return false
	}
	r.cfg.log.Info("projection: stored checkpoint moved, seeking", "projection", r.p.Name(),
		"topic", tp.Topic, "partition", tp.Partition, "mine", mine, "stored", stored)
	r.committed(tp, stored)
	if stored >= 0 {
		r.mu.Lock()
		r.resync[tp] = 0
		r.mu.Unlock()
		cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{tp.Topic: {tp.Partition: {Epoch: -1, Offset: stored}}})
	}
	return true
}

// retry tries the failing item alone until it applies, the attempts are
// used up (then the poison policy applies) or ctx ends. It reports whether
// the partition goes on.
func (r *Runner) retry(ctx context.Context, cl *kgo.Client, tp TopicPartition, it item, cause error) (bool, error) {
	attempts := 1 // the batch's
	for it.decodeErr == nil && attempts < r.cfg.maxAttempts {
		if !sleepCtx(ctx, r.backoff(attempts)) {
			return false, ctx.Err()
		}
		st, fail, err := r.tryBatch(ctx, cl, tp, []item{it})
		switch {
		case err != nil && (errors.Is(err, errMoved) || ctx.Err() != nil):
			return false, err
		case err != nil:
			r.cfg.log.Warn("projection: retry failed", "projection", r.p.Name(), "err", err)
		case fail == nil:
			r.count(st)
			return true, nil
		default:
			cause = fail.err
			attempts++
		}
	}
	if cause == nil {
		cause = it.decodeErr
	}
	perr := &PoisonError{Projection: r.p.Name(), Topic: tp.Topic, Partition: tp.Partition, Offset: it.msg.Offset,
		EventID: it.msg.Envelope.EventID, Attempts: attempts, Err: cause}
	kind := kindApply
	if it.decodeErr != nil {
		kind = kindDecode
	}
	r.poisoned.Add(1)
	if r.cfg.policy == SkipEvent {
		r.cfg.log.Error("projection: skipping event", "err", perr)
		err := r.db.InTx(ctx, func(tx *sqldb.Tx) error {
			if err := r.fence(ctx, cl, tx, tp); err != nil {
				return err
			}
			if err := recordError(ctx, tx, r.p.Name(), it.msg, it.eventType, kind, actionSkipped, cause, attempts); err != nil {
				return err
			}
			return upsertCheckpoint(ctx, tx, r.p.Name(), tp, it.msg.Offset+1)
		})
		if err != nil {
			return false, err
		}
		r.skipped.Add(1)
		r.committed(tp, it.msg.Offset+1)
		return true, nil
	}
	if r.cfg.policy == ParkKey {
		r.cfg.log.Error("projection: parking event and its key", "err", perr, "key", string(it.msg.Key))
		err := r.db.InTx(ctx, func(tx *sqldb.Tx) error {
			if err := r.fence(ctx, cl, tx, tp); err != nil {
				return err
			}
			if err := recordError(ctx, tx, r.p.Name(), it.msg, it.eventType, kind, actionParked, cause, attempts); err != nil {
				return err
			}
			if err := parkItem(ctx, tx, r.p.Name(), it, cause.Error()); err != nil {
				return err
			}
			return upsertCheckpoint(ctx, tx, r.p.Name(), tp, it.msg.Offset+1)
		})
		if err != nil {
			return false, err
		}
		r.parked.Add(1)
		r.committed(tp, it.msg.Offset+1)
		return true, nil
	}
	r.cfg.log.Error("projection: stopping partition", "err", perr)
	if err := r.db.InTx(ctx, func(tx *sqldb.Tx) error {
		return recordError(ctx, tx, r.p.Name(), it.msg, it.eventType, kind, actionStopped, cause, attempts)
	}); err != nil {
		return false, err
	}
	r.mu.Lock()
	r.stopped[tp] = perr
	r.mu.Unlock()
	cl.PauseFetchPartitions(map[string][]int32{tp.Topic: {tp.Partition}})
	return false, nil
}

func (r *Runner) count(st applyStats) {
	r.applied.Add(int64(st.applied))
	r.duplicates.Add(int64(st.duplicates))
	r.skipped.Add(int64(st.skipped))
	r.parked.Add(int64(st.parked))
}

// committed records tp's new next offset and wakes waiters.
func (r *Runner) committed(tp TopicPartition, next int64) {
	r.mu.Lock()
	r.next[tp] = next
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

func (r *Runner) backoff(attempt int) time.Duration {
	d := r.cfg.backoffMin << min(attempt-1, 20)
	if d > r.cfg.backoffMax || d <= 0 {
		d = r.cfg.backoffMax
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
