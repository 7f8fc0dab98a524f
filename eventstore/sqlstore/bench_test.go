package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/eventstore/sqlstore"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// rawMigrations create raw_events: the events table's columns, without its
// constraints and indexes beyond the primary key — the baseline of what
// inserting the same rows costs on the same database.
var rawMigrations = []sqldb.Migration{{
	Component: "bench-raw", Version: 1,
	SQLite: `CREATE TABLE raw_events (position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, version INTEGER NOT NULL,
		event_id TEXT NOT NULL, event_type TEXT NOT NULL, event_version INTEGER NOT NULL, timestamp_us INTEGER NOT NULL,
		data TEXT NOT NULL, correlation_id TEXT NOT NULL, causation_id TEXT NOT NULL, source TEXT NOT NULL,
		recorded_at_us INTEGER NOT NULL)`,
	Postgres: `CREATE TABLE raw_events (position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stream_id TEXT NOT NULL,
		version BIGINT NOT NULL, event_id TEXT NOT NULL, event_type TEXT NOT NULL, event_version INTEGER NOT NULL,
		timestamp_us BIGINT NOT NULL, data TEXT NOT NULL, correlation_id TEXT NOT NULL, causation_id TEXT NOT NULL,
		source TEXT NOT NULL, recorded_at_us BIGINT NOT NULL)`,
}}

const rawInsert = `INSERT INTO raw_events (stream_id, version, event_id, event_type, event_version, timestamp_us, data,
	correlation_id, causation_id, source, recorded_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`

var benchDBs = []struct {
	name string
	open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB
}{
	{"sqlite", sqltest.SQLite},
	{"postgres", sqltest.Postgres},
}

// benchEvents returns n order-like events (about 200 bytes of data each).
func benchEvents(n int, md event.Metadata) []event.Envelope {
	evs := make([]event.Envelope, n)
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i := range evs {
		evs[i] = event.Envelope{
			EventID: event.NewID(), EventType: "order.placed", Timestamp: now, Version: 2, Metadata: md,
			Data: json.RawMessage(`{"orderId":"0190a5f2-7c4e-7b3a-9d2e-5f6a7b8c9d0e","userId":"u-42","items":[{"productId":"p-1",` +
				`"quantity":2,"unitPriceMinor":1999}],"currency":"USD","totalMinor":3998,"status":"placed"}`),
		}
	}
	return evs
}

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startRate resets the timer and returns a func that reports events/s and
// the process's CPU time per event (user+system, including the database
// driver's work; less sensitive to other load on a shared machine than
// events/s, and comparable between Append and the raw baseline).
func startRate(b *testing.B, perOp int) (report func()) {
	b.ResetTimer()
	cpu0 := cpuTime()
	return func() {
		events := float64(b.N * perOp)
		b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/events, "cpu-µs/event")
	}
}

// BenchmarkAppend: one op is one Append (one transaction) of N events to a
// fresh stream.
func BenchmarkAppend(b *testing.B) {
	for _, d := range benchDBs {
		for _, n := range []int{1, 7} {
			b.Run(fmt.Sprintf("%s/events=%d", d.name, n), func(b *testing.B) {
				s := sqlstore.New(d.open(b, sqlstore.Migrations()))
				ctx := context.Background()
				md := event.StartFlow("bench")
				report := startRate(b, n)
				for i := 0; b.Loop(); i++ {
					if _, err := s.Append(ctx, fmt.Sprintf("order-%d", i), eventstore.NoStream, benchEvents(n, md)); err != nil {
						b.Fatal(err)
					}
				}
				report()
			})
		}
	}
}

// rawInserter is the raw-insert baseline on one database: one op is one
// transaction of N plain single-row INSERTs of the same rows into
// raw_events — the strongest honest raw loop: same DB handle (on SQLite the
// single-writer pool with IMMEDIATE transactions), a statement prepared
// once, one transaction per op.
type rawInserter struct {
	db *sqldb.DB
	st *sql.Stmt
}

func newRawInserter(b *testing.B, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) *rawInserter {
	db := open(b, rawMigrations)
	st, err := db.Write.PrepareContext(context.Background(), rawInsert)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	return &rawInserter{db: db, st: st}
}

func (r *rawInserter) op(ctx context.Context, stream string, evs []event.Envelope) error {
	return r.db.InTx(ctx, func(tx *sqldb.Tx) error {
		rec := time.Now().UnixMicro()
		ins := tx.StmtContext(ctx, r.st)
		for v, e := range evs {
			if _, err := ins.ExecContext(ctx, stream, int64(v+1), e.EventID, e.EventType, e.Version,
				e.Timestamp.UnixMicro(), string(e.Data), e.Metadata.CorrelationID, e.Metadata.CausationID,
				e.Metadata.Source, rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// BenchmarkRawInsert: the baseline for Append (rawInserter), one op per
// transaction of N events.
func BenchmarkRawInsert(b *testing.B) {
	for _, d := range benchDBs {
		for _, n := range []int{1, 7} {
			b.Run(fmt.Sprintf("%s/events=%d", d.name, n), func(b *testing.B) {
				raw := newRawInserter(b, d.open)
				ctx := context.Background()
				md := event.StartFlow("bench")
				report := startRate(b, n)
				for i := 0; b.Loop(); i++ {
					if err := raw.op(ctx, fmt.Sprintf("order-%d", i), benchEvents(n, md)); err != nil {
						b.Fatal(err)
					}
				}
				report()
			})
		}
	}
}

// BenchmarkAppendVsRawInsert alternates one Append op and one raw op (to
// separate databases of the same kind and settings) in one loop, so both
// see the same load at the same moments: on a shared machine its
// append/raw is the ratio to trust. Each side's events/s is over the time
// spent in that side's ops.
func BenchmarkAppendVsRawInsert(b *testing.B) {
	for _, d := range benchDBs {
		for _, n := range []int{1, 7} {
			b.Run(fmt.Sprintf("%s/events=%d", d.name, n), func(b *testing.B) {
				s := sqlstore.New(d.open(b, sqlstore.Migrations()))
				b.Cleanup(func() { _ = s.Close() })
				raw := newRawInserter(b, d.open)
				ctx := context.Background()
				md := event.StartFlow("bench")
				var appendTime, rawTime time.Duration
				for i := 0; b.Loop(); i++ {
					stream := fmt.Sprintf("order-%d", i)
					evs, rawEvs := benchEvents(n, md), benchEvents(n, md)
					t0 := time.Now()
					if _, err := s.Append(ctx, stream, eventstore.NoStream, evs); err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					if err := raw.op(ctx, stream, rawEvs); err != nil {
						b.Fatal(err)
					}
					appendTime += t1.Sub(t0)
					rawTime += time.Since(t1)
				}
				events := float64(b.N * n)
				b.ReportMetric(events/appendTime.Seconds(), "append-events/s")
				b.ReportMetric(events/rawTime.Seconds(), "raw-events/s")
				b.ReportMetric(rawTime.Seconds()/appendTime.Seconds(), "append/raw")
			})
		}
	}
}
