package saga_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/postgres"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
	"github.com/causeway-dev/causeway/sqlite"
)

// reopener returns a function that opens a new handle on one database,
// migrated, for each dialect.
func reopeners() map[string]func(t *testing.T) func() *sqldb.DB {
	return map[string]func(t *testing.T) func() *sqldb.DB{
		"sqlite": func(t *testing.T) func() *sqldb.DB {
			path := filepath.Join(t.TempDir(), "saga.db")
			return func() *sqldb.DB {
				db, err := sqlite.Open(context.Background(), path)
				if err != nil {
					t.Fatal(err)
				}
				if err := db.Migrate(context.Background(), migs...); err != nil {
					t.Fatal(err)
				}
				return db
			}
		},
		"postgres": func(t *testing.T) func() *sqldb.DB {
			keep := sqltest.Postgres(t, migs...) // owns the schema's cleanup
			url := sqltest.PostgresURL(t)
			return func() *sqldb.DB {
				db, err := postgres.Open(context.Background(), url, keep.Schema)
				if err != nil {
					t.Fatal(err)
				}
				return db
			}
		},
	}
}

func TestCrashResumption(t *testing.T) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			reopen := reopeners()[name](t)
			clk := newClock()

			// Process 1: three sagas in flight.
			db := reopen()
			o := newOrch(t, db, clk)
			for _, id := range []string{"a", "b", "c"} {
				start(t, db, o, id)
			}
			first := drain(t, db) // published by the relay
			byID := map[string]sent{}
			for _, c := range first {
				byID[c.Key] = c
			}
			p := participant{}
			// a: its payment reply is handled and committed; the next
			// command stays unpublished in the outbox.
			ra, _ := p.reply(t, byID["a"].Env)
			deliver(t, db, o, ra)
			// b: the process dies in the middle of handling the reply.
			rb, _ := p.reply(t, byID["b"].Env)
			tx, err := db.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := o.HandleReply(ctx, tx, rb); !ok || err != nil {
				t.Fatalf("HandleReply = %v, %v", ok, err)
			}
			_ = tx.Rollback()
			// c: no reply ever comes.
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}

			// Process 2, after the crash.
			db = reopen()
			t.Cleanup(func() { _ = db.Close() })
			o = newOrch(t, db, clk)
			if st := get(t, o, "b"); st.Status != saga.StatusRunning || st.Step != 0 {
				t.Fatalf("b after crash = %s step %d, want running step 0", st.Status, st.Step)
			}
			// The consumer had not committed b's offset: the reply comes again.
			if !deliver(t, db, o, rb) {
				t.Fatal("redelivered reply for b not handled")
			}
			// a's reply is delivered again too (at least once): a no-op.
			if deliver(t, db, o, ra) {
				t.Fatal("duplicate reply for a handled")
			}
			p.silent = map[string]bool{"payment.process": true} // c's payment never answers
			cmds := pump(t, db, o, p, 1)
			perKey := map[string][]string{}
			for _, c := range cmds {
				perKey[c.Key] = append(perKey[c.Key], c.Env.EventType)
			}
			for _, id := range []string{"a", "b"} {
				if got, want := perKey[id], []string{"inventory.reserve", "shipping.create"}; !slices.Equal(got, want) {
					t.Errorf("%s commands after restart = %v, want %v", id, got, want)
				}
				if st := get(t, o, id); st.Status != saga.StatusCompleted {
					t.Errorf("%s = %s, want completed", id, st.Status)
				}
			}
			// c's deadline survived the restart.
			clk.Advance(time.Minute)
			if n, err := o.Tick(ctx); n != 1 || err != nil {
				t.Fatalf("Tick = %d, %v; want 1", n, err)
			}
			if got := types(pump(t, db, o, participant{}, 1)); !slices.Equal(got, []string{"payment.refund"}) {
				t.Fatalf("c after timeout = %v, want [payment.refund]", got)
			}
			if st := get(t, o, "c"); st.Status != saga.StatusCompensated {
				t.Fatalf("c = %s, want compensated", st.Status)
			}
		})
	}
}

// deliverRetry hands a reply over like the consumer runner does: a
// conflict is retried.
func deliverRetry(db *sqldb.DB, o *saga.Orchestrator, r event.Envelope) error {
	for {
		err := db.InTx(context.Background(), func(tx *sqldb.Tx) error {
			_, err := o.HandleReply(context.Background(), tx, r)
			return err
		})
		if !errors.Is(err, saga.ErrConflict) {
			return err
		}
	}
}

func TestConcurrentReplies(t *testing.T) {
	const sagas = 40
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		db := open(t, migs...)
		o := newOrch(t, db, newClock())
		for i := range sagas {
			start(t, db, o, fmt.Sprintf("o-%02d", i))
		}
		// Every third order fails at inventory.
		p := participant{}
		failing := func(key string) bool {
			var n int
			_, _ = fmt.Sscanf(key, "o-%d", &n)
			return n%3 == 0
		}
		var all []sent
		for round := 0; ; round++ {
			cmds := drain(t, db)
			if len(cmds) == 0 {
				break
			}
			all = append(all, cmds...)
			var replies []event.Envelope
			for _, c := range cmds {
				pp := p
				if failing(c.Key) {
					pp = participant{fail: map[string]bool{"inventory.reserve": true}}
				}
				r, _ := pp.reply(t, c.Env)
				replies = append(replies, r, r) // each delivered twice
			}
			rand.Shuffle(len(replies), func(i, j int) { replies[i], replies[j] = replies[j], replies[i] })
			var wg sync.WaitGroup
			errs := make(chan error, len(replies))
			for _, r := range replies {
				wg.Go(func() { errs <- deliverRetry(db, o, r) })
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
		}
		perKey := map[string][]string{}
		for _, c := range all {
			perKey[c.Key] = append(perKey[c.Key], c.Env.EventType)
		}
		for i := range sagas {
			id := fmt.Sprintf("o-%02d", i)
			want, status := []string{"payment.process", "inventory.reserve", "shipping.create"}, saga.StatusCompleted
			if failing(id) {
				want, status = []string{"payment.process", "inventory.reserve", "payment.refund"}, saga.StatusCompensated
			}
			if got := perKey[id]; !slices.Equal(got, want) {
				t.Errorf("%s commands = %v, want %v", id, got, want)
			}
			if st := get(t, o, id); st.Status != status {
				t.Errorf("%s = %s, want %s", id, st.Status, status)
			}
		}
		counts, err := o.Counts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := counts[saga.StatusCompensated], (sagas+2)/3; got != want {
			t.Errorf("compensated = %d, want %d", got, want)
		}
		if got, want := counts[saga.StatusCompleted], sagas-(sagas+2)/3; got != want {
			t.Errorf("completed = %d, want %d", got, want)
		}
	})
}
