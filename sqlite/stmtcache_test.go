package sqlite

import (
	"context"

	"errors"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/sqldb"
)

func openTest(t testing.TB, opts ...Option) *sqldb.DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Write.Exec(`CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL CHECK (v >= 0))`); err != nil {
		t.Fatal(err)
	}
	return db
}

// cached returns the statement texts the write connection keeps.
func cached(t *testing.T, db *sqldb.DB) map[string]*cachedStmt {
	t.Helper()
	conn, err := db.Write.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	out := map[string]*cachedStmt{}
	if err := conn.Raw(func(dc any) error {
		c, ok := dc.(*cachingConn)
		if !ok {
			return fmt.Errorf("driver conn is %T, want *cachingConn", dc)
		}
		for q, e := range c.stmts {
			out[q] = e
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

const (
	insertKV = `INSERT INTO kv (k, v) VALUES ($1, $2)`
	selectKV = `SELECT k, v FROM kv WHERE v >= $1 ORDER BY k`
)

func TestStmtCacheReusesStatements(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	for i := range 50 {
		if _, err := db.Write.ExecContext(ctx, insertKV, fmt.Sprintf("k%02d", i), i); err != nil {
			t.Fatal(err)
		}
	}
	first := cached(t, db)[insertKV]
	if first == nil {
		t.Fatal("insert statement not cached")
	}
	for i := 50; i < 60; i++ {
		if _, err := db.Write.ExecContext(ctx, insertKV, fmt.Sprintf("k%02d", i), i); err != nil {
			t.Fatal(err)
		}
	}
	if got := cached(t, db)[insertKV]; got != first {
		t.Fatal("the cached statement was replaced, want it reused")
	}
	var n int
	if err := db.Write.QueryRowContext(ctx, `SELECT COUNT(*) FROM kv WHERE v >= $1`, 10).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 50 {
		t.Fatalf("count = %d, want 50", n)
	}
}

// TestStmtCacheNestedUse runs a statement text while rows of the same text
// are still open, inside one transaction (one connection): the inner use
// runs uncached and both see correct results.
func TestStmtCacheNestedUse(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
		for i := range 5 {
			if _, err := tx.ExecContext(ctx, insertKV, fmt.Sprintf("k%d", i), i); err != nil {
				return err
			}
		}
		outer, err := tx.QueryContext(ctx, selectKV, 0)
		if err != nil {
			return err
		}
		defer outer.Close()
		rows := 0
		for outer.Next() {
			var k string
			var v int
			if err := outer.Scan(&k, &v); err != nil {
				return err
			}
			var inner int
			in, err := tx.QueryContext(ctx, selectKV, v)
			if err != nil {
				return err
			}
			for in.Next() {
				inner++
			}
			if err := in.Close(); err != nil {
				return err
			}
			if want := 5 - v; inner != want {
				return fmt.Errorf("inner rows for v >= %d: %d, want %d", v, inner, want)
			}
			rows++
		}
		if rows != 5 {
			return fmt.Errorf("outer rows %d, want 5", rows)
		}
		return outer.Err()
	}); err != nil {
		t.Fatal(err)
	}
}

// TestStmtCacheDropsFailedStatements: a statement whose run failed (a
// constraint) is not kept, and the same text runs fine afterwards.
func TestStmtCacheDropsFailedStatements(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if _, err := db.Write.ExecContext(ctx, insertKV, "a", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Write.ExecContext(ctx, insertKV, "a", 2); err == nil {
		t.Fatal("duplicate key accepted")
	}
	if _, ok := cached(t, db)[insertKV]; ok {
		t.Error("a statement that failed stayed cached")
	}
	if _, err := db.Write.ExecContext(ctx, insertKV, "b", -1); err == nil {
		t.Fatal("CHECK violation accepted")
	}
	if _, err := db.Write.ExecContext(ctx, insertKV, "b", 2); err != nil {
		t.Fatalf("after failures: %v", err)
	}
	var n int
	if err := db.Write.QueryRowContext(ctx, `SELECT COUNT(*) FROM kv`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows = %d (%v), want 2", n, err)
	}
	// A syntax error is an error, and nothing is cached for it.
	if _, err := db.Write.ExecContext(ctx, `INSERT INTO nope VALUES (1)`); err == nil {
		t.Fatal("insert into a missing table accepted")
	}
	if _, ok := cached(t, db)[`INSERT INTO nope VALUES (1)`]; ok {
		t.Error("a statement that did not prepare is cached")
	}
}

// TestStmtCacheBounded: the cache keeps at most its size, evicting the
// least recently used statements, and evicted texts still run.
func TestStmtCacheBounded(t *testing.T) {
	db := openTest(t, StmtCacheSize(3))
	ctx := context.Background()
	for round := range 3 {
		for i := range 10 {
			q := fmt.Sprintf(`SELECT %d + $1`, i)
			var got int
			if err := db.Write.QueryRowContext(ctx, q, round).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != i+round {
				t.Fatalf("%s with %d = %d", q, round, got)
			}
		}
	}
	c := cached(t, db)
	if len(c) != 3 {
		t.Fatalf("cached %d statements, want 3", len(c))
	}
	for _, i := range []int{7, 8, 9} {
		if _, ok := c[fmt.Sprintf(`SELECT %d + $1`, i)]; !ok {
			t.Errorf("statement %d (recently used) not cached", i)
		}
	}
}

// TestStmtCachePreparedStatements: statements prepared explicitly come
// from the cache and go back when closed, including a transaction's.
func TestStmtCachePreparedStatements(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	st, err := db.Write.PrepareContext(ctx, insertKV)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ExecContext(ctx, "a", 1); err != nil {
		t.Fatal(err)
	}
	// The text, while the statement is lent: runs uncached.
	if _, err := db.Write.ExecContext(ctx, insertKV, "b", 2); err != nil {
		t.Fatal(err)
	}
	if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
		ts := tx.StmtContext(ctx, st)
		if _, err := ts.ExecContext(ctx, "c", 3); err != nil {
			return err
		}
		p, err := tx.PrepareContext(ctx, selectKV)
		if err != nil {
			return err
		}
		var k string
		var v int
		if err := p.QueryRowContext(ctx, 3).Scan(&k, &v); err != nil {
			return err
		}
		if k != "c" || v != 3 {
			return fmt.Errorf("got %s=%d", k, v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	c := cached(t, db)
	for _, q := range []string{insertKV, selectKV} {
		e, ok := c[q]
		if !ok {
			t.Errorf("%q not cached after its Stmt closed", q)
			continue
		}
		if e.busy {
			t.Errorf("%q still busy after its Stmt closed", q)
		}
	}
}

// TestStmtCacheCancelledQuery: a query cancelled by its context fails and
// the connection goes on working.
func TestStmtCacheCancelledQuery(t *testing.T) {
	db := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.Write.ExecContext(ctx, insertKV, "a", 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := db.Write.ExecContext(context.Background(), insertKV, "a", 1); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := db.Read.QueryRowContext(context.Background(), `SELECT v FROM kv WHERE k = $1`, "a").Scan(&v); err != nil || v != 1 {
		t.Fatalf("read back %d, %v", v, err)
	}
}

// BenchmarkStmtCache compares a small insert and a point query by text,
// with and without the statement cache, in the same run.
func BenchmarkStmtCache(b *testing.B) {
	for _, size := range []int{DefaultStmtCacheSize, 0} {
		name := "cached"
		if size == 0 {
			name = "uncached"
		}
		b.Run(name, func(b *testing.B) {
			db := openTest(b, StmtCacheSize(size))
			ctx := context.Background()
			i := 0
			for b.Loop() {
				if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
					if _, err := tx.ExecContext(ctx, insertKV, fmt.Sprint(i), i); err != nil {
						return err
					}
					var v int
					return tx.QueryRowContext(ctx, `SELECT v FROM kv WHERE k = $1`, fmt.Sprint(i)).Scan(&v)
				}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// TestWriteTxStatementsEndWithTheirContext: inside a write transaction a
// statement runs without handing its context's cancellation to the
// driver, but a context that has ended stops the next statement and
// nothing of the transaction commits; outside a transaction and on the
// read pool the cancellation is the driver's, as before.
func TestWriteTxStatementsEndWithTheirContext(t *testing.T) {
	// The check itself, deterministically.
	live, cancelLive := context.WithCancel(context.Background())
	defer cancelLive()
	ended, end := context.WithCancel(context.Background())
	end()
	c := &cachingConn{txNoCancel: true}
	if got, err := c.stmtCtx(live); err != nil || got != live {
		t.Errorf("outside a transaction: %v, %v; want the context itself", got, err)
	}
	c.inTx = true
	if got, err := c.stmtCtx(live); err != nil || got.Done() != nil {
		t.Errorf("inside a transaction: done channel %v, err %v; want a context without cancellation", got.Done(), err)
	}
	if _, err := c.stmtCtx(ended); !errors.Is(err, context.Canceled) {
		t.Errorf("inside a transaction, ended context: %v, want context.Canceled", err)
	}
	c.txNoCancel = false // the read pool
	if got, err := c.stmtCtx(live); err != nil || got != live {
		t.Errorf("read pool: %v, %v; want the context itself", got, err)
	}

	// Through database/sql: a batch whose context ends stops and commits
	// nothing. (database/sql also rolls the transaction back when its
	// context ends, so the error is ours or its own.)
	db := openTest(t)
	for _, prepared := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if _, err := tx.ExecContext(ctx, insertKV, "a", 1); err != nil {
				return err
			}
			cancel()
			if prepared {
				st, err := tx.PrepareContext(context.Background(), insertKV)
				if err != nil {
					return err
				}
				defer st.Close()
				_, err = st.ExecContext(ctx, "b", 2)
				return err
			}
			_, err := tx.ExecContext(ctx, insertKV, "b", 2)
			return err
		})
		if err == nil {
			t.Fatalf("prepared=%v: the batch went on after its context ended", prepared)
		}
		var n int
		if err := db.Read.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM kv`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("prepared=%v: rows after the cancelled transaction: %d, %v; want 0 (rolled back)", prepared, n, err)
		}
	}
	// The connection is usable again, with and without a transaction.
	if err := db.InTx(context.Background(), func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(context.Background(), insertKV, "d", 4)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Read.QueryContext(ended, `SELECT v FROM kv`); !errors.Is(err, context.Canceled) {
		t.Fatalf("read pool with an ended context: %v, want context.Canceled", err)
	}
}

// BenchmarkWriteTxContext runs a transaction of 20 small inserts with a
// cancellable context on the write pool as it is (no per-statement
// context watcher inside transactions) and with every statement handing
// its context to the driver (the reference: modernc.org/sqlite's watcher
// goroutine per statement), in the same run.
func BenchmarkWriteTxContext(b *testing.B) {
	for _, watched := range []bool{false, true} {
		name := "tx-no-watcher"
		if watched {
			name = "watcher-per-statement"
		}
		b.Run(name, func(b *testing.B) {
			db := openTest(b)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			conn, err := db.Write.Conn(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if err := conn.Raw(func(dc any) error { dc.(*cachingConn).txNoCancel = !watched; return nil }); err != nil {
				b.Fatal(err)
			}
			_ = conn.Close()
			i := 0
			cpu0 := cpuTime(b)
			for b.Loop() {
				if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
					for range 20 {
						if _, err := tx.ExecContext(ctx, insertKV, fmt.Sprint(i), i); err != nil {
							return err
						}
						i++
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i), "ns/statement")
			b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(i), "cpu-ns/statement")
		})
	}
}

// cpuTime returns the process's user+system CPU time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
