package main

// Tests of `causeway status` live in package main: a main package cannot
// be imported by an external _test package.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqlite"
)

// statusFixture is a broker where:
//
//	events/0: 10 records, the first 100 minutes old; group "batch"
//	          committed 3 and has no members
//	events/1: 4 records; "batch" committed 4 (caught up)
//	dlq.batch/0: 2 records, the first 30 minutes old
//	group "live": one member, client id "status-test-member", consuming
//	          events and committed everything it read
//
// and a data dir with order.db (outbox of 2 rows) and notes.db (no outbox).
type statusFixture struct {
	addr    string
	dataDir string
	oldest  time.Time // of events/0 offset 3
}

func newStatusFixture(t *testing.T) *statusFixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	b, err := kafka.StartBroker(ctx, kafka.WithAddr("127.0.0.1:0"), kafka.WithTopics(
		kafka.TopicSpec{Name: "events", Partitions: 2, ReplicationFactor: -1},
		kafka.DeadLetterTopicSpec("batch", 1, -1),
	))
	if err != nil {
		t.Fatalf("StartBroker: %v", err)
	}
	t.Cleanup(b.Close)
	prod, err := kafka.NewClient(b.ClientConfig(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	now := time.Now().Truncate(time.Millisecond)
	var recs []*kgo.Record
	for i := range 10 {
		recs = append(recs, &kgo.Record{Topic: "events", Partition: 0, Value: []byte("x"),
			Timestamp: now.Add(time.Duration(i-100) * time.Minute)})
	}
	for i := range 4 {
		recs = append(recs, &kgo.Record{Topic: "events", Partition: 1, Value: []byte("x"),
			Timestamp: now.Add(time.Duration(i-50) * time.Minute)})
	}
	for i := range 2 {
		recs = append(recs, &kgo.Record{Topic: "dlq.batch", Value: []byte("x"),
			Timestamp: now.Add(time.Duration(i-30) * time.Minute)})
	}
	if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	offs := make(kadm.Offsets)
	offs.Add(kadm.Offset{Topic: "events", Partition: 0, At: 3, LeaderEpoch: -1})
	offs.Add(kadm.Offset{Topic: "events", Partition: 1, At: 4, LeaderEpoch: -1})
	if r, err := kadm.NewClient(prod).CommitOffsets(ctx, "batch", offs); err != nil || r.Error() != nil {
		t.Fatalf("commit: %v %v", err, r.Error())
	}

	// A live member that consumed and committed everything.
	live, err := kafka.NewClient(b.ClientConfig(), kgo.ClientID("status-test-member"),
		kgo.ConsumerGroup("live"), kgo.ConsumeTopics("events"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(live.Close)
	for n := 0; n < 14; {
		fs := live.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("live poll: %v", err)
		}
		n += fs.NumRecords()
	}
	if err := live.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("live commit: %v", err)
	}

	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "order.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx, outbox.Migrations()); err != nil {
		t.Fatal(err)
	}
	if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
		return outbox.Enqueue(ctx, tx, outbox.Message{Topic: "orders", Key: "u-1", Value: []byte("{}")},
			outbox.Message{Topic: "orders", Key: "u-2", Value: []byte("{}")})
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	other, err := sqlite.Open(ctx, filepath.Join(dir, "notes.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Write.ExecContext(ctx, `CREATE TABLE notes (x TEXT)`); err != nil {
		t.Fatal(err)
	}
	_ = other.Close()
	if err := os.WriteFile(filepath.Join(dir, "causeway.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &statusFixture{addr: b.Addr(), dataDir: dir, oldest: now.Add(-97 * time.Minute)}
}

// runStatus runs `causeway status args...` in process and returns stdout.
func runStatus(t *testing.T, args ...string) string {
	t.Helper()
	var out, errs bytes.Buffer
	root := newRootCmd()
	root.SetArgs(append([]string{"status"}, args...))
	root.SetOut(&out)
	root.SetErr(&errs)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatalf("causeway status %v: %v\nstderr: %s", args, err, errs.String())
	}
	if errs.Len() > 0 {
		t.Errorf("causeway status %v wrote to stderr: %s", args, errs.String())
	}
	return out.String()
}

func TestStatusJSON(t *testing.T) {
	f := newStatusFixture(t)
	before := time.Now()
	out := runStatus(t, "--brokers", f.addr, "--output", "json", "--data-dir", f.dataDir)
	var r statusReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output is not the JSON report: %v\n%s", err, out)
	}
	groups := map[string]statusGroup{}
	for _, g := range r.Groups {
		groups[g.Group] = g
	}
	if g := groups["batch"]; g.State != "Empty" || len(g.Members) != 0 {
		t.Errorf("group batch: %+v, want Empty without members", g)
	}
	live := groups["live"]
	if live.State != "Stable" || len(live.Members) != 1 || live.Members[0].ClientID != "status-test-member" ||
		live.Members[0].Host == "" || live.Members[0].Partitions != 2 {
		t.Errorf("group live: %+v, want Stable with member status-test-member on 2 partitions", live)
	}
	rows := map[string]statusPartition{}
	for _, p := range r.Partitions {
		rows[fmt.Sprintf("%s/%s/%d", p.Group, p.Topic, p.Partition)] = p
	}
	p := rows["batch/events/0"]
	if p.Committed == nil || *p.Committed != 3 || p.End == nil || *p.End != 10 || p.Lag == nil || *p.Lag != 7 {
		t.Errorf("batch events/0: %+v, want committed 3, end 10, lag 7", p)
	}
	// At least the age of the oldest unconsumed record when we started,
	// rounded down to the millisecond.
	if minAge := before.Sub(f.oldest).Seconds() - 0.001; p.LagSeconds == nil || *p.LagSeconds < minAge {
		t.Errorf("batch events/0 lag seconds %v, want at least %.3f", p.LagSeconds, minAge)
	}
	if p := rows["batch/events/1"]; p.Lag == nil || *p.Lag != 0 || p.LagSeconds == nil || *p.LagSeconds != 0 {
		t.Errorf("batch events/1: %+v, want lag 0 and 0 s", p)
	}
	for _, k := range []string{"live/events/0", "live/events/1"} {
		p := rows[k]
		if p.Lag == nil || *p.Lag != 0 || p.ClientID != "status-test-member" {
			t.Errorf("%s: %+v, want lag 0, assigned to status-test-member", k, p)
		}
	}
	var dlq *statusDLQ
	for i := range r.DeadLetters {
		if r.DeadLetters[i].Group == "batch" {
			dlq = &r.DeadLetters[i]
		}
	}
	if dlq == nil || dlq.Depth != 2 || dlq.OldestAgeSeconds == nil || *dlq.OldestAgeSeconds < 30*60-1 {
		t.Errorf("dead letters of batch: %+v, want depth 2, oldest at least 30 minutes old", dlq)
	}
	if len(r.Outbox) != 1 || r.Outbox[0].Service != "order" || r.Outbox[0].Backlog == nil || *r.Outbox[0].Backlog != 2 {
		t.Errorf("outbox: %+v, want only order with a backlog of 2", r.Outbox)
	}
}

func TestStatusTableAndGroupFilter(t *testing.T) {
	f := newStatusFixture(t)
	out := runStatus(t, "--brokers", f.addr, "--group", "batch", "--data-dir", filepath.Join(f.dataDir, "missing"))
	lines := strings.Split(out, "\n")
	has := func(fields ...string) bool {
		for _, l := range lines {
			if strings.Join(strings.Fields(l), " ") == strings.Join(fields, " ") {
				return true
			}
		}
		return false
	}
	for _, want := range [][]string{
		{"GROUP", "STATE", "MEMBERS", "ASSIGNOR", "ERROR"},
		{"batch", "Empty", "0", "-", "-"},
		{"GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "LAG-SECONDS", "CLIENT-ID", "HOST"},
		{"batch", "events", "1", "4", "4", "0", "0.0", "-", "-"},
		{"GROUP", "DLQ-TOPIC", "DEPTH", "OLDEST-AGE-SECONDS"},
		{"SERVICE", "OUTBOX-BACKLOG", "DATABASE"},
	} {
		if !has(want...) {
			t.Errorf("no line %q in:\n%s", strings.Join(want, " "), out)
		}
	}
	var lagRow []string
	for _, l := range lines {
		if fs := strings.Fields(l); len(fs) == 9 && fs[0] == "batch" && fs[1] == "events" && fs[2] == "0" {
			lagRow = fs
		}
	}
	if lagRow == nil {
		t.Fatalf("no events/0 row of batch in:\n%s", out)
	}
	if secs, err := strconv.ParseFloat(lagRow[6], 64); err != nil || lagRow[3] != "3" || lagRow[4] != "10" || lagRow[5] != "7" || secs < 97*60 {
		t.Errorf("events/0 row %q, want committed 3, end 10, lag 7, lag seconds ≥ 5820 (97 min)", lagRow)
	}
	if !strings.Contains(out, "dlq.batch") {
		t.Errorf("no dead-letter row of batch:\n%s", out)
	}
	if strings.Contains(out, "live") {
		t.Errorf("--group batch also shows group live:\n%s", out)
	}
}

func TestStatusRejectsBadOutput(t *testing.T) {
	root := newRootCmd()
	root.SetArgs([]string{"status", "--output", "yaml"})
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	if err := root.ExecuteContext(t.Context()); err == nil || !strings.Contains(err.Error(), "yaml") {
		t.Errorf("--output yaml: err %v, want one naming yaml", err)
	}
}
