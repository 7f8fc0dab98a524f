package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/dlq"
	"github.com/causeway-dev/causeway/kafka"
)

// dlqFixture starts a broker with two dead letters of group g (as a
// consumer.Runner writes them) and returns the broker address and the ids.
func dlqFixture(t *testing.T, g string) (addr string, ids []string) {
	t.Helper()
	ctx := context.Background()
	specs := append([]kafka.TopicSpec{{Name: "orders", Partitions: 1, ReplicationFactor: -1}},
		kafka.GroupTopicSpecs(g, 1, -1)...)
	b, err := kafka.StartBroker(ctx, kafka.WithAddr("127.0.0.1:0"), kafka.WithTopics(specs...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	for i, c := range []struct{ key, value, err, kind string }{
		{"u-1", `{"eventId":"e-1","eventType":"order.placed","version":9}`, "unknown version 9 of order.placed", consumer.KindUnknownVersion},
		{"u-2", `{"eventId":"e-2","eventType":"order.placed","version":2}`, "boom: gateway timeout", consumer.KindError},
	} {
		id := consumer.LetterID(g, "orders", 0, int64(10+i))
		ids = append(ids, id)
		hs := []kgo.RecordHeader{}
		for _, kv := range [][2]string{
			{consumer.HeaderTopic, "orders"}, {consumer.HeaderPartition, "0"}, {consumer.HeaderOffset, fmt.Sprint(10 + i)},
			{consumer.HeaderGroup, g}, {consumer.HeaderError, c.err}, {consumer.HeaderErrorKind, c.kind},
			{consumer.HeaderErrorClass, consumer.ClassHandler}, {consumer.HeaderAttempts, "5"},
			{consumer.HeaderFirstFailure, now}, {consumer.HeaderLastFailure, now}, {consumer.HeaderLetterID, id},
		} {
			hs = append(hs, kgo.RecordHeader{Key: kv[0], Value: []byte(kv[1])})
		}
		rec := &kgo.Record{Topic: kafka.DeadLetterTopic(g), Key: []byte(c.key), Value: []byte(c.value), Headers: hs}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Addr(), ids
}

// runDLQ runs `causeway dlq ARGS…` in process and returns stdout and the
// error.
func runDLQ(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"dlq"}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func replayRecords(t *testing.T, addr, g string) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(kafka.ReplayTopic(g)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(context.Background(), kafka.ReplayTopic(g))
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	ends.Each(func(o kadm.ListedOffset) { want += o.Offset })
	var recs []*kgo.Record
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for int64(len(recs)) < want && ctx.Err() == nil {
		recs = append(recs, cl.PollFetches(ctx).Records()...)
	}
	return recs
}

func TestDLQCommand(t *testing.T) {
	const g = "payment-service"
	addr, ids := dlqFixture(t, g)
	dir := t.TempDir()
	common := []string{"--brokers", addr, "--data-dir", dir, "--timeout", "30s"}
	run := func(args ...string) (string, error) {
		t.Helper()
		return runDLQ(t, append(args, common...)...)
	}

	out, err := run("list")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ID", "STATUS", ids[0], ids[1], "unknown-version", "boom: gateway timeout", "open"} {
		if !strings.Contains(out, want) {
			t.Errorf("list table lacks %q:\n%s", want, out)
		}
	}
	out, err = run("list", "--error", "TIMEOUT", "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var ls []dlq.Letter
	if err := json.Unmarshal([]byte(out), &ls); err != nil {
		t.Fatalf("list json: %v\n%s", err, out)
	}
	if len(ls) != 1 || ls[0].ID != ids[1] || ls[0].Key != "u-2" || ls[0].Attempts != 5 || ls[0].Group != g {
		t.Errorf("list --error TIMEOUT = %+v, want only %s", ls, ids[1])
	}
	out, err = run("list", "--group", "nobody")
	if err != nil || !strings.Contains(out, "no dead letters") {
		t.Errorf("list --group nobody = %q, %v", out, err)
	}

	out, err = run("show", ids[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"envelope:", `"eventId": "e-1"`, "error history:", consumer.HeaderLetterID, "unknown version 9"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}

	out, err = run("replay", ids[0], "--dry-run", "--operator", "ada")
	if err != nil || !strings.Contains(out, "would replay 1") {
		t.Errorf("dry run = %q, %v", out, err)
	}
	if n := len(replayRecords(t, addr, g)); n != 0 {
		t.Fatalf("dry run produced %d records", n)
	}
	out, err = run("replay", ids[0], "--operator", "ada", "--reason", "v9 registered")
	if err != nil || !strings.Contains(out, "replayed 1") {
		t.Errorf("replay = %q, %v", out, err)
	}
	out, err = run("discard", ids[1], "--operator", "ada", "--reason", "test order", "-o", "json")
	if err != nil || !strings.Contains(out, `"result": "discarded"`) {
		t.Errorf("discard = %q, %v", out, err)
	}
	recs := replayRecords(t, addr, g)
	if len(recs) != 2 {
		t.Fatalf("replay topic has %d records, want 2", len(recs))
	}
	for i, want := range []struct{ id, action, reason, count string }{
		{ids[0], consumer.ActionReplay, "v9 registered", "1"},
		{ids[1], consumer.ActionDiscard, "test order", ""},
	} {
		h := func(k string) string { v, _ := consumer.Header(recs[i].Headers, k); return v }
		if h(consumer.HeaderLetterID) != want.id || h(consumer.HeaderAction) != want.action ||
			h(consumer.HeaderReason) != want.reason || h(dlq.HeaderReplayCount) != want.count {
			t.Errorf("replay record %d headers %v, want %+v", i, recs[i].Headers, want)
		}
	}
	out, err = run("list", "--status", "unresolved")
	if err != nil || !strings.Contains(out, "no dead letters") {
		t.Errorf("after replay and discard, unresolved = %q, %v", out, err)
	}
	out, err = run("show", ids[0])
	if err != nil || !strings.Contains(out, "ada") || !strings.Contains(out, "replay (dry run)") || !strings.Contains(out, "status:          replayed") {
		t.Errorf("show after replay lacks the audit trail or status:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "dlq.db")); err != nil {
		t.Errorf("audit log: %v", err)
	}

	// Loop guard through the CLI: replays 2 and 3 pass, the 4th is refused.
	for i := 2; i <= 3; i++ {
		if _, err := run("replay", ids[0], "--reason", "again"); err != nil {
			t.Fatalf("replay %d: %v", i, err)
		}
	}
	out, err = run("replay", ids[0])
	if err == nil || !strings.Contains(err.Error(), "replayed 3 times (limit 3)") || !strings.Contains(out, "refused") {
		t.Errorf("4th replay = %q, %v; want refused by the loop guard", out, err)
	}
	if out, err = run("replay", ids[0], "--force", "-o", "json"); err != nil || !strings.Contains(out, `"replayCount": 4`) {
		t.Errorf("forced replay = %q, %v", out, err)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"list", "--since", "yesterday"}, "since"},
		{[]string{"list", "--limit", "-3"}, "limit"},
		{[]string{"list", "--kind", "nope"}, "kind"},
		{[]string{"list", "--output", "yaml"}, "--output"},
		{[]string{"list", "--brokers", "nohost"}, "nohost"},
		{[]string{"show", "not-an-id"}, "invalid letter id"},
		{[]string{"show", g + "/orders/0/99"}, "not found"},
		{[]string{"show"}, "accepts 1 arg"},
		{[]string{"replay"}, "give letter ids"},
		{[]string{"replay", ids[0], "--group", g}, "not several"},
		{[]string{"replay", "--all", "--rate", "-1"}, "--rate"},
		{[]string{"replay", "--resume", "job-nope"}, "job not found"},
		{[]string{"discard", ids[1]}, "--reason is required"},
		{[]string{"discard", ids[1], "--reason", "x", "--service-db", "bad"}, "GROUP=PATH"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := run(tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}
