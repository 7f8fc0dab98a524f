package sqlstore

import (
	"context"
	"fmt"

	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/sqldb"
)

// SQLite's append (see the package doc): the single writer serialises
// appends, so the stream's version and the last position come from the
// events table's own indexes, and the UNIQUE(event_id) constraint detects a
// stored id. An append writes only its event rows.
const (
	// sqliteStreamVersion returns the stream's version: one seek in
	// UNIQUE(stream_id, version).
	sqliteStreamVersion = `SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = $1`
	// sqliteLastPosition returns the last position: one seek in the rowid.
	sqliteLastPosition = `SELECT COALESCE(MAX(position), 0) FROM events`

	// The correlation index (migration 3; see the package doc).
	sqliteCorrIndexed    = `SELECT position FROM event_correlations_indexed WHERE id = 1`
	sqliteCorrIndex      = `INSERT OR IGNORE INTO event_correlations (correlation_id, position) SELECT correlation_id, position FROM events WHERE position > $1 AND position <= $2`
	sqliteCorrSetIndexed = `UPDATE event_correlations_indexed SET position = $1 WHERE id = 1`
	// sqliteReadCorr reads the index up to the indexed position and scans
	// the log after it, in one statement (one snapshot).
	sqliteReadCorr = `SELECT ` + selectColumns + ` FROM events WHERE position IN (SELECT position FROM event_correlations ` +
		`WHERE correlation_id = $1 AND position <= (SELECT position FROM event_correlations_indexed WHERE id = 1)) ` +
		`UNION ALL SELECT ` + selectColumns + ` FROM events WHERE position > (SELECT position FROM event_correlations_indexed WHERE id = 1) ` +
		`AND correlation_id = $1 ORDER BY position`
)

// corrIndexLag is how many events an append lets the correlation index
// fall behind before it indexes them (the tail ReadCorrelation scans).
const corrIndexLag = 256

// appendSQLite appends b on SQLite inside tx. Up to rowsPerInsert events
// are one statement (stmtCache.appendSQLite); larger appends read the
// stream's head, check the ids, then insert in chunks.
func (s *Store) appendSQLite(ctx context.Context, tx *sqldb.Tx, b *batch, o eventstore.AppendOptions) (eventstore.AppendResult, error) {
	n := int64(len(b.rows))
	expected := b.expected
	if expected == eventstore.Any || len(b.rows) > rowsPerInsert {
		v, err := s.sqliteStreamVersion(ctx, tx, b)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		if expected != eventstore.Any && v != expected {
			return s.rejectSQLite(ctx, tx, b)
		}
		expected = v
	}
	insert := s.insertSQLite
	if len(b.rows) > rowsPerInsert {
		insert = s.insertChunksSQLite
	}
	res, inserted, err := insert(ctx, tx, b, expected)
	if !inserted {
		// Rejected: res and err are rejectSQLite's verdict.
		return res, err
	}
	// The outbox rows come last: a conflict or an exact repeat writes none.
	if err := s.enqueue(ctx, tx, b, o); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.indexCorrelations(ctx, tx, res.LastPosition); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("sqlstore: append to %q: %w", b.stream, err)
	}
	return eventstore.AppendResult{Version: expected + n, FirstPosition: res.FirstPosition, LastPosition: res.LastPosition}, nil
}

