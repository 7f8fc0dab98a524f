package projection_test

import (
	"context"
	"hash/fnv"
	"testing"

	"github.com/causeway-dev/causeway/projection"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// TestLeaderLockLost kills the PostgreSQL connection that holds the
// runner's leader lock (as a PostgreSQL restart does): the runner must
// stand for election again and go on applying, not return. The chaos run
// found runners that stopped for good after `pg_ctl stop -m immediate`.
func TestLeaderLockLost(t *testing.T) {
	db := sqltest.Postgres(t, projection.Migrations())
	b := startBroker(t, 3, testTopic)
	prod := newProducer(t, b.Addr(), testTopic)
	p := &counts{}
	r := newRunner(t, db, b, p, projection.WithBatchMax(50))
	stop := start(t, r)
	prod.produce(100, 7)
	eventually(t, "the first 100 events", func() bool { return reached(t, db, p.Name(), prod.position()) })

	h := fnv.New64a()
	_, _ = h.Write([]byte("causeway-projection:run:" + db.Schema + ":" + p.Name()))
	key := h.Sum64()
	var killed int
	if err := db.Write.QueryRowContext(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND pid <> pg_backend_pid()`,
		int64(uint32(key>>32)), int64(uint32(key))).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d lock holders, want 1", killed)
	}
	// Someone else takes the lock before the runner can: it must notice it
	// is no longer the leader, then take the lock back once it is free.
	ctx := context.Background()
	conn, err := db.Write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	eventually(t, "another session takes the lock", func() bool {
		var ok bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, int64(key)).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	})
	eventually(t, "the runner to step down", func() bool { return !r.Status().Leader })
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, int64(key)); err != nil {
		t.Fatal(err)
	}

	prod.produce(100, 7)
	eventually(t, "the next 100 events after the lock was lost", func() bool { return reached(t, db, p.Name(), prod.position()) })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if d := diff(dump(t, db, "key_counts"), prod.expected()); d != "[]" {
		t.Fatalf("after the lock was lost: %s", d)
	}
}
