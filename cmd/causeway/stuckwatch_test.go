package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/ordersaga"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/saga"
)

// rec is a dead letter with headers kv (key, value, …).
func rec(kv ...string) *kgo.Record {
	r := &kgo.Record{}
	for i := 0; i+1 < len(kv); i += 2 {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: kv[i], Value: []byte(kv[i+1])})
	}
	return r
}

func TestStuckTarget(t *testing.T) {
	full := []string{consumer.HeaderTopic, "commands.inventory", saga.HeaderSagaID, "o-1", saga.HeaderStep, "1", saga.HeaderPhase, "compensation"}
	id, step, phase, ok := stuckTarget(rec(full...))
	if !ok || id != "o-1" || step != 1 || phase != saga.PhaseCompensation {
		t.Fatalf("stuckTarget = %q %d %q %v; want o-1 1 compensation", id, step, phase, ok)
	}
	for name, r := range map[string]*kgo.Record{
		"not a command": rec(append([]string{consumer.HeaderTopic, "orders"}, full[2:]...)...),
		"no saga id":    rec(consumer.HeaderTopic, "commands.payment", saga.HeaderStep, "0", saga.HeaderPhase, "action"),
		"bad step":      rec(consumer.HeaderTopic, "commands.payment", saga.HeaderSagaID, "o-1", saga.HeaderStep, "x", saga.HeaderPhase, "action"),
		"negative step": rec(consumer.HeaderTopic, "commands.payment", saga.HeaderSagaID, "o-1", saga.HeaderStep, "-1", saga.HeaderPhase, "action"),
		"unknown phase": rec(consumer.HeaderTopic, "commands.payment", saga.HeaderSagaID, "o-1", saga.HeaderStep, "0", saga.HeaderPhase, "undo"),
		"no headers":    rec(),
	} {
		if _, _, _, ok := stuckTarget(r); ok {
			t.Errorf("%s: stuckTarget accepted it", name)
		}
	}
}

func TestReplyTarget(t *testing.T) {
	withValue := func(r *kgo.Record, v string) *kgo.Record { r.Value = []byte(v); return r }
	for name, c := range map[string]struct {
		r    *kgo.Record
		want string
	}{
		"header": {rec(consumer.HeaderTopic, kafka.TopicSagaReplies, event.HeaderCausationID, "cmd-1"), "cmd-1"},
		"header wins over the value": {withValue(rec(consumer.HeaderTopic, kafka.TopicSagaReplies, event.HeaderCausationID, "cmd-1"),
			`{"metadata": {"causationId": "cmd-2"}}`), "cmd-1"},
		"value when no header": {withValue(rec(consumer.HeaderTopic, kafka.TopicSagaReplies),
			`{"version": 99, "metadata": {"causationId": "cmd-2"}, "data": {"x": [1, 2]}}`), "cmd-2"},
		"not a reply": {rec(consumer.HeaderTopic, kafka.TopicCommandsPayment, event.HeaderCausationID, "cmd-1"), ""},
		"no command":  {withValue(rec(consumer.HeaderTopic, kafka.TopicSagaReplies), `{"metadata": {}}`), ""},
		"wrong type":  {withValue(rec(consumer.HeaderTopic, kafka.TopicSagaReplies), `{"metadata": {"causationId": 7}}`), ""},
		"malformed":   {withValue(rec(consumer.HeaderTopic, kafka.TopicSagaReplies), `{"metadata": {"causationId": "cmd-`), ""},
		"no headers":  {rec(), ""},
	} {
		got, ok := replyTarget(c.r)
		if ok != (c.want != "") || got != c.want {
			t.Errorf("%s: replyTarget = %q, %v; want %q", name, got, ok, c.want)
		}
	}
}

// TestStuckWatcherSkipsContractLetters: a dead-lettered reply that names a
// real command makes its saga stuck — unless the letter's kind is
// "contract" (a foreign source or a misrouted type): a record that did
// not come from a participant says nothing about the saga, and a forger
// must not be able to stop sagas by naming their commands.
func TestStuckWatcherSkipsContractLetters(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	o := placeOffline(t, dir, sagaCases[0])
	db := openSQLite(t, filepath.Join(dir, "order.db"))
	svc, err := ordersvc.New(db, catalog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	orch, err := svc.Orchestrate(ordersaga.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var value []byte
	if err := db.Read.QueryRowContext(ctx, `SELECT value FROM outbox WHERE topic = $1`, kafka.TopicCommandsPayment).Scan(&value); err != nil {
		t.Fatal(err)
	}
	var cmd struct{ EventID string }
	if err := json.Unmarshal(value, &cmd); err != nil || cmd.EventID == "" {
		t.Fatalf("payment command %s: %v", value, err)
	}
	w := &stuckWatcher{db: db, orch: orch, log: slog.New(slog.DiscardHandler)}
	letter := func(kind string) *kgo.Record {
		return rec(consumer.HeaderTopic, kafka.TopicSagaReplies, consumer.HeaderErrorKind, kind,
			consumer.HeaderGroup, ordersvc.OrchestratorGroup, event.HeaderCausationID, cmd.EventID)
	}
	status := func() saga.Status {
		st, err := orch.Get(ctx, o.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		return st.Status
	}
	if err := w.handle(ctx, letter(consumer.KindContract)); err != nil {
		t.Fatal(err)
	}
	if st := status(); st != saga.StatusRunning {
		t.Fatalf("after a contract letter naming its command: saga %s, want running", st)
	}
	if err := w.handle(ctx, letter(consumer.KindUnknownVersion)); err != nil {
		t.Fatal(err)
	}
	if st := status(); st != saga.StatusFailed {
		t.Fatalf("after an unknown-version reply letter: saga %s, want failed (stuck)", st)
	}
}
