package outbox

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/trace"

	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/tracing"
)

// ErrRunning is returned by Run when the relay is already running.
var ErrRunning = errors.New("outbox: relay already running")

// Relay publishes committed outbox rows to Kafka, at least once, in id order
// and so in order per (topic, key), and deletes each row only after the
// broker acknowledged it.
//
// # Client requirements
//
// The *kgo.Client belongs to the caller, who configures and closes it. It
// must keep franz-go's producer defaults that the guarantees rest on:
// idempotent writes (do not set kgo.DisableIdempotentWrite), acks from all
// in-sync replicas (kgo.AllISRAcks, the default), and unbounded record
// retries (do not set kgo.RecordRetries). A kgo.RecordDeliveryTimeout is
// fine: failed records stay in the outbox and are retried by the relay. Use
// the default partitioner (or one that maps a key to one partition), and
// do not make the client transactional. The client may be shared with other
// producers.
//
// # Ordering
//
// A batch of rows is produced asynchronously in id order; the idempotent
// producer keeps that order within each partition. The relay waits for every
// acknowledgement, then deletes in one statement the acknowledged rows whose
// (topic, key) had no failed row earlier in the batch. Failed rows and
// everything after them with the same key stay and are produced again, from
// the lowest id, after a backoff. A crash at any point therefore duplicates
// records, never loses or reorders them: per key, the first occurrence of
// each row on the bus is in id order. Rows with an empty key are published
// with a null key and have no order.
//
// # Several relays
//
// On PostgreSQL any number of relays may run on the same schema (several
// processes of `causeway serve`): one holds a session-level advisory lock on
// a dedicated connection and publishes, the others retry the lock every
// LockRetry. The lock requires session-level connections (no transaction
// pooling in front of PostgreSQL). On SQLite the database belongs to one
// process; run one relay per database.
//
// A Relay is safe for concurrent use; Run may run once at a time.
type Relay struct {
	db     *sqldb.DB
	client *kgo.Client
	cfg    config
	log    *slog.Logger
	obs    Observer
	tracer trace.Tracer // nil: tracing off

	running   atomic.Bool
	leader    atomic.Bool
	published atomic.Uint64
	failed    atomic.Uint64
	batches   atomic.Uint64
	errs      atomic.Uint64

	latMu sync.Mutex
	lat   latencyStats
}

// Stats are the relay's counters since NewRelay.
type Stats struct {
	// Published counts rows acknowledged by the broker (duplicates included).
	Published uint64
	// Failed counts records the producer reported as failed.
	Failed uint64
	// Batches counts batches read from the outbox and produced.
	Batches uint64
	// Errors counts failed attempts (database, producer or lock errors).
	Errors uint64
	// LastLatency is the creation → ack time of the last published row.
	LastLatency time.Duration
	// MaxLatency is the largest creation → ack time seen.
	MaxLatency time.Duration
	// Leader tells whether the relay currently publishes (always true on
	// SQLite while Run runs).
	Leader bool
}

// NewRelay returns a relay that publishes the outbox of db through client.
// The outbox table must exist (apply Migrations). Call Run to start it.
func NewRelay(db *sqldb.DB, client *kgo.Client, opts ...Option) *Relay {
	cfg := config{
		poll:       DefaultPollInterval,
		batchSize:  DefaultBatchSize,
		minBackoff: DefaultMinBackoff,
		maxBackoff: DefaultMaxBackoff,
		lockRetry:  DefaultLockRetry,
	}
	for _, o := range opts {
		o.apply(&cfg)
	}
	if !cfg.hasLockKey {
		h := fnv.New64a()
		_, _ = h.Write([]byte("causeway-outbox:" + db.Schema))
		cfg.lockKey = int64(h.Sum64())
	}
	log := cfg.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Relay{db: db, client: client, cfg: cfg, log: log.With("component", "outbox-relay")}
	r.obs = cfg.observer
	r.tracer = tracing.Tracer(cfg.tracer, tracerName)
	return r
}

// Stats returns the relay's counters.
func (r *Relay) Stats() Stats {
	r.latMu.Lock()
	lat := r.lat
	r.latMu.Unlock()
	return Stats{
		LastLatency: lat.last,
		MaxLatency:  lat.max,
		Published:   r.published.Load(),
		Failed:      r.failed.Load(),
		Batches:     r.batches.Load(),
		Errors:      r.errs.Load(),
		Leader:      r.leader.Load(),
	}
}

