package consumerpeer

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/causeway-dev/causeway/sqldb"
	"github.com/twmb/franz-go/pkg/kgo"
)

func (h *Harness) groupClient(group string, extra ...kgo.Opt) (*kgo.Client, error) {
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(h.Brokers...),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(h.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}, extra...)
	return kgo.NewClient(opts...)
}

// RunRaw consumes the topic with plain franz-go and no database: the
// ceiling. It checks per-key order from the seq header.
func (h *Harness) RunRaw(ctx context.Context, group string) (Result, error) {
	cl, err := h.groupClient(group)
	if err != nil {
		return Result{}, err
	}
	defer cl.Close()
	p := newProgress(h.Events)
	last := make(map[string]int, h.Keys)
	ooo := 0
	p.begin()
	for p.count() < h.Events {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return Result{}, fmt.Errorf("raw: handled %d: %w", p.count(), err)
		}
		if err := fs.Err0(); err != nil {
			return Result{}, fmt.Errorf("raw: %w", err)
		}
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			seq := recordSeq(r)
			if seq != last[string(r.Key)]+1 {
				ooo++
			}
			last[string(r.Key)] = seq
			n++
		})
		p.add(n)
	}
	res := p.result()
	res.OutOfOrder = ooo
	return res, nil
}

func recordSeq(r *kgo.Record) int {
	for _, h := range r.Headers {
		if h.Key == SeqHeader {
			n, _ := strconv.Atoi(string(h.Value))
			return n
		}
	}
	return 0
}

// RunNaive consumes with plain franz-go and one SQLite transaction per
// event (decode, dedup, effect), committing offsets after each poll's
// transactions have committed.
func (h *Harness) RunNaive(ctx context.Context, db *sqldb.DB, group string) (Result, error) {
	work, err := NewWork(ctx, db)
	if err != nil {
		return Result{}, err
	}
	defer work.Close()
	cl, err := h.groupClient(group, kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll())
	if err != nil {
		return Result{}, err
	}
	defer cl.Close()
	p := newProgress(h.Events)
	dups := 0
	p.begin()
	for p.count() < h.Events {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return Result{}, fmt.Errorf("naive: handled %d: %w", p.count(), err)
		}
		if err := fs.Err0(); err != nil {
			return Result{}, fmt.Errorf("naive: %w", err)
		}
		var herr error
		fs.EachRecord(func(r *kgo.Record) {
			if herr != nil {
				return
			}
			var fresh bool
			herr = db.InTx(ctx, func(tx *sqldb.Tx) error {
				var err error
				fresh, err = h.handleOne(ctx, work, tx, group, r.Value)
				return err
			})
			if herr == nil {
				if fresh {
					p.add(1)
				} else {
					dups++
				}
			}
		})
		if herr != nil {
			return Result{}, fmt.Errorf("naive: %w", herr)
		}
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			return Result{}, fmt.Errorf("naive: commit: %w", err)
		}
		cl.AllowRebalance()
	}
	res := p.result()
	res.Duplicates = dups
	return res, nil
}

// handleOne decodes value, dedups it for group and applies the effect.
func (h *Harness) handleOne(ctx context.Context, work *Work, tx *sqldb.Tx, group string, value []byte) (fresh bool, err error) {
	env, err := h.Codec.Decode(value)
	if err != nil {
		return false, err
	}
	fresh, err = work.Dedup(ctx, tx, group, env.EventID)
	if err != nil || !fresh {
		return false, err
	}
	return true, work.Effect(ctx, tx, env)
}

// BatchCap is the most records the hand-rolled batching side puts in one
// transaction (DESIGN.md's peer run capped batches at 500).
const BatchCap = 500

// RunFranzBatch consumes with plain franz-go and one SQLite transaction per
// fetched partition batch (at most BatchCap records), partitions handled
// concurrently, offsets committed after every transaction of the poll
// committed. This is the hand-rolled reference the runtime should match.
func (h *Harness) RunFranzBatch(ctx context.Context, db *sqldb.DB, group string) (Result, error) {
	work, err := NewWork(ctx, db)
	if err != nil {
		return Result{}, err
	}
	defer work.Close()
	cl, err := h.groupClient(group, kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll())
	if err != nil {
		return Result{}, err
	}
	defer cl.Close()
	p := newProgress(h.Events)
	var (
		mu   sync.Mutex
		dups int
		txs  int
	)
	p.begin()
	for p.count() < h.Events {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return Result{}, fmt.Errorf("franzbatch: handled %d: %w", p.count(), err)
		}
		if err := fs.Err0(); err != nil {
			return Result{}, fmt.Errorf("franzbatch: %w", err)
		}
		var (
			wg   sync.WaitGroup
			errs = make(chan error, 64)
		)
		fs.EachPartition(func(ftp kgo.FetchTopicPartition) {
			recs := ftp.Records
			if len(recs) == 0 {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for len(recs) > 0 {
					n := min(len(recs), BatchCap)
					batch := recs[:n]
					recs = recs[n:]
					fresh, d := 0, 0
					err := db.InTx(ctx, func(tx *sqldb.Tx) error {
						fresh, d = 0, 0
						for _, r := range batch {
							ok, err := h.handleOne(ctx, work, tx, group, r.Value)
							if err != nil {
								return err
							}
							if ok {
								fresh++
							} else {
								d++
							}
						}
						return nil
					})
					if err != nil {
						errs <- err
						return
					}
					p.add(fresh)
					mu.Lock()
					dups += d
					txs++
					mu.Unlock()
				}
			}()
		})
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return Result{}, fmt.Errorf("franzbatch: %w", err)
		}
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			return Result{}, fmt.Errorf("franzbatch: commit: %w", err)
		}
		cl.AllowRebalance()
	}
	res := p.result()
	res.Duplicates = dups
	if txs > 0 {
		res.MeanBatch = float64(res.Handled+dups) / float64(txs)
	}
	return res, nil
}
