package kafka_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/kafka"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestRetentionBytesBoundsTopic(t *testing.T) {
	spec := kafka.TopicSpec{Name: "bounded", Partitions: 1, ReplicationFactor: -1,
		Retention: kafka.Retention{Bytes: 4096, Time: time.Hour}}
	b := startBroker(t, kafka.WithTopics(spec))
	ctx := testCtx(t)
	cl := newClient(t, b)
	const n = 40 // about 20 KiB, one batch each
	for range n {
		val := make([]byte, 500) // random, so that compression cannot shrink it
		if _, err := rand.Read(val); err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: spec.Name, Value: val}).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	b.ApplyRetention()
	starts, err := newAdmin(t, b).ListStartOffsets(ctx, spec.Name)
	if err != nil {
		t.Fatalf("ListStartOffsets: %v", err)
	}
	o, ok := starts.Lookup(spec.Name, 0)
	if !ok || o.Err != nil {
		t.Fatalf("start offset: %v %v", ok, o.Err)
	}
	// 4 KiB holds at most 8 of these ~550-byte batches.
	if o.Offset < n-8 {
		t.Errorf("log start offset %d after retention, want at least %d", o.Offset, n-8)
	}
}