// Backlog returns the number of rows in the outbox: committed and not yet
// acknowledged by the broker (or acknowledged and not yet deleted).
func (r *Relay) Backlog(ctx context.Context) (int64, error) {
	var n int64
	if err := r.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox: backlog: %w", err)
	}
	return n, nil
}

// Run publishes until ctx is done, then returns nil. It wakes when an
// in-process Enqueue commits and every PollInterval otherwise, and works
// through a backlog in batches of BatchSize without waiting. Database,
// broker and lock failures are logged and retried with backoff; Run returns
// an error only when the client has been closed (kgo.ErrClientClosed) or
// when it is already running (ErrRunning).
func (r *Relay) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer r.running.Store(false)
	var lead *sqldb.SessionLock
	if r.db.Dialect == sqldb.Postgres {
		lead = r.db.SessionLock(r.cfg.lockKey)
		defer func() {
			r.leader.Store(false) // before the lock goes: never two leaders
			lead.Release()
		}()
	} else {
		r.leader.Store(true)
		defer r.leader.Store(false)
	}
	wake := r.db.Notified(NotifyChannel)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	sleep := func(d time.Duration, wakeable bool) bool {
		timer.Reset(d)
		var w <-chan struct{}
		if wakeable {
			w = wake
		}
		select {
		case <-ctx.Done():
			return false
		case <-w:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		return true
	}
	failures := 0
	for ctx.Err() == nil {
		if lead != nil {
			ok, err := lead.Ensure(ctx)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				r.errs.Add(1)
				r.log.Warn("outbox relay: leader lock", "err", err)
			}
			if r.leader.Swap(ok) != ok {
				r.log.Info("outbox relay: leadership changed", "leader", ok)
			}
			if !ok {
				if !sleep(r.cfg.lockRetry, false) {
					return nil
				}
				continue
			}
		}
		more, err := r.relayRound(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if errors.Is(err, kgo.ErrClientClosed) || errors.Is(err, errStop) {
				return err
			}
			r.errs.Add(1)
			failures++
			d := r.backoff(failures)
			r.log.Warn("outbox relay: batch failed; retrying", "err", err, "backoff", d)
			if !sleep(d, false) {
				return nil
			}
			continue
		}
		failures = 0
		if more {
			continue // rows are waiting
		}
		if !sleep(r.cfg.poll, true) {
			return nil
		}
	}
	return nil
}

// errStop marks an error from the afterAck test hook: Run returns it, as if
// the process had died between the broker's ack and the delete.
var errStop = errors.New("outbox: relay stopped by hook")

func (r *Relay) backoff(failures int) time.Duration {
	d := r.cfg.minBackoff
	for i := 1; i < failures && d < r.cfg.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, r.cfg.maxBackoff)
	// Jitter in [d/2, d].
	return d/2 + rand.N(d/2+1)
}

// row is one outbox row as read by the relay.
type row struct {
	Message
	decodeErr error
}

// maxRoundBatches bounds one round: after that many full batches the relay
// scans again from the lowest id (and checks its leadership).
const maxRoundBatches = 16

// batch is a set of rows handed to the producer.
type batch struct {
	rows    []row
	results []error
	ackedAt []time.Time
	wg      sync.WaitGroup
}

// produce hands rows to the producer, in id order, without waiting.
func (r *Relay) produce(ctx context.Context, rows []row) *batch {
	b := &batch{rows: rows, results: make([]error, len(rows)), ackedAt: make([]time.Time, len(rows))}
	r.batches.Add(1)
	for i := range rows {
		if rows[i].decodeErr != nil {
			b.results[i] = rows[i].decodeErr
			continue
		}
		b.wg.Add(1)
		rec := toRecord(&rows[i].Message)
		var span trace.Span
		if r.tracer != nil {
			span = startSend(r.tracer, &rows[i].Message, rec)
		}
		r.client.Produce(ctx, rec, func(rec *kgo.Record, err error) {
			if span != nil {
				endSend(span, rec, err)
			}
			b.results[i] = err
			b.ackedAt[i] = time.Now()
			b.wg.Done()
		})
	}
	return b
}

