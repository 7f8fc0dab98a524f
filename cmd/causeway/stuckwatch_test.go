package main

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/saga"
)

func TestStuckTarget(t *testing.T) {
	rec := func(kv ...string) *kgo.Record {
		r := &kgo.Record{}
		for i := 0; i+1 < len(kv); i += 2 {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: kv[i], Value: []byte(kv[i+1])})
		}
		return r
	}
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
