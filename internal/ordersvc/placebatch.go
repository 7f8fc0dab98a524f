package ordersvc

import (
	"context"
	"fmt"
	"sync"

	"github.com/causeway-dev/causeway/sqldb"
)

// maxPlaceBatch bounds the Place commands one group commit holds.
const maxPlaceBatch = 128

// placeBatcher group-commits concurrent Place transactions on SQLite.
//
// SQLite has one writer: concurrent Places queued one after the other on the
// write pool's only connection, each paying its own BEGIN, COMMIT (the WAL
// write) and connection hand-over, so under load requests waited behind
// each other and behind the consumers' batches. Instead, a Place queues its
// transaction body; one of the waiting requests (the leader) runs up to
// maxPlaceBatch queued bodies in one transaction, each inside its own
// SAVEPOINT (a failing body — a taken idempotency key, a validation error —
// is rolled back alone), commits once, and answers every request only
// after that commit. A request whose body succeeded but whose shared
// commit failed gets the commit's error, as before. Nothing is answered
// before it is committed, so the guarantees of Place are unchanged: the
// order.placed event, its outbox row and the idempotency key still commit
// together or not at all.
//
// The leader leads until its own request is answered, then hands the lead
// to the oldest waiting request, so no request leads forever. There is no
// goroutine of its own: nothing to start or stop.
type placeBatcher struct {
	mu      sync.Mutex
	queue   []*placeJob
	leading bool
}

// placeJob is one Place's transaction body, waiting for a group commit.
type placeJob struct {
	ctx  context.Context
	fn   func(*sqldb.Tx) error
	err  error
	done chan struct{} // closed once err is final
	lead chan struct{} // signalled when this request is to lead
}

// inPlaceTx runs fn in a write transaction like sqldb.DB.InTx and returns
// once that transaction has committed or rolled back. On SQLite fn shares
// the transaction with other concurrent Places (see placeBatcher); fn must
// use only tx for its writes and must not keep it.
func (s *Service) inPlaceTx(ctx context.Context, fn func(*sqldb.Tx) error) error {
	if s.db.Dialect != sqldb.SQLite {
		return s.db.InTx(ctx, fn)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &placeJob{ctx: ctx, fn: fn, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	b := &s.places
	b.mu.Lock()
	b.queue = append(b.queue, j)
	lead := !b.leading
	b.leading = true
	b.mu.Unlock()
	if !lead {
		select {
		case <-j.done:
			return j.err
		case <-j.lead:
		}
	}
	s.leadPlaces(j)
	<-j.done
	return j.err
}

// leadPlaces runs batches until own is answered, then hands the lead on.
func (s *Service) leadPlaces(own *placeJob) {
	b := &s.places
	for {
		b.mu.Lock()
		select {
		case <-own.done:
			if len(b.queue) == 0 {
				b.leading = false
			} else {
				b.queue[0].lead <- struct{}{}
			}
			b.mu.Unlock()
			return
		default:
		}
		n := min(len(b.queue), maxPlaceBatch)
		jobs := make([]*placeJob, n)
		copy(jobs, b.queue)
		b.queue = append(b.queue[:0], b.queue[n:]...)
		b.mu.Unlock()
		s.runPlaceBatch(jobs)
	}
}

// runPlaceBatch runs jobs in one transaction, each in a savepoint, commits,
// and answers them all.
func (s *Service) runPlaceBatch(jobs []*placeJob) {
	defer func() {
		p := recover()
		for _, j := range jobs {
			if p != nil && j.err == nil {
				j.err = fmt.Errorf("ordersvc: place: panic: %v", p)
			}
			close(j.done)
		}
		if p != nil {
			s.cfg.logger.Error("ordersvc: place batch panicked", "panic", p)
		}
	}()
	// The transaction runs on no request's context: one client going away
	// must not roll back the others (and cancelling a statement inside an
	// explicit SQLite transaction can roll the whole transaction back).
	ctx := context.Background()
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		for _, j := range jobs {
			if err := j.ctx.Err(); err != nil {
				j.err = err
				continue
			}
			var err error
			if j.err, err = tx.Savepoint(ctx, "causeway_place", func() error { return j.fn(tx) }); err != nil {
				return fmt.Errorf("ordersvc: place: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		for _, j := range jobs {
			if j.err == nil {
				j.err = err
			}
		}
	}
}