// relayRound publishes rows from the lowest id on, in batches of BatchSize,
// keeping up to two batches in flight: the next batch is read and produced
// while the broker acknowledges the previous one. It returns whether rows
// may be left (the round ended on a full batch) and the first error.
//
// Every read starts again at the lowest id, skipping only the rows in
// flight. It never continues "after the last id": on PostgreSQL a row with
// a lower id may become visible later (ids are taken at insert, not at
// commit), and a row committed after another of its key always becomes
// visible no earlier. So a row found by a later read was committed after
// every row already produced, and producing it after them keeps commit
// order per key.
func (r *Relay) relayRound(ctx context.Context) (more bool, err error) {
	blocked := make(map[string]struct{}) // keys with a failed row this round
	var prev *batch
	for n := 0; ; n++ {
		var cur *batch
		if prev == nil || (len(prev.rows) == r.cfg.batchSize && n < maxRoundBatches) {
			rows, lerr := r.load(ctx, prev)
			if lerr != nil {
				err = lerr
			} else if len(rows) > 0 {
				cur = r.produce(ctx, rows)
			}
		}
		if prev != nil {
			if ferr := r.finish(ctx, prev, blocked); ferr != nil {
				if errors.Is(ferr, errStop) {
					return false, ferr
				}
				err = errors.Join(err, ferr)
			}
		}
		if cur == nil || err != nil {
			if cur != nil {
				// Stop after the batch in flight; keep what was acknowledged.
				if ferr := r.finish(ctx, cur, blocked); errors.Is(ferr, errStop) {
					return false, ferr
				}
			}
			return prev != nil && len(prev.rows) == r.cfg.batchSize && err == nil, err
		}
		prev = cur
	}
}

// finish waits for a batch's acknowledgements, then deletes in one
// statement the acknowledged rows whose key had no failed row before them
// in this round. It records failed keys in blocked.
//
// It first flushes the client: the whole batch is already produced, so
// waiting for the producer's linger (kafka.DefaultLinger, 10 ms) would
// only add that much to every hop of a saga. Flush also hurries records
// other producers sharing the client buffered, and waits for them too.
func (r *Relay) finish(ctx context.Context, b *batch, blocked map[string]struct{}) error {
	_ = r.client.Flush(ctx)
	// Wait for every ack, but not past ctx: with the broker gone the
	// producer retries for ever, and a relay told to stop must stop (the
	// rows stay in the outbox and go out after the next start).
	acked := make(chan struct{})
	go func() { b.wg.Wait(); close(acked) }()
	select {
	case <-acked:
	case <-ctx.Done():
		return ctx.Err()
	}
	rows := b.rows
	ids := make([]int64, 0, len(rows))
	deleted := make([]bool, len(rows))
	var firstErr error
	failed := 0
	for i := range rows {
		k := rows[i].Topic + "\x00" + rows[i].Key
		if err := b.results[i]; err != nil {
			failed++
			if firstErr == nil {
				firstErr = fmt.Errorf("outbox: publish row %d to %s: %w", rows[i].ID, rows[i].Topic, err)
			}
			if rows[i].Key != "" {
				blocked[k] = struct{}{}
			}
			continue
		}
		if _, ok := blocked[k]; ok && rows[i].Key != "" {
			continue
		}
		ids = append(ids, rows[i].ID)
		deleted[i] = true
	}
	if failed > 0 {
		r.failed.Add(uint64(failed))
		if r.obs != nil {
			for i := range rows {
				if b.results[i] != nil {
					r.obs.Failed(rows[i].Topic, b.results[i])
				}
			}
		}
	}
	if len(ids) > 0 {
		if h := r.cfg.afterAck; h != nil {
			if err := h(ctx, ids); err != nil {
				return fmt.Errorf("%w: %w", errStop, err)
			}
		}
		// Finish the delete even when ctx ends now: the records are on the
		// bus, and a delete saves duplicates after a restart.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := r.delete(dctx, ids)
		cancel()
		if err != nil {
			return errors.Join(err, firstErr)
		}
		r.published.Add(uint64(len(ids)))
		r.observePublished(rows, deleted, b.ackedAt)
	}
	return firstErr
}