// insertSQLite runs the one-statement append of b at version expected and
// returns the positions. inserted is false when nothing was inserted: then
// res and err are the verdict of rejectSQLite (or an error).
func (s *Store) insertSQLite(ctx context.Context, tx *sqldb.Tx, b *batch, expected int64) (res eventstore.AppendResult, inserted bool, err error) {
	args := make([]any, 0, 3+sqliteRowParams*len(b.rows))
	args = append(args, b.stream, s.now().UnixMicro(), expected)
	for i := range b.rows {
		ev := &b.rows[i].ev
		args = append(args, ev.EventID, ev.EventType, ev.Version, b.rows[i].timestampUS, string(ev.Data),
			ev.Metadata.CorrelationID, ev.Metadata.CausationID, ev.Metadata.Source)
	}
	r, err := s.txStmt(ctx, tx, s.sqliteAppendSQL(expected, len(b.rows))).ExecContext(ctx, args...)
	if err != nil {
		if isUniqueViolation(err) {
			// One of the ids is stored. The failed statement changed
			// nothing (SQLite undoes the statement, not the transaction).
			res, err = s.rejectSQLite(ctx, tx, b)
			return res, false, err
		}
		return res, false, fmt.Errorf("sqlstore: append to %q: insert: %w", b.stream, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return res, false, fmt.Errorf("sqlstore: append to %q: insert: %w", b.stream, err)
	}
	if n == 0 {
		// The stream is not at the expected version.
		res, err = s.rejectSQLite(ctx, tx, b)
		return res, false, err
	}
	if n != int64(len(b.rows)) {
		return res, false, fmt.Errorf("sqlstore: append to %q: inserted %d of %d events", b.stream, n, len(b.rows))
	}
	last, err := r.LastInsertId()
	if err != nil {
		return res, false, fmt.Errorf("sqlstore: append to %q: insert: %w", b.stream, err)
	}
	return eventstore.AppendResult{FirstPosition: last - n + 1, LastPosition: last}, true, nil
}

// sqliteAppendSQL returns the one-statement append of n events at version
// expected.
func (s *Store) sqliteAppendSQL(expected int64, n int) string {
	if expected == 0 {
		return s.stmts.appendNewSQLite(n)
	}
	return s.stmts.appendSQLite(n)
}

// insertChunksSQLite inserts a large b (more than rowsPerInsert events) at
// version expected, the stream's current version.
func (s *Store) insertChunksSQLite(ctx context.Context, tx *sqldb.Tx, b *batch, expected int64) (res eventstore.AppendResult, inserted bool, err error) {
	// A duplicate found by a later INSERT would leave the earlier rows in
	// the caller's transaction, so check first.
	var dup bool
	if err := tx.QueryRowContext(ctx, s.stmts.anyStored(len(b.ids)), idArgs(b.ids)...).Scan(&dup); err != nil {
		return res, false, fmt.Errorf("sqlstore: append to %q: check ids: %w", b.stream, err)
	}
	if dup {
		res, err = s.rejectSQLite(ctx, tx, b)
		return res, false, err
	}
	var last int64
	if err := tx.QueryRowContext(ctx, sqliteLastPosition).Scan(&last); err != nil {
		return res, false, fmt.Errorf("sqlstore: append to %q: read last position: %w", b.stream, err)
	}
	recorded := s.now().UnixMicro()
	for start := 0; start < len(b.rows); start += rowsPerInsert {
		end := min(start+rowsPerInsert, len(b.rows))
		args := make([]any, 0, insertColumns*(end-start))
		for i := start; i < end; i++ {
			args = b.rows[i].appendArgs(args, b.stream, expected+1+int64(i), last+1+int64(i), recorded)
		}
		if _, err := tx.ExecContext(ctx, s.stmts.insert(end-start), args...); err != nil {
			return res, false, fmt.Errorf("sqlstore: append to %q: insert: %w", b.stream, err)
		}
	}
	return eventstore.AppendResult{FirstPosition: last + 1, LastPosition: last + int64(len(b.rows))}, true, nil
}

// indexCorrelations brings the correlation index up to last, the
// position just appended in tx, once it is corrIndexLag events behind: one
// INSERT … SELECT of the (correlation, position) pairs after the indexed
// position, and the new indexed position, in tx — so the index commits
// (or rolls back) with the events it covers. s.corrHint, the indexed
// position as this Store last saw it, spares the other appends the read of
// event_correlations_indexed; it is only a hint (a rolled-back
// transaction, another Store on the same file): the indexed position is
// always read in tx before indexing, and re-read when last is below the
// hint (positions were given back by a rollback after an indexing).
func (s *Store) indexCorrelations(ctx context.Context, tx *sqldb.Tx, last int64) error {
	if d := last - s.corrHint.Load(); d >= 0 && d < corrIndexLag {
		return nil
	}
	var from int64
	if err := s.txStmt(ctx, tx, sqliteCorrIndexed).QueryRowContext(ctx).Scan(&from); err != nil {
		return fmt.Errorf("read indexed correlation position: %w", err)
	}
	if last-from >= corrIndexLag {
		if _, err := s.txStmt(ctx, tx, sqliteCorrIndex).ExecContext(ctx, from, last); err != nil {
			return fmt.Errorf("index correlations: %w", err)
		}
		if _, err := s.txStmt(ctx, tx, sqliteCorrSetIndexed).ExecContext(ctx, last); err != nil {
			return fmt.Errorf("index correlations: %w", err)
		}
		from = last
	}
	s.corrHint.Store(from)
	return nil
}

func (s *Store) sqliteStreamVersion(ctx context.Context, tx *sqldb.Tx, b *batch) (int64, error) {
	var v int64
	if err := s.txStmt(ctx, tx, sqliteStreamVersion).QueryRowContext(ctx, b.stream).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlstore: append to %q: read version: %w", b.stream, err)
	}
	return v, nil
}

// rejectSQLite names why b cannot be appended as is: an exact repeat (the
// original result), a duplicate id, or a version conflict.
func (s *Store) rejectSQLite(ctx context.Context, tx *sqldb.Tx, b *batch) (eventstore.AppendResult, error) {
	stored, err := s.recordsByID(ctx, tx, b.ids)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if len(stored) > 0 {
		return b.judgeDuplicate(stored)
	}
	current, err := s.sqliteStreamVersion(ctx, tx, b)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if b.expected != eventstore.Any && current != b.expected {
		return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: b.stream, Expected: b.expected, Actual: current}
	}
	return eventstore.AppendResult{}, fmt.Errorf("sqlstore: append to %q: rejected without a stored id or a conflict", b.stream)
}

func idArgs(ids []string) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return args
}
