package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/sqldb"
)

var (
	_ eventstore.Store             = (*Store)(nil)
	_ eventstore.CorrelationReader = (*Store)(nil)
)

// MaxAppendEvents bounds the number of events of one append (ErrInvalid
// above it), which keeps every statement under the databases' parameter
// limits.
const MaxAppendEvents = 10000

// Store is the SQL event store. It is safe for concurrent use.
type Store struct {
	db    *sqldb.DB
	now   func() time.Time
	stmts stmtCache
	prep  prepared
	// corrHint is the correlation index's indexed position as last seen
	// (SQLite; see indexCorrelations).
	corrHint atomic.Int64
}

// Option configures New.
type Option interface{ apply(*Store) }

type optionFunc func(*Store)

func (f optionFunc) apply(s *Store) { f(s) }

// WithClock sets the clock that stamps Record.RecordedAt and snapshots
// saved without CreatedAt (default time.Now).
func WithClock(now func() time.Time) Option {
	return optionFunc(func(s *Store) {
		if now != nil {
			s.now = now
		}
	})
}

// New returns a Store on db. The caller applies Migrations() to db first
// (db.Migrate) and owns db.
func New(db *sqldb.DB, opts ...Option) *Store {
	s := &Store{db: db, now: time.Now}
	for _, o := range opts {
		if o != nil {
			o.apply(s)
		}
	}
	return s
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Append implements eventstore.Store: it runs AppendTx in its own
// transaction. On PostgreSQL an append without outbox rows is a single
// statement, so it runs without an explicit transaction.
func (s *Store) Append(ctx context.Context, streamID string, expectedVersion int64, events []event.Envelope, opts ...eventstore.AppendOption) (eventstore.AppendResult, error) {
	b, err := newBatch(streamID, expectedVersion, events)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	o := eventstore.ResolveAppendOptions(opts...)
	var res eventstore.AppendResult
	if s.oneStatement(b) && len(o.Outbox) == 0 {
		res, err = s.appendOneStatement(ctx, s.db.Write, b)
	} else {
		s.prepare(ctx, b)
		err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
			var err error
			res, err = s.appendTx(ctx, tx, b, o)
			return err
		})
	}
	var race *raceError
	if errors.As(err, &race) {
		// An append of the same ids committed while ours ran (PostgreSQL
		// only). Ours is rolled back; decide now, against committed data,
		// whether it was an exact repeat.
		stored, lerr := s.recordsByID(ctx, s.db.Read, b.ids)
		if lerr != nil {
			return eventstore.AppendResult{}, errors.Join(err, lerr)
		}
		return b.judgeDuplicate(stored)
	}
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return res, nil
}

// AppendTx appends events like Store.Append, inside the caller's
// transaction tx, which must belong to the Store's database: the events
// (and the WithOutbox rows) commit with tx or not at all. An exact repeat
// returns the original result and writes nothing.
//
// On PostgreSQL, Append locks the stream's row and, last, the global
// position counter until tx ends (see the package doc): append as the last
// write of tx and commit promptly. After an error other than ErrInvalid, ErrConflict or
// ErrDuplicateEvent the transaction should be rolled back; on PostgreSQL
// it is unusable after a database error (including a duplicate event id
// that a concurrent transaction committed while this one ran).
func (s *Store) AppendTx(ctx context.Context, tx *sqldb.Tx, streamID string, expectedVersion int64, events []event.Envelope, opts ...eventstore.AppendOption) (eventstore.AppendResult, error) {
	if tx == nil {
		return eventstore.AppendResult{}, fmt.Errorf("%w: nil transaction", eventstore.ErrInvalid)
	}
	if tx.Dialect != s.db.Dialect {
		return eventstore.AppendResult{}, fmt.Errorf("%w: transaction on %s, store on %s", eventstore.ErrInvalid, tx.Dialect, s.db.Dialect)
	}
	batch, err := newBatch(streamID, expectedVersion, events)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.appendTx(ctx, tx, batch, eventstore.ResolveAppendOptions(opts...))
}

// maxClaimAttempts bounds the retries of a version claim that failed but
// whose cause vanished before it could be named (a concurrent append moved
// the stream to exactly the expected version in between).
const maxClaimAttempts = 3

