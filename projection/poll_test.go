package projection_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/projection"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// TestPollTransactionFailure: the records of one poll over many
// partitions, a few each, are applied in one transaction; when one of
// them cannot be applied, the poll's partitions are applied one by one,
// and the result is exactly that of one transaction per partition: the
// other partitions complete, the failing record is tried WithRetry times
// in all (the poll's try is the first) and the policy applies to it, the
// records before it in its partition are kept.
func TestPollTransactionFailure(t *testing.T) {
	for _, policy := range []struct {
		name   string
		policy projection.PoisonPolicy
		action string
	}{
		{"stop", projection.StopPartition, "stopped"},
		{"skip", projection.SkipEvent, "skipped"},
		{"park", projection.ParkKey, "parked"},
	} {
		t.Run(policy.name, func(t *testing.T) {
			sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
				ctx := context.Background()
				db := open(t, projection.Migrations())
				b := startBroker(t, 6, testTopic)
				prod := newProducer(t, b.Addr(), testTopic)
				manual, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.DefaultProduceTopic(testTopic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
				if err != nil {
					t.Fatal(err)
				}
				defer manual.Close()
				recs := prod.produceTo(manual, []int32{0, 1, 2, 3, 4, 5}, 4) // keys p<partition>-0, p<partition>-1
				bad := recs[3*4+2]                                           // partition 3's third record, key p3-0
				var badEnv event.Envelope
				if err := json.Unmarshal(bad.Value, &badEnv); err != nil {
					t.Fatal(err)
				}
				var tries atomic.Int64
				p := &counts{onApply: failOn(badEnv.EventID, &tries)}
				// Everything fits in one batch: one transaction for the poll.
				r := newRunner(t, db, b, p, projection.WithPoisonPolicy(policy.policy), projection.WithBatchMax(100))
				start(t, r)

				badTP := projection.TopicPartition{Topic: bad.Topic, Partition: bad.Partition}
				want := reachable(prod, badTP, policy.policy)
				eventually(t, "the other partitions", func() bool { return reached(t, db, p.Name(), want) })
				eventually(t, "the failing record's error", func() bool {
					errs, err := projection.Errors(ctx, db, p.Name())
					if err != nil {
						t.Fatal(err)
					}
					return len(errs) == 1
				})
				errs, _ := projection.Errors(ctx, db, p.Name())
				if e := errs[0]; e.EventID != badEnv.EventID || e.Kind != "apply" || e.Action != policy.action || e.Attempts != 3 {
					t.Errorf("error = %+v, want the failing record %s after 3 attempts", e, policy.action)
				}
				if got := tries.Load(); got != 3 {
					t.Errorf("Apply tried the failing record %d times, want 3 (WithRetry)", got)
				}

				// The model: everything but the failing record, and under
				// StopPartition but its partition's records from it on, under
				// ParkKey but its key's records from it on.
				wantModel := model{}
				applied := 0
				for i, rec := range recs {
					var e event.Envelope
					if err := json.Unmarshal(rec.Value, &e); err != nil {
						t.Fatal(err)
					}
					var d countedData
					if err := e.UnmarshalData(&d); err != nil {
						t.Fatal(err)
					}
					switch {
					case rec.Partition == bad.Partition && i >= 3*4+2 && policy.policy == projection.StopPartition,
						string(rec.Key) == string(bad.Key) && i >= 3*4+2 && policy.policy == projection.ParkKey,
						e.EventID == badEnv.EventID:
						continue
					}
					w := wantModel[d.K]
					wantModel[d.K] = row{N: w.N + 1, LastID: e.EventID, LastSeq: d.Seq}
					applied++
				}
				eventually(t, "the model", func() bool { return diff(dump(t, db, "key_counts"), wantModel) == "[]" })
				cps, err := projection.Checkpoints(ctx, db, p.Name())
				if err != nil {
					t.Fatal(err)
				}
				if policy.policy == projection.StopPartition && cps[badTP] != bad.Offset {
					t.Errorf("stopped partition's checkpoint = %d, want the failing offset %d", cps[badTP], bad.Offset)
				}
				if st := r.Status(); st.Applied != int64(applied) || st.Poisoned != 1 {
					t.Errorf("status: applied %d, poisoned %d; want %d and 1", st.Applied, st.Poisoned, applied)
				}
				if policy.policy == projection.ParkKey {
					parked, err := projection.Parked(ctx, db, p.Name())
					if err != nil {
						t.Fatal(err)
					}
					if len(parked) != 1 || parked[0].EventID != badEnv.EventID {
						t.Errorf("parked = %+v, want the failing record (its key has no later record)", parked)
					}
				}
			})
		})
	}
}
