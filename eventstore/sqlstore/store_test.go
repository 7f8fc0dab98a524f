package sqlstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/eventstore/sqlstore"
	"github.com/causeway-dev/causeway/eventstore/storetest"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

type opener = func(t testing.TB, migs ...[]sqldb.Migration) *sqldb.DB

func TestConformance(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		storetest.Run(t, func(t testing.TB) eventstore.Store {
			s := sqlstore.New(open(t, sqlstore.Migrations()))
			t.Cleanup(func() { _ = s.Close() })
			return s
		})
	})
}

func testEvents(n int) []event.Envelope {
	evs := make([]event.Envelope, n)
	for i := range evs {
		e, err := event.New("test.happened", 1, map[string]int{"i": i}, event.StartFlow("sqlstore-test"))
		if err != nil {
			panic(err)
		}
		evs[i] = e
	}
	return evs
}

func TestAppendTxCommitsWithCallersTransaction(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		db := open(t, sqlstore.Migrations())
		s := sqlstore.New(db)
		boom := errors.New("boom")
		tests := []struct {
			name       string
			fnErr      error
			wantEvents int
		}{
			{"rolled back", boom, 0},
			{"committed", nil, 2},
		}
		for _, tc := range tests {
			evs := testEvents(2)
			err := db.InTx(ctx, func(tx *sqldb.Tx) error {
				res, err := s.AppendTx(ctx, tx, "order-1", eventstore.NoStream, evs)
				if err != nil {
					return err
				}
				if got, want := res.Version, int64(2); got != want {
					t.Errorf("%s: Version = %d, want %d", tc.name, got, want)
				}
				// An exact repeat inside the same transaction is a no-op.
				again, err := s.AppendTx(ctx, tx, "order-1", eventstore.NoStream, evs)
				if err != nil || again != res {
					t.Errorf("%s: repeat in tx = %+v, %v; want %+v", tc.name, again, err, res)
				}
				return tc.fnErr
			})
			if !errors.Is(err, tc.fnErr) {
				t.Fatalf("%s: InTx = %v, want %v", tc.name, err, tc.fnErr)
			}
			recs, err := s.ReadAll(ctx, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(recs), tc.wantEvents; got != want {
				t.Fatalf("%s: %d events stored, want %d", tc.name, got, want)
			}
		}
		// The rolled-back append gave its positions back.
		recs, _ := s.ReadAll(ctx, 0, 10)
		if got, want := recs[0].Position, int64(1); got != want {
			t.Errorf("first position after a rollback = %d, want %d", got, want)
		}
	})
}

func TestAppendTxRejectsForeignDialect(t *testing.T) {
	ctx := context.Background()
	db := sqltest.SQLite(t, sqlstore.Migrations())
	s := sqlstore.New(db)
	err := db.InTx(ctx, func(tx *sqldb.Tx) error {
		tx.Dialect = sqldb.Postgres
		_, err := s.AppendTx(ctx, tx, "s", eventstore.Any, testEvents(1))
		return err
	})
	if !errors.Is(err, eventstore.ErrInvalid) {
		t.Fatalf("AppendTx on a foreign transaction: %v, want ErrInvalid", err)
	}
	if _, err := s.AppendTx(ctx, nil, "s", eventstore.Any, testEvents(1)); !errors.Is(err, eventstore.ErrInvalid) {
		t.Fatalf("AppendTx(nil tx): %v, want ErrInvalid", err)
	}
}

func TestMigrationsAreIdempotent(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		db := open(t, sqlstore.Migrations())
		if err := db.Migrate(context.Background(), sqlstore.Migrations()); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		for _, m := range sqlstore.Migrations() {
			if m.Component != sqlstore.Component || m.SQLite == "" || m.Postgres == "" {
				t.Errorf("migration %s/%d incomplete", m.Component, m.Version)
			}
		}
	})
}

func TestLargeAppendIsChunked(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		s := sqlstore.New(open(t, sqlstore.Migrations()))
		evs := testEvents(1234)
		res, err := s.Append(context.Background(), "big", eventstore.NoStream, evs)
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		if got, want := res, (eventstore.AppendResult{Version: 1234, FirstPosition: 1, LastPosition: 1234}); got != want {
			t.Errorf("AppendResult = %+v, want %+v", got, want)
		}
		again, err := s.Append(context.Background(), "big", eventstore.NoStream, evs)
		if err != nil || again != res {
			t.Errorf("retry = %+v, %v; want %+v", again, err, res)
		}
		recs, err := s.Load(context.Background(), "big", 1200)
		if err != nil || len(recs) != 34 || recs[33].Event.EventID != evs[1233].EventID {
			t.Errorf("Load(big, 1200) = %d records, %v; want the last 34", len(recs), err)
		}
	})
}

func TestLoadTxSeesOwnAppends(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		db := open(t, sqlstore.Migrations())
		s := sqlstore.New(db)
		t.Cleanup(func() { s.Close() })
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if _, err := s.LoadTx(ctx, tx, "order-9", 0); !errors.Is(err, eventstore.ErrNotFound) {
				t.Errorf("LoadTx of a new stream: got %v, want ErrNotFound", err)
			}
			if _, err := s.AppendTx(ctx, tx, "order-9", eventstore.NoStream, testEvents(3)); err != nil {
				return err
			}
			recs, err := s.LoadTx(ctx, tx, "order-9", 1)
			if err != nil {
				return err
			}
			if got, want := len(recs), 2; got != want {
				t.Errorf("LoadTx after version 1: got %d records, want %d", got, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
