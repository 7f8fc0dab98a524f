package projection

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Offsets is a position in the projection's topics: per partition, the
// offset of a record. A projection has reached it when every one of those
// records is applied (its checkpoint is past each offset). It is the
// consistency token of read-your-writes.
type Offsets map[TopicPartition]int64

// String encodes o as an opaque token, "topic:partition:offset" joined by
// commas in a stable order (topic names cannot contain ':' or ',').
func (o Offsets) String() string {
	parts := make([]string, 0, len(o))
	for tp, off := range o {
		parts = append(parts, tp.Topic+":"+strconv.FormatInt(int64(tp.Partition), 10)+":"+strconv.FormatInt(off, 10))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// ParseOffsets decodes a token made by Offsets.String. A bad token is
// ErrInvalid.
func ParseOffsets(s string) (Offsets, error) {
	o := Offsets{}
	if s == "" {
		return o, nil
	}
	for _, part := range strings.Split(s, ",") {
		f := strings.Split(part, ":")
		if len(f) != 3 || f[0] == "" {
			return nil, fmt.Errorf("%w: token part %.64q: want topic:partition:offset", ErrInvalid, part)
		}
		p, err1 := strconv.ParseInt(f[1], 10, 32)
		off, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || p < 0 || off < 0 {
			return nil, fmt.Errorf("%w: token part %.64q: bad partition or offset", ErrInvalid, part)
		}
		o[TopicPartition{f[0], int32(p)}] = off
	}
	return o, nil
}

// reached reports whether the next offsets cover o.
func (o Offsets) reached(next map[TopicPartition]int64) bool {
	for tp, off := range o {
		if n, ok := next[tp]; !ok || n <= off {
			return false
		}
	}
	return true
}

// WaitFor waits until the projection has applied every record of want,
// or ctx ends: then it returns an error matching ErrStale (and ctx's
// error), so the caller can answer with a stale marker. It is woken by this
// runner's commits and also re-reads the stored checkpoints every
// WithWaitPoll, so it works when another process applies.
func (r *Runner) WaitFor(ctx context.Context, want Offsets) error {
	if len(want) == 0 {
		return nil
	}
	tick := time.NewTicker(r.cfg.waitPoll)
	defer tick.Stop()
	for first := true; ; first = false {
		r.mu.Lock()
		ok := want.reached(r.next)
		ch := r.changed
		r.mu.Unlock()
		if ok {
			return nil
		}
		if first || !r.leader.Load() {
			stored, err := Checkpoints(ctx, r.db, r.p.Name())
			if err == nil && want.reached(stored) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s has not reached %s: %w", ErrStale, r.p.Name(), want, ctx.Err())
		case <-ch:
		case <-tick.C:
			stored, err := Checkpoints(ctx, r.db, r.p.Name())
			if err == nil && want.reached(stored) {
				return nil
			}
		}
	}
}

// Status is a snapshot of a runner.
type Status struct {
	Projection string
	// Leader is true while Run holds the projection (on PostgreSQL: its
	// advisory lock).
	Leader bool
	// Partitions lists the consumed partitions, sorted.
	Partitions []PartitionStatus
	// Applied counts events applied; Duplicates events skipped because
	// their id was applied before; Skipped events skipped with an error
	// recorded (malformed, or poison under SkipEvent); Poisoned events that
	// exhausted their retries; Parked events parked under ParkKey (the
	// failing ones and those behind them).
	Applied, Duplicates, Skipped, Poisoned, Parked int64
}

// PartitionStatus is one partition's position.
type PartitionStatus struct {
	Topic     string
	Partition int32
	// Next is the next offset to apply (-1: nothing applied yet).
	Next int64
	// HighWatermark is the partition's end as last fetched (0 if unknown);
	// Lag is HighWatermark - Next when both are known.
	HighWatermark, Lag int64
	// Stopped is the poison event the partition stopped at
	// (StopPartition), or nil.
	Stopped *PoisonError
}

// Status returns the runner's current position and counters.
func (r *Runner) Status() Status {
	st := Status{Projection: r.p.Name(), Leader: r.leader.Load(),
		Applied: r.applied.Load(), Duplicates: r.duplicates.Load(), Skipped: r.skipped.Load(), Poisoned: r.poisoned.Load(), Parked: r.parked.Load()}
	r.mu.Lock()
	for tp, next := range r.next {
		ps := PartitionStatus{Topic: tp.Topic, Partition: tp.Partition, Next: next, HighWatermark: r.hw[tp], Stopped: r.stopped[tp]}
		if ps.HighWatermark > 0 {
			ps.Lag = ps.HighWatermark - max(next, 0)
		}
		st.Partitions = append(st.Partitions, ps)
	}
	r.mu.Unlock()
	sort.Slice(st.Partitions, func(i, j int) bool {
		a, b := st.Partitions[i], st.Partitions[j]
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		return a.Partition < b.Partition
	})
	return st
}
