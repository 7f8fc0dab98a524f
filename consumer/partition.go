package consumer

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/sqldb"
)

// item is one fetched record that is not done yet.
type item struct {
	rec       *kgo.Record
	env       event.Envelope
	decErr    error
	attempts  int
	firstFail time.Time
	lastFail  time.Time
	lastErr   error
	notBefore time.Time
	letter    bool // retries exhausted (or not retryable): dead-letter it next
	done      bool
}

// worker owns one assigned partition: it holds the partition's unfinished
// records in offset order, runs them in lane transactions, schedules
// retries and dead letters, and publishes the done watermark.
type worker struct {
	r      *Runner
	tp     tp
	replay bool

	in       chan []*kgo.Record // fetched records, from the poll loop
	decoded  chan []*item       // the same, decoded, from the decode loop
	stop     chan struct{}
	stopOnce sync.Once
	exited   chan struct{}

	// ctx is cancelled when a stop overruns the shutdown bound.
	ctx        context.Context
	hardCancel context.CancelFunc

	retired bool // set under Runner.wmMu once the partition is given up

	pending   []*item // not done, in offset order
	next      int64   // offset after the last record seen, -1 before the first
	lastEpoch int32
}

func newWorker(r *Runner, k tp, replay bool) *worker {
	ctx, cancel := context.WithCancel(context.Background())
	return &worker{
		r: r, tp: k, replay: replay,
		in:      make(chan []*kgo.Record, 4),
		decoded: make(chan []*item, 8),
		stop:    make(chan struct{}),
		exited:  make(chan struct{}),
		ctx:     ctx, hardCancel: cancel,
		next: -1,
	}
}

func (w *worker) requestStop() { w.stopOnce.Do(func() { close(w.stop) }) }

func (w *worker) stopping() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

