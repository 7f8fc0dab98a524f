package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/internal/check"
	"github.com/causeway-dev/causeway/internal/loadgen"
	"github.com/causeway-dev/causeway/sqlite"
)

// runCmd runs the causeway command args and returns its stdout and error.
func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.ExecuteContext(context.Background())
	if err != nil {
		t.Logf("causeway %s: %v\nstderr:\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), err
}

// checkReport runs causeway check -o json with args.
func checkReport(t *testing.T, args ...string) (*check.Report, error) {
	t.Helper()
	out, err := runCmd(t, append([]string{"check", "-o", "json"}, args...)...)
	var rep check.Report
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
		t.Fatalf("check output: %v\n%s", jerr, out)
	}
	return &rep, err
}

// TestLoadgenThenCheck runs causeway up, a short open-loop loadgen with
// the default mix, then check (live with the DLQ, and offline after the
// stop): every invariant holds. Then copies of the data dir are corrupted
// and check must name the invariant that broke.
func TestLoadgenThenCheck(t *testing.T) {
	dir := t.TempDir()
	up := startUp(t, dir)

	out, err := runCmd(t, "loadgen", "--data-dir", dir, "--rate", "50", "--duration", "2s",
		"--drain", "60s", "--read-sample", "5", "-o", "json")
	if err != nil {
		t.Fatalf("loadgen: %v\n%s", err, out)
	}
	var rep loadgen.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("loadgen report: %v\n%s", err, out)
	}
	t.Logf("loadgen: sent %d accepted %d terminal %v p99 202 %.1fms terminal %.1fms read %.1fms",
		rep.Sent, rep.Accepted, rep.Terminal, rep.Latency.Accept.P99, rep.Latency.Terminal.P99, rep.Latency.Read.P99)
	if rep.Sent != 100 || rep.Accepted != 100 || rep.Errors != 0 || len(rep.Rejected) != 0 {
		t.Errorf("sent %d, accepted %d, errors %d, rejected %v; want 100 sent and accepted", rep.Sent, rep.Accepted, rep.Errors, rep.Rejected)
	}
	if !rep.Observed || rep.NotTerminal != 0 || rep.Unexpected != 0 || rep.Latency.Terminal.Count != 100 {
		t.Errorf("observed %v, not terminal %d, unexpected %d, terminal latencies %d; want all 100 terminal as expected",
			rep.Observed, rep.NotTerminal, rep.Unexpected, rep.Latency.Terminal.Count)
	}
	// The default mix over 100 orders: 90 ok + 3 flaky shipped, 3 declined,
	// 2 sold out, 2 XX.
	want := map[string]int{"shipped": 93, "cancelled/payment_failed": 3, "cancelled/out_of_stock": 2, "cancelled/shipping_failed": 2}
	for k, n := range want {
		if rep.Terminal[k] != n {
			t.Errorf("terminal %s: %d, want %d (all: %v)", k, rep.Terminal[k], n, rep.Terminal)
		}
	}
	if rep.Latency.Read.Count == 0 {
		t.Errorf("no place → read model latency measured")
	}
	// Throughput through the saga: 100 orders over the time to the last
	// terminal event, which comes after the last send and no later than
	// the end of the drain.
	if rep.LastTerminal < rep.Elapsed-1 || rep.LastTerminal > rep.Elapsed+rep.Drain+1 ||
		rep.CompletedRate <= 0 || math.Abs(rep.CompletedRate*rep.LastTerminal-100) > 0.5 {
		t.Errorf("completed %.1f/s, last terminal at %.2fs (elapsed %.2fs, drain %.2fs); want 100 orders over the time to the last terminal",
			rep.CompletedRate, rep.LastTerminal, rep.Elapsed, rep.Drain)
	}
	orders, err := loadgen.ReadOrdersFile(filepath.Join(dir, DefaultOrdersFile))
	if err != nil || len(orders) != 100 {
		t.Fatalf("orders file: %d orders, %v", len(orders), err)
	}

	// Live, with the dead-letter topics.
	live, err := checkReport(t, "--data-dir", dir, "--brokers", up.rt.KafkaAddr, "--wait", "30s")
	if err != nil || !live.OK {
		t.Fatalf("live check: %v: %+v", err, live.Results)
	}
	if r, _ := live.Result(check.DLQExpected); r.Status != check.Pass {
		t.Errorf("dlq: %+v, want PASS", r)
	}
	if r, _ := live.Result(check.ProjectionsRebuild); r.Status != check.Pass || !strings.Contains(r.Summary, "4 projections") {
		t.Errorf("projections: %+v, want PASS over the 4 projections", r)
	}
	// A read model that differs from its rebuild fails projections-rebuild
	// (and nothing else): one order's status changed behind the runner's back.
	readDB, err := sqlite.Open(context.Background(), filepath.Join(dir, "read.db"))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := readDB.Write.ExecContext(context.Background(), `UPDATE order_views SET status = 'placed' WHERE order_id = $1`, orders[0].OrderID); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("corrupt order_views: %d rows", n)
	}
	_ = readDB.Close()
	bad, err := checkReport(t, "--data-dir", dir, "--brokers", up.rt.KafkaAddr)
	if err == nil || bad.OK {
		t.Errorf("check passed with a corrupted read model")
	}
	for _, r := range bad.Results {
		if (r.Status == check.Fail) != (r.Name == check.ProjectionsRebuild) {
			t.Errorf("corrupted read model: %s is %s: %v", r.Name, r.Status, r.Details)
		}
		if r.Name == check.ProjectionsRebuild && (len(r.Details) == 0 || !strings.Contains(r.Details[0], "order_views")) {
			t.Errorf("projections-rebuild details %q: want the order_views difference", r.Details)
		}
	}
	if err := up.stop(); err != nil {
		t.Fatal(err)
	}
	offline, err := checkReport(t, "--data-dir", dir)
	if err != nil || !offline.OK {
		t.Fatalf("offline check: %v: %+v", err, offline.Results)
	}
	for _, r := range offline.Results {
		if r.Status == check.Fail {
			t.Errorf("%s: FAIL", r.Name)
		}
	}
	// Expecting a dead letter that is not there fails.
	if rep, err := checkReport(t, "--data-dir", dir, "--brokers", "127.0.0.1:1", "--timeout", "3s", "--expect-dlq", "1"); err == nil || rep.OK {
		t.Errorf("check expecting 1 dead letter on an unreachable broker passed")
	}

	shipped, declined := "", ""
	for _, o := range orders {
		if o.Path == "ok" && shipped == "" {
			shipped = o.OrderID
		}
		if o.Path == "declined" && declined == "" {
			declined = o.OrderID
		}
	}
	corruptions := []struct {
		name    string
		db      string
		sql     string
		args    []any
		failing []string
	}{
		{"refund of a shipped order", "payment",
			`INSERT INTO payment_ledger (order_id, kind, amount_minor, currency, event_id, created_at) VALUES ($1, 'refund', 100, 'USD', 'corrupt', 0)`,
			[]any{shipped}, []string{check.EffectsOnce, check.MoneyConserved}},
		{"capture of a declined order", "payment",
			`INSERT INTO payment_ledger (order_id, kind, amount_minor, currency, event_id, created_at) VALUES ($1, 'capture', 999, 'USD', 'corrupt', 0)`,
			[]any{declined}, []string{check.EffectsOnce, check.MoneyConserved}},
		{"outbox row left", "shipping",
			`INSERT INTO outbox (topic, key, value, created_at) VALUES ('shipping', 'k', NULL, 0)`,
			nil, []string{check.OutboxDrained}},
		{"stock leaked", "inventory",
			`UPDATE inventory_stock SET available = available - 1 WHERE product_id = 'p-2'`,
			nil, []string{check.StockConserved}},
		{"terminal event lost", "order",
			`DELETE FROM events WHERE event_type = 'order.shipped' AND stream_id = $1`,
			[]any{"order-" + shipped}, []string{check.OrdersTerminal}},
		{"version gap", "order",
			`DELETE FROM events WHERE version = 2 AND stream_id = $1`,
			[]any{"order-" + shipped}, []string{check.VersionsContiguous, check.TransitionsLegal}},
	}
	for _, c := range corruptions {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			cp := t.TempDir()
			copyDBs(t, dir, cp)
			db, err := sqlite.Open(context.Background(), filepath.Join(cp, c.db+".db"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Write.Exec(c.sql, c.args...); err != nil {
				t.Fatalf("corrupt: %v", err)
			}
			db.Close()
			rep, err := checkReport(t, "--data-dir", cp)
			if !errors.Is(err, errCheckFailed) || rep.OK {
				t.Fatalf("check after %s: %v, ok %v; want a failure", c.name, err, rep.OK)
			}
			for _, name := range c.failing {
				if r, _ := rep.Result(name); r.Status != check.Fail || len(r.Details) == 0 {
					t.Errorf("%s: %+v, want FAIL with details", name, r)
				}
			}
		})
	}
}

// copyDBs copies the SQLite files (checkpointed by the clean stop) and the
// orders file of src to dst.
func copyDBs(t *testing.T, src, dst string) {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(src, "*.db*"))
	paths = append(paths, filepath.Join(src, DefaultOrdersFile))
	for _, p := range paths {
		in, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, filepath.Base(p)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		out.Close()
	}
}

// TestLoadgenRejectsBadFlags: no rate, both modes, a bad mix.
func TestLoadgenRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"loadgen", "--no-observe", "--target", "http://127.0.0.1:1"},
		{"loadgen", "--no-observe", "--rate", "5", "--max"},
		{"loadgen", "--no-observe", "--rate", "5", "--mix", "ok=1,bogus=2"},
		{"loadgen", "--no-observe", "--rate", "5", "--duration", "0s"},
		{"check", "--data-dir", t.TempDir()},
	} {
		if _, err := runCmd(t, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
