package kafka_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
)

func TestEnsureTopics(t *testing.T) {
	b := startBroker(t, kafka.WithTopics()) // no topics seeded
	ctx := testCtx(t)
	adm := newAdmin(t, b)
	specs := []kafka.TopicSpec{
		{Name: "ensure.a", Partitions: 3, ReplicationFactor: -1, Retention: kafka.Retention{Bytes: 1 << 20, Time: time.Hour}},
		kafka.DeadLetterTopicSpec("ensure-group", 2, -1),
	}

	if err := kafka.EnsureTopics(ctx, adm, specs...); err != nil {
		t.Fatalf("first EnsureTopics: %v", err)
	}
	details, err := freshAdmin(t, b).ListTopics(ctx, "ensure.a", "dlq.ensure-group")
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	for name, want := range map[string]int{"ensure.a": 3, "dlq.ensure-group": 2} {
		d, ok := details[name]
		if !ok || d.Err != nil {
			t.Fatalf("topic %s not created: %v", name, d.Err)
		}
		if got := len(d.Partitions); got != want {
			t.Errorf("topic %s: %d partitions, want %d", name, got, want)
		}
	}

	// Idempotent.
	if err := kafka.EnsureTopics(ctx, adm, specs...); err != nil {
		t.Fatalf("second EnsureTopics: %v", err)
	}

	// A partition-count mismatch is reported, in both directions, and the
	// topic is left as it is.
	for _, parts := range []int32{5, 1} {
		mismatch := specs[0]
		mismatch.Partitions = parts
		err = kafka.EnsureTopics(ctx, adm, mismatch, specs[1])
		if !errors.Is(err, kafka.ErrTopicMismatch) {
			t.Fatalf("EnsureTopics with %d partitions: err = %v, want ErrTopicMismatch", parts, err)
		}
		for _, s := range []string{`"ensure.a"`, "has 3 partitions", "wants " + string(rune('0'+parts))} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not mention %s", err, s)
			}
		}
		if strings.Contains(err.Error(), "dlq.ensure-group") {
			t.Errorf("error %q blames the matching topic", err)
		}
	}
	details, err = freshAdmin(t, b).ListTopics(ctx, "ensure.a")
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	if got := len(details["ensure.a"].Partitions); got != 3 {
		t.Errorf("after mismatch: %d partitions, want 3 (unchanged)", got)
	}
}

func TestEnsureTopicsRejectsInvalidSpecs(t *testing.T) {
	b := startBroker(t, kafka.WithTopics())
	adm := newAdmin(t, b)
	err := kafka.EnsureTopics(testCtx(t), adm,
		kafka.TopicSpec{Name: "bad name", Partitions: 1, ReplicationFactor: -1},
		kafka.TopicSpec{Name: "zero", Partitions: 0, ReplicationFactor: -1},
		kafka.TopicSpec{Name: "ok.topic", Partitions: 1, ReplicationFactor: -1},
	)
	if err == nil {
		t.Fatal("EnsureTopics accepted invalid specs")
	}
	for _, s := range []string{"bad name", "zero"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	details, lerr := freshAdmin(t, b).ListTopics(testCtx(t), "ok.topic")
	if lerr != nil || details["ok.topic"].Err != nil {
		t.Errorf("valid spec next to invalid ones was not created: %v %v", lerr, details["ok.topic"].Err)
	}
}

func TestTopicSpecValidate(t *testing.T) {
	tests := []struct {
		name    string
		spec    kafka.TopicSpec
		wantErr []string
	}{
		{"valid", kafka.TopicSpec{Name: "a.b_c-1", Partitions: 1, ReplicationFactor: 3, CleanupPolicy: "compact,delete"}, nil},
		{"empty name", kafka.TopicSpec{Partitions: 1, ReplicationFactor: -1}, []string{"empty"}},
		{"bad char", kafka.TopicSpec{Name: "a/b", Partitions: 1, ReplicationFactor: -1}, []string{`'/'`}},
		{"too long", kafka.TopicSpec{Name: strings.Repeat("x", 250), Partitions: 1, ReplicationFactor: -1}, []string{"249"}},
		{"all wrong", kafka.TopicSpec{Name: "t", Partitions: -1, ReplicationFactor: 0, Retention: kafka.Retention{Bytes: -2}, CleanupPolicy: "keep"},
			[]string{"partitions -1", "replication factor 0", "retention bytes -2", `cleanup policy "keep"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tt.wantErr)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Validate() = %q, missing %q", err, s)
				}
			}
		})
	}
}

func TestDefaultTopicsBoundRetention(t *testing.T) {
	for _, parts := range []int32{1, 6, 24} {
		var total int64
		for _, s := range kafka.DefaultTopics(parts, -1) {
			if err := s.Validate(); err != nil {
				t.Errorf("default spec %s: %v", s.Name, err)
			}
			if s.Retention.Bytes <= 0 || s.Retention.Time <= 0 {
				t.Errorf("%s: retention %+v is not bounded by bytes and time", s.Name, s.Retention)
			}
			cfg := s.TopicConfigs()
			if cfg["retention.bytes"] == nil || cfg["retention.ms"] == nil || cfg["cleanup.policy"] == nil {
				t.Errorf("%s: configs %v lack retention.bytes, retention.ms or cleanup.policy", s.Name, cfg)
			}
			total += s.Retention.Bytes * int64(s.Partitions)
		}
		// Ten dead-letter topics on top.
		dlq := kafka.DeadLetterTopicSpec("g", parts, -1)
		total += 10 * dlq.Retention.Bytes * int64(parts)
		if total > 768<<20 {
			t.Errorf("%d partitions: default retention totals %d MiB, want well under 1 GiB", parts, total>>20)
		}
	}
	if got, want := kafka.DeadLetterTopic("payment-service"), "dlq.payment-service"; got != want {
		t.Errorf("DeadLetterTopic = %q, want %q", got, want)
	}
}

// freshAdmin returns a new admin client, so that its metadata cannot be a
// cached answer from before the operation under test.
func freshAdmin(t *testing.T, b *kafka.Broker) *kadm.Client {
	t.Helper()
	return newAdmin(t, b)
}

// TestEnsureTopicsSeesTopicsCreatedElsewhere runs EnsureTopics on a client
// whose metadata cache says the topic is missing while another client has
// created it.
func TestEnsureTopicsSeesTopicsCreatedElsewhere(t *testing.T) {
	b := startBroker(t, kafka.WithTopics())
	ctx := testCtx(t)
	stale := newAdmin(t, b)
	spec := kafka.TopicSpec{Name: "elsewhere", Partitions: 2, ReplicationFactor: -1}
	if d, err := stale.ListTopics(ctx, spec.Name); err != nil || d[spec.Name].Err == nil {
		t.Fatalf("before creation: %v %v, want the topic missing", err, d[spec.Name].Err)
	}
	if err := kafka.EnsureTopics(ctx, newAdmin(t, b), spec); err != nil {
		t.Fatalf("EnsureTopics (creating): %v", err)
	}
	if err := kafka.EnsureTopics(ctx, stale, spec); err != nil {
		t.Fatalf("EnsureTopics on the stale client: %v", err)
	}
	spec.Partitions = 4
	if err := kafka.EnsureTopics(ctx, stale, spec); !errors.Is(err, kafka.ErrTopicMismatch) {
		t.Fatalf("EnsureTopics with 4 partitions on the stale client: %v, want ErrTopicMismatch", err)
	}
}