func (w *worker) run() {
	defer close(w.exited)
	go w.decodeLoop()
	for {
		w.absorb()
		if w.stopping() {
			return
		}
		worked, wait := w.step()
		if worked {
			w.compact()
			continue
		}
		var tc <-chan time.Time
		var timer *time.Timer
		if wait > 0 {
			timer = time.NewTimer(wait)
			tc = timer.C
		}
		in := w.decoded
		if len(w.pending) >= w.r.cfg.maxPending {
			in = nil
		}
		select {
		case <-w.stop:
		case its := <-in:
			w.add(its)
		case <-tc:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// absorb takes every batch already queued, up to the pending bound.
func (w *worker) absorb() {
	for len(w.pending) < w.r.cfg.maxPending {
		select {
		case its := <-w.decoded:
			w.add(its)
		default:
			return
		}
	}
}

// decodeLoop decodes fetched records for the worker, in a goroutine of
// its own, so the partition's next records are decoded while its current
// round waits for its transaction. A fetch may hold thousands of records
// of the partition; they are handed on in chunks of WithBatchMax, so the
// first transaction does not wait for the whole fetch to be decoded.
// Decoding is CPU work: the runner lets at most decodeSem's capacity of
// chunks be decoded at once, so that on SQLite the partitions' decoders
// leave a core to the group-commit writer, the serial part of the
// pipeline. It drops records seen already (a refetch) and exits when the
// worker stops.
func (w *worker) decodeLoop() {
	next := int64(-1)
	chunk := w.r.cfg.batchMax
	for {
		var recs []*kgo.Record
		select {
		case recs = <-w.in:
		case <-w.stop:
			return
		}
		for len(recs) > 0 {
			n := min(len(recs), chunk)
			select {
			case w.r.decodeSem <- struct{}{}:
			case <-w.stop:
				return
			}
			its := make([]*item, 0, n)
			for _, rec := range recs[:n] {
				if next >= 0 && rec.Offset < next {
					continue // seen already
				}
				next = rec.Offset + 1
				it := &item{rec: rec}
				if !w.replay {
					it.env, it.decErr = w.r.decode(rec.Topic, rec.Value)
					if it.decErr == nil && !w.r.wants(it.env.EventType) {
						it.done = true // acknowledged: compact drops it, the watermark passes it
						w.r.metrics.skipped.Add(1)
					}
				}
				its = append(its, it)
			}
			<-w.r.decodeSem
			recs = recs[n:]
			if len(its) == 0 {
				continue
			}
			select {
			case w.decoded <- its:
			case <-w.stop:
				return
			}
		}
	}
}

func (w *worker) add(its []*item) {
	for _, it := range its {
		w.next = it.rec.Offset + 1
		w.lastEpoch = it.rec.LeaderEpoch
		w.pending = append(w.pending, it)
	}
	w.compact()
}

// compact drops done items and publishes the watermark: the offset of the
// first unfinished record, or the next offset when all are done.
func (w *worker) compact() {
	n := 0
	for _, it := range w.pending {
		if !it.done {
			w.pending[n] = it
			n++
		}
	}
	clear(w.pending[n:])
	w.pending = w.pending[:n]
	if w.next < 0 {
		return
	}
	eo := kgo.EpochOffset{Epoch: w.lastEpoch, Offset: w.next}
	if n > 0 {
		eo = kgo.EpochOffset{Epoch: w.pending[0].rec.LeaderEpoch, Offset: w.pending[0].rec.Offset}
	}
	w.r.publish(w, eo)
}

func laneOf(key []byte, lanes int) int {
	if lanes <= 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write(key)
	return int(h.Sum32() % uint32(lanes))
}

// step runs one round: dead letters that are due, then the lane batches of
// the records that are ready (see runRound). It reports whether it did anything
// and, if not, how long until a retry is due (0: nothing scheduled).
func (w *worker) step() (worked bool, wait time.Duration) {
	if w.replay {
		return w.stepReplay()
	}
	now := time.Now()
	cfg := &w.r.cfg
	blocked := make(map[string]struct{})
	lanes := make([][]*item, cfg.lanes)
	var letters []*item
	var earliest time.Time
	full := 0 // lanes at batchMax
	for _, it := range w.pending {
		if full == cfg.lanes {
			// No lane takes more records this round; only dead letters
			// that are due are still picked up. A letter is always its
			// key's first unfinished record, so no key check is needed.
			if it.letter && !it.notBefore.After(now) {
				letters = append(letters, it)
			}
			continue
		}
		k := string(it.rec.Key)
		if _, b := blocked[k]; b {
			continue
		}
		if it.notBefore.After(now) {
			blocked[k] = struct{}{}
			if earliest.IsZero() || it.notBefore.Before(earliest) {
				earliest = it.notBefore
			}
			continue
		}
		if it.letter {
			letters = append(letters, it)
			blocked[k] = struct{}{}
			continue
		}
		l := laneOf(it.rec.Key, cfg.lanes)
		if len(lanes[l]) >= cfg.batchMax {
			blocked[k] = struct{}{}
			continue
		}
		lanes[l] = append(lanes[l], it)
		if len(lanes[l]) == cfg.batchMax {
			full++
		}
	}
	for _, it := range letters {
		w.deadLetter(it)
		worked = true
	}
	var bs []*laneBatch
	for _, items := range lanes {
		if len(items) > 0 {
			bs = append(bs, newLaneBatch(w, items))
		}
	}
	if len(bs) > 0 {
		worked = true
		w.runRound(bs)
	}
	if !worked && !earliest.IsZero() {
		wait = max(time.Until(earliest), time.Millisecond)
	}
	return worked, wait
}

func (w *worker) message(it *item) *Message {
	return &Message{
		Envelope:  it.env,
		Topic:     it.rec.Topic,
		Partition: it.rec.Partition,
		Offset:    it.rec.Offset,
		Key:       string(it.rec.Key),
		Headers:   it.rec.Headers,
		Timestamp: it.rec.Timestamp,
		Attempt:   it.attempts + 1,
		Value:     it.rec.Value,
	}
}

type outcome uint8

const (
	untouched   outcome = iota // skipped: an earlier record of its key failed
	handled                    // handler ran (or a duplicate was skipped)
	parked                     // stored behind its key's dead letter
	failed                     // handler returned an error
	undecodable                // value did not decode
)

// handleInSavepoint runs the handler chain on m under a savepoint. herr is
// the handler's error (its writes are rolled back); err is a database
// error that dooms the whole transaction.
func (r *Runner) handleInSavepoint(ctx context.Context, tx *sqldb.Tx, m *Message) (herr, err error) {
	herr, err = tx.Savepoint(ctx, "causeway_record", func() error { return r.handler.Handle(ctx, tx, m) })
	if err != nil {
		return herr, fmt.Errorf("consumer: %w", err)
	}
	return herr, nil
}

// deadLetter publishes it to the group's dead-letter topic, then parks its
// key (unless it broke its topic's contract) and marks it done in one
// transaction. If the process dies between
// the two, the record is handled again after restart and its letter is
// produced again with the same letter id.
func (w *worker) deadLetter(it *item) {
	r := w.r
	f := failure{
		topic: it.rec.Topic, partition: it.rec.Partition, offset: it.rec.Offset,
		key: it.rec.Key, value: it.rec.Value, headers: originalHeaders(it.rec.Headers),
		timestamp: it.rec.Timestamp, err: it.lastErr, decodeErr: it.decErr != nil,
		attempts: it.attempts, firstFail: it.firstFail, lastFail: it.lastFail,
	}
	id, err := r.produceLetter(w.ctx, f)
	if err == nil && !errors.Is(it.lastErr, event.ErrContract) {
		// A record that breaks its topic's contract is not one of the
		// key's own (a foreign source, a misrouted type): nothing of the
		// key's sequence is lost without it, so its key is not parked —
		// a forged record under a live key must not hold that key back.
		err = r.db.InTx(w.ctx, func(tx *sqldb.Tx) error { return insertPark(w.ctx, tx, r.group, id, f) })
	}
	if err != nil {
		r.log.Error("consumer: dead letter", "topic", it.rec.Topic, "partition", it.rec.Partition,
			"offset", it.rec.Offset, "error", err)
		it.notBefore = time.Now().Add(r.cfg.backoff.Delay(3))
		return
	}
	it.done = true
}
