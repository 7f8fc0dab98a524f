package projection_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/projection"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// TestContractViolationSkipped: under WithContracts an event from a
// source that does not produce its topic is recorded in projection_errors
// and skipped — it never reaches Apply and holds up nothing, not even
// under ParkKey — while the rest of its key is applied.
func TestContractViolationSkipped(t *testing.T) {
	ctx := context.Background()
	db := sqltest.SQLite(t, projection.Migrations())
	b := startBroker(t, 1, testTopic)
	prod := newProducer(t, b.Addr(), testTopic)
	prod.produce(6, 3)
	forged, err := event.New(testType, 1, countedData{K: "k1", Seq: 999}, event.StartFlow("mallory"))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := json.Marshal(forged)
	prod.send(&kgo.Record{Key: []byte("k1"), Value: v})
	prod.produce(6, 3)
	p := &counts{}
	r := newRunner(t, db, b, p, projection.WithPoisonPolicy(projection.ParkKey),
		projection.WithContracts(event.Contracts{testTopic: {Types: []string{testType}, Sources: []string{"test"}}}))
	stop := start(t, r)
	eventually(t, "every offset checkpointed", func() bool { return reached(t, db, p.Name(), prod.position()) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if d := diff(dump(t, db, "key_counts"), prod.expected()); d != "[]" {
		t.Errorf("model differs from the genuine events:\n%s", d)
	}
	if ps, _ := projection.Parked(ctx, db, p.Name()); len(ps) != 0 {
		t.Errorf("parked %+v, want none (a contract violation is skipped)", ps)
	}
	errs, _ := projection.Errors(ctx, db, p.Name())
	if len(errs) != 1 || errs[0].EventID != forged.EventID || errs[0].Action != "skipped" {
		t.Errorf("errors = %+v, want the forged event skipped", errs)
	}
}