func (s *Store) appendTx(ctx context.Context, tx *sqldb.Tx, b *batch, o eventstore.AppendOptions) (eventstore.AppendResult, error) {
	if s.db.Dialect == sqldb.SQLite {
		return s.appendSQLite(ctx, tx, b, o)
	}
	// An append locks its stream's row, then the global position counter,
	// until commit. A transaction appending to several streams (a consumer
	// batch of the order service) holding the counter and waiting for a
	// stream row that another one holds while that one waits for the
	// counter is a deadlock; PostgreSQL broke hundreds a minute under
	// causeway serve. Appenders serialise on the counter anyway, so they
	// take that turn first, before any stream row: one lock per
	// transaction, re-entrant. (A plain Append is one statement, outside
	// such a transaction; it can still be picked as a deadlock victim and
	// fail with a retryable error.)
	if err := tx.Lock(ctx, "eventstore-append"); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("eventstore: %w", err)
	}
	if s.oneStatement(b) && len(o.Outbox) == 0 {
		return s.appendOneStatement(ctx, tx, b)
	}
	// PostgreSQL. With outbox rows, the claim comes first: a conflict or an exact
	// repeat must write no outbox row; then the rows; then the positions.
	n := int64(len(b.rows))
	var version int64
	for attempt := 1; ; attempt++ {
		v, ok, err := s.claimVersions(ctx, tx, b)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		if ok {
			version = v
			break
		}
		res, done, err := s.explainRejection(ctx, tx, b)
		if done {
			return res, err
		}
		if attempt == maxClaimAttempts {
			return eventstore.AppendResult{}, errClaim(b, attempt)
		}
	}
	if err := s.enqueue(ctx, tx, b, o); err != nil {
		return eventstore.AppendResult{}, err
	}
	// Claim the positions last: from here to commit, all appenders of the
	// database wait for this transaction.
	var last int64
	if err := tx.QueryRowContext(ctx, sqlClaimPositions, n).Scan(&last); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("sqlstore: append to %q: claim positions: %w", b.stream, err)
	}
	first := last - n + 1
	recorded := s.now().UnixMicro()
	for start := 0; start < len(b.rows); start += rowsPerInsert {
		end := min(start+rowsPerInsert, len(b.rows))
		args := make([]any, 0, insertColumns*(end-start))
		for i := start; i < end; i++ {
			args = b.rows[i].appendArgs(args, b.stream, version-n+1+int64(i), first+int64(i), recorded)
		}
		if _, err := s.txStmt(ctx, tx, s.stmts.insert(end-start)).ExecContext(ctx, args...); err != nil {
			if isUniqueViolation(err) {
				return eventstore.AppendResult{}, &raceError{stream: b.stream, err: err}
			}
			return eventstore.AppendResult{}, fmt.Errorf("sqlstore: append to %q: insert: %w", b.stream, err)
		}
	}
	return eventstore.AppendResult{Version: version, FirstPosition: first, LastPosition: last}, nil
}

func errClaim(b *batch, attempts int) error {
	return fmt.Errorf("sqlstore: append to %q: version claim failed %d times without a conflict or duplicate", b.stream, attempts)
}

func (s *Store) enqueue(ctx context.Context, tx *sqldb.Tx, b *batch, o eventstore.AppendOptions) error {
	if len(o.Outbox) == 0 {
		return nil
	}
	if err := outbox.Enqueue(ctx, tx, o.Outbox...); err != nil {
		return fmt.Errorf("sqlstore: append to %q: outbox: %w", b.stream, err)
	}
	return nil
}

// oneStatement tells whether b is appended with appendOneStatement.
func (s *Store) oneStatement(b *batch) bool {
	return s.db.Dialect == sqldb.Postgres && len(b.rows) <= maxOneStatement
}