// observePublished records the latency of the deleted rows.
func (r *Relay) observePublished(rows []row, deleted []bool, ackedAt []time.Time) {
	var last, maxLat time.Duration
	for i := range rows {
		if !deleted[i] {
			continue
		}
		d := ackedAt[i].Sub(rows[i].CreatedAt)
		last, maxLat = d, max(maxLat, d)
		if r.obs != nil {
			r.obs.Published(rows[i].Topic, d)
		}
	}
	r.latMu.Lock()
	r.lat.last = last
	r.lat.max = max(r.lat.max, maxLat)
	r.latMu.Unlock()
}

func toRecord(m *Message) *kgo.Record {
	rec := &kgo.Record{Topic: m.Topic, Value: m.Value}
	if m.Key != "" {
		rec.Key = []byte(m.Key)
	}
	if len(m.Headers) > 0 {
		rec.Headers = make([]kgo.RecordHeader, len(m.Headers))
		for i, h := range m.Headers {
			rec.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: []byte(h.Value)}
		}
	}
	return rec
}

// load reads the lowest-id rows, except those of inflight (may be nil).
func (r *Relay) load(ctx context.Context, inflight *batch) ([]row, error) {
	query := `SELECT id, topic, key, value, headers, created_at FROM outbox ORDER BY id LIMIT $1`
	args := []any{r.cfg.batchSize}
	if inflight != nil && len(inflight.rows) > 0 {
		ids := make([]int64, len(inflight.rows))
		for i := range inflight.rows {
			ids[i] = inflight.rows[i].ID
		}
		notIn := `id NOT IN (SELECT value FROM json_each($4))`
		list := "[" + joinIDs(ids) + "]"
		if r.db.Dialect == sqldb.Postgres {
			notIn = `NOT (id = ANY($4::bigint[]))`
			list = "{" + joinIDs(ids) + "}"
		}
		// Only ids within the batch's range need the list lookup.
		query = `SELECT id, topic, key, value, headers, created_at FROM outbox
			WHERE id < $2 OR id > $3 OR ` + notIn + ` ORDER BY id LIMIT $1`
		args = append(args, ids[0], ids[len(ids)-1], list)
	}
	q, err := r.db.Read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("outbox: read rows: %w", err)
	}
	defer q.Close()
	var out []row
	for q.Next() {
		var (
			x       row
			headers []byte
			micros  int64
		)
		dest := []any{&x.ID, &x.Topic, &x.Key, &x.Value, &headers, &micros}
		if r.db.Dialect == sqldb.Postgres {
			dest[5] = &x.CreatedAt
		}
		if err := q.Scan(dest...); err != nil {
			return nil, fmt.Errorf("outbox: scan row: %w", err)
		}
		if r.db.Dialect != sqldb.Postgres {
			x.CreatedAt = time.UnixMicro(micros)
		}
		if len(headers) > 0 {
			var err error
			if x.Headers, err = parseHeadersJSON(headers); err != nil {
				x.decodeErr = fmt.Errorf("outbox: row %d: bad headers: %w", x.ID, err)
			}
		}
		out = append(out, x)
	}
	if err := q.Err(); err != nil {
		return nil, fmt.Errorf("outbox: read rows: %w", err)
	}
	return out, nil
}

// delete removes the given rows in one statement.
func (r *Relay) delete(ctx context.Context, ids []int64) error {
	var err error
	if r.db.Dialect == sqldb.Postgres {
		_, err = r.db.Write.ExecContext(ctx, `DELETE FROM outbox WHERE id = ANY($1::bigint[])`, "{"+joinIDs(ids)+"}")
	} else {
		_, err = r.db.Write.ExecContext(ctx, `DELETE FROM outbox WHERE id IN (SELECT value FROM json_each($1))`, "["+joinIDs(ids)+"]")
	}
	if err != nil {
		return fmt.Errorf("outbox: delete %d published rows: %w", len(ids), err)
	}
	return nil
}

// joinIDs returns ids separated by commas.
func joinIDs(ids []int64) string {
	var sb strings.Builder
	sb.Grow(len(ids) * 8)
	for i, id := range ids {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.FormatInt(id, 10))
	}
	return sb.String()
}
