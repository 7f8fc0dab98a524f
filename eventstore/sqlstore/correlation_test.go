package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/eventstore/sqlstore"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// flowEvents returns n events of the flow corr.
func flowEvents(n int, corr string) []event.Envelope {
	evs := testEvents(n)
	for i := range evs {
		evs[i].Metadata = event.Metadata{CorrelationID: corr, CausationID: "c", Source: "test"}
	}
	return evs
}

// byScan is ReadCorrelation the slow way: every event of the log whose
// correlation id is corr, in log order.
func byScan(t *testing.T, s *sqlstore.Store, corr string) []string {
	t.Helper()
	all, err := s.ReadAll(context.Background(), 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range all {
		if r.Event.Metadata.CorrelationID == corr {
			ids = append(ids, r.Event.EventID)
		}
	}
	return ids
}

func readCorr(t *testing.T, s *sqlstore.Store, corr string) []string {
	t.Helper()
	recs, err := s.ReadCorrelation(context.Background(), corr)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for i, r := range recs {
		if i > 0 && r.Position <= recs[i-1].Position {
			t.Fatalf("ReadCorrelation(%s): positions out of order at %d", corr, i)
		}
		ids = append(ids, r.Event.EventID)
	}
	return ids
}

func indexed(t *testing.T, db *sqldb.DB) (position, entries int64) {
	t.Helper()
	ctx := context.Background()
	if err := db.Read.QueryRowContext(ctx, `SELECT position FROM event_correlations_indexed`).Scan(&position); err != nil {
		t.Fatal(err)
	}
	if err := db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM event_correlations`).Scan(&entries); err != nil {
		t.Fatal(err)
	}
	return position, entries
}

// TestCorrelationIndexSQLite: on SQLite the appends keep the correlation
// index within 256 events of the log, in their own transactions (a
// rolled-back one indexes nothing), and ReadCorrelation — index up to the
// indexed position, scan after it — returns exactly what a scan of the
// whole log does, in every state.
func TestCorrelationIndexSQLite(t *testing.T) {
	ctx := context.Background()
	db := sqltest.SQLite(t, sqlstore.Migrations())
	s := sqlstore.New(db)
	t.Cleanup(func() { _ = s.Close() })
	flows := []string{"flow-a", "flow-b", "flow-c"}
	var last int64
	for i := range 400 {
		corr := flows[i%len(flows)]
		n := 1 + i%7
		stream := fmt.Sprintf("s-%d", i%37)
		var err error
		var res eventstore.AppendResult
		switch i % 5 {
		case 0: // in a caller's transaction
			err = db.InTx(ctx, func(tx *sqldb.Tx) error {
				res, err = s.AppendTx(ctx, tx, stream, eventstore.Any, flowEvents(n, corr))
				return err
			})
		case 1: // in a transaction that rolls back: nothing of it stays
			rollback := errors.New("roll back")
			err = db.InTx(ctx, func(tx *sqldb.Tx) error {
				if _, err := s.AppendTx(ctx, tx, stream, eventstore.Any, flowEvents(n+300, "flow-rolled-back")); err != nil {
					return err
				}
				return rollback
			})
			if !errors.Is(err, rollback) {
				t.Fatalf("append %d: %v", i, err)
			}
			continue
		default:
			res, err = s.Append(ctx, stream, eventstore.Any, flowEvents(n, corr))
		}
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		last = res.LastPosition
		if i%50 == 49 {
			for _, f := range append(flows, "flow-rolled-back", "flow-none") {
				if got, want := readCorr(t, s, f), byScan(t, s, f); !slices.Equal(got, want) {
					t.Fatalf("after append %d: ReadCorrelation(%s) = %d events, the log has %d", i, f, len(got), len(want))
				}
			}
		}
	}
	pos, entries := indexed(t, db)
	if pos > last || last-pos >= 256+7 || pos < 1000 {
		t.Errorf("indexed up to %d of %d: want within 256 events of the end", pos, last)
	}
	if entries != pos {
		t.Errorf("%d index entries for %d indexed events", entries, pos)
	}
	if got := readCorr(t, s, "flow-rolled-back"); len(got) != 0 {
		t.Errorf("rolled-back flow: %d events", len(got))
	}
}

// TestCorrelationMigrationSQLite: migration 3 indexes the events already
// stored and drops the per-event index.
func TestCorrelationMigrationSQLite(t *testing.T) {
	ctx := context.Background()
	migs := sqlstore.Migrations()
	db := sqltest.SQLite(t, migs[:2])
	now := time.Now().UnixMicro()
	for i := range 300 {
		if _, err := db.Write.ExecContext(ctx, `INSERT INTO events (stream_id, version, event_id, event_type, event_version,
			timestamp_us, data, correlation_id, causation_id, source, recorded_at_us) VALUES ($1, 1, $2, 't', 1, $3, '{}', $4, '', 'x', $3)`,
			fmt.Sprintf("s-%d", i), fmt.Sprintf("e-%d", i), now, fmt.Sprintf("flow-%d", i%4)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Migrate(ctx, migs); err != nil {
		t.Fatal(err)
	}
	if pos, entries := indexed(t, db); pos != 300 || entries != 300 {
		t.Errorf("after the migration: indexed up to %d with %d entries, want 300 and 300", pos, entries)
	}
	var n int
	if err := db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'events_correlation'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("events_correlation still there (%d, %v)", n, err)
	}
	s := sqlstore.New(db)
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Append(ctx, "new", eventstore.NoStream, flowEvents(3, "flow-1")); err != nil {
		t.Fatal(err)
	}
	if got, want := readCorr(t, s, "flow-1"), byScan(t, s, "flow-1"); len(got) != 78 || !slices.Equal(got, want) {
		t.Errorf("flow-1: %d events, want the 75 migrated + 3 new (%d by scan)", len(got), len(want))
	}
}

// TestCorrelationReadUsesIndexSQLite: ReadCorrelation never scans the
// whole events table: the index by correlation, then rowid ranges.
func TestCorrelationReadUsesIndexSQLite(t *testing.T) {
	db := sqltest.SQLite(t, sqlstore.Migrations())
	rows, err := db.Read.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+sqlstore.SQLiteReadCorrelation, "x")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	all := strings.Join(plan, "\n")
	if !strings.Contains(all, "event_correlations") {
		t.Errorf("plan does not use event_correlations:\n%s", all)
	}
	for _, p := range plan {
		if strings.HasPrefix(p, "SCAN events") {
			t.Errorf("plan scans events:\n%s", all)
		}
	}
}