// appendOneStatement appends b on PostgreSQL with one statement (see
// stmtCache.appendPG), on q: the caller's transaction, or the pool, where
// the statement is a transaction of its own.
func (s *Store) appendOneStatement(ctx context.Context, q querier, b *batch) (eventstore.AppendResult, error) {
	n := int64(len(b.rows))
	args := make([]any, 0, 4+pgRowParams*len(b.rows))
	args = append(args, b.stream, n, s.now().UnixMicro())
	if b.expected > eventstore.NoStream {
		args = append(args, b.expected)
	}
	for i := range b.rows {
		ev := &b.rows[i].ev
		args = append(args, ev.EventID, ev.EventType, ev.Version, b.rows[i].timestampUS, string(ev.Data),
			ev.Metadata.CorrelationID, ev.Metadata.CausationID, ev.Metadata.Source)
	}
	query := s.stmts.appendPG(b.expected, len(b.rows))
	for attempt := 1; ; attempt++ {
		var version, last int64
		err := q.QueryRowContext(ctx, query, args...).Scan(&version, &last)
		switch {
		case err == nil:
			return eventstore.AppendResult{Version: version, FirstPosition: last - n + 1, LastPosition: last}, nil
		case isUniqueViolation(err):
			return eventstore.AppendResult{}, &raceError{stream: b.stream, err: err}
		case !errors.Is(err, sql.ErrNoRows):
			return eventstore.AppendResult{}, fmt.Errorf("sqlstore: append to %q: %w", b.stream, err)
		}
		res, done, err := s.explainRejection(ctx, q, b)
		if done {
			return res, err
		}
		if attempt == maxClaimAttempts {
			return eventstore.AppendResult{}, errClaim(b, attempt)
		}
	}
}

// claimVersions moves the stream's row to its new version if it is at the
// expected one and none of the ids is stored. ok is false when it did not.
func (s *Store) claimVersions(ctx context.Context, tx *sqldb.Tx, b *batch) (version int64, ok bool, err error) {
	q := s.stmts.claim(b.expected, len(b.ids))
	args := make([]any, 0, 3+len(b.ids))
	args = append(args, b.stream, int64(len(b.rows)))
	if b.expected > eventstore.NoStream {
		args = append(args, b.expected)
	}
	for _, id := range b.ids {
		args = append(args, id)
	}
	err = s.txStmt(ctx, tx, q).QueryRowContext(ctx, args...).Scan(&version)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("sqlstore: append to %q: claim versions: %w", b.stream, err)
	}
	return version, true, nil
}

// explainRejection names why claimVersions failed: an exact repeat (done,
// with the original result), a duplicate id, or a version conflict. done is
// false when neither holds any more (the caller claims again).
func (s *Store) explainRejection(ctx context.Context, q querier, b *batch) (res eventstore.AppendResult, done bool, err error) {
	stored, err := s.recordsByID(ctx, q, b.ids)
	if err != nil {
		return res, true, err
	}
	if len(stored) > 0 {
		res, err = b.judgeDuplicate(stored)
		return res, true, err
	}
	var actual int64
	err = q.QueryRowContext(ctx, sqlStreamVersion, b.stream).Scan(&actual)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		actual = 0
	case err != nil:
		return res, true, fmt.Errorf("sqlstore: append to %q: read version: %w", b.stream, err)
	}
	if b.expected != eventstore.Any && actual != b.expected {
		return res, true, &eventstore.ConflictError{Stream: b.stream, Expected: b.expected, Actual: actual}
	}
	return res, false, nil
}

// raceError reports a unique violation on insert: another transaction
// committed one of the ids after the claim checked for it.
type raceError struct {
	stream string
	err    error
}

func (e *raceError) Error() string {
	return fmt.Sprintf("%v: append to %q raced a concurrent append of the same event id (the transaction is aborted; retry it): %v",
		eventstore.ErrDuplicateEvent, e.stream, e.err)
}

func (e *raceError) Unwrap() []error { return []error{eventstore.ErrDuplicateEvent, e.err} }

// isUniqueViolation tells whether err is a unique-constraint violation,
// without importing the drivers: pgconn.PgError has SQLState, and
// modernc.org/sqlite's Error has Code (extended result codes are on).
func isUniqueViolation(err error) bool {
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		return pg.SQLState() == "23505"
	}
	var lite interface{ Code() int }
	if errors.As(err, &lite) {
		c := lite.Code()
		return c == 2067 || c == 1555 // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY
	}
	return false
}
