package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/sqldb"
)

// Load implements eventstore.Store.
func (s *Store) Load(ctx context.Context, streamID string, afterVersion int64) ([]eventstore.Record, error) {
	if streamID == "" || afterVersion < 0 {
		return nil, fmt.Errorf("%w: load stream %q after version %d", eventstore.ErrInvalid, streamID, afterVersion)
	}
	recs, err := s.query(ctx, s.db.Read, sqlLoad, streamID, afterVersion)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: load %q: %w", streamID, err)
	}
	if len(recs) == 0 && afterVersion == 0 {
		return nil, fmt.Errorf("%w: %q", eventstore.ErrNotFound, streamID)
	}
	return recs, nil
}

// LoadAt implements eventstore.Store. Event timestamps are compared at
// microsecond precision.
func (s *Store) LoadAt(ctx context.Context, streamID string, at time.Time) ([]eventstore.Record, error) {
	if streamID == "" {
		return nil, fmt.Errorf("%w: empty stream id", eventstore.ErrInvalid)
	}
	recs, err := s.query(ctx, s.db.Read, sqlLoadAt, streamID, at.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: load %q at %s: %w", streamID, at.Format(time.RFC3339Nano), err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: %q at %s", eventstore.ErrNotFound, streamID, at.Format(time.RFC3339Nano))
	}
	return recs, nil
}

// ReadAll implements eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, from int64, limit int) ([]eventstore.Record, error) {
	if from < 0 || limit < 1 {
		return nil, fmt.Errorf("%w: read all from %d limit %d", eventstore.ErrInvalid, from, limit)
	}
	recs, err := s.query(ctx, s.db.Read, sqlReadAll, from, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read all from %d: %w", from, err)
	}
	return recs, nil
}

// ReadCorrelation implements eventstore.CorrelationReader.
func (s *Store) ReadCorrelation(ctx context.Context, correlationID string) ([]eventstore.Record, error) {
	if correlationID == "" {
		return nil, fmt.Errorf("%w: empty correlation id", eventstore.ErrInvalid)
	}
	query := sqlReadCorr
	if s.db.Dialect == sqldb.SQLite {
		query = sqliteReadCorr
	}
	recs, err := s.query(ctx, s.db.Read, query, correlationID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read correlation %q: %w", correlationID, err)
	}
	return recs, nil
}

// recordsByID returns the stored events among ids, in position order.
func (s *Store) recordsByID(ctx context.Context, q querier, ids []string) ([]eventstore.Record, error) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	recs, err := s.query(ctx, q, s.stmts.recordsByID(len(ids)), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read events by id: %w", err)
	}
	return recs, nil
}

func (s *Store) query(ctx context.Context, q querier, query string, args ...any) ([]eventstore.Record, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return scanRecords(rows)
}

// queryStmt is query through a statement bound to a transaction.
func (s *Store) queryStmt(ctx context.Context, st txStmt, args ...any) ([]eventstore.Record, error) {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	return scanRecords(rows)
}

// scanRecords reads and closes rows of the events columns.
func scanRecords(rows *sql.Rows) ([]eventstore.Record, error) {
	defer rows.Close()
	recs := []eventstore.Record{}
	for rows.Next() {
		var (
			r          eventstore.Record
			ts, recUS  int64
			data       []byte
			eventVer   int
			md         event.Metadata
			id, evType string
		)
		if err := rows.Scan(&r.Position, &r.StreamID, &r.Version, &id, &evType, &eventVer, &ts, &data,
			&md.CorrelationID, &md.CausationID, &md.Source, &recUS); err != nil {
			return nil, err
		}
		if len(data) == 0 {
			data = nil
		}
		r.RecordedAt = time.UnixMicro(recUS).UTC()
		r.Event = event.Envelope{
			EventID:   id,
			EventType: evType,
			Timestamp: time.UnixMicro(ts).UTC(),
			Version:   eventVer,
			Data:      data,
			Metadata:  md,
		}
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return recs, nil
}

// LoadTx is Load inside tx: it sees the transaction's own uncommitted
// appends, so a consumer that handles several events of one stream in one
// transaction (AppendTx) reads its own writes.
func (s *Store) LoadTx(ctx context.Context, tx *sqldb.Tx, streamID string, afterVersion int64) ([]eventstore.Record, error) {
	if streamID == "" || afterVersion < 0 {
		return nil, fmt.Errorf("%w: load stream %q after version %d", eventstore.ErrInvalid, streamID, afterVersion)
	}
	var (
		recs []eventstore.Record
		err  error
	)
	if s.db.Dialect == sqldb.SQLite {
		recs, err = s.queryStmt(ctx, s.txStmt(ctx, tx, sqlLoad), streamID, afterVersion)
	} else {
		recs, err = s.query(ctx, tx, sqlLoad, streamID, afterVersion)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: load %q: %w", streamID, err)
	}
	if len(recs) == 0 && afterVersion == 0 {
		return nil, fmt.Errorf("%w: %q", eventstore.ErrNotFound, streamID)
	}
	return recs, nil
}
