package kafka_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/kafka"
)

func TestParseTopicOverride(t *testing.T) {
	for in, want := range map[string]string{
		"orders:retention.ms=30d":                               "orders:retention.ms=2592000000",
		" orders : retention.ms = 36h ":                         "orders:retention.ms=129600000",
		"orders:retention.ms=604800000":                         "orders:retention.ms=604800000",
		"orders:retention.ms=-1,retention.bytes=-1":             "orders:retention.bytes=-1,retention.ms=-1",
		"dlq.*:retention.bytes=1GiB,segment.bytes=64MiB":        "dlq.*:retention.bytes=1073741824,segment.bytes=67108864",
		"*:segment.ms=1h":                                       "*:segment.ms=3600000",
		"payments:cleanup.policy=delete,compact":                "payments:cleanup.policy=compact,delete",
		"payments:cleanup.policy=compact,delete,retention.ms=0": "payments:cleanup.policy=compact,delete,retention.ms=0",
		"payments:cleanup.policy=compact,min.cleanable.dirty.ratio=0.25,delete.retention.ms=1d,min.compaction.lag.ms=5m": "payments:cleanup.policy=compact,delete.retention.ms=86400000,min.cleanable.dirty.ratio=0.25,min.compaction.lag.ms=300000",
	} {
		o, err := kafka.ParseTopicOverride(in)
		if err != nil {
			t.Errorf("ParseTopicOverride(%q): %v", in, err)
			continue
		}
		if got := o.String(); got != want {
			t.Errorf("ParseTopicOverride(%q) = %s, want %s", in, got, want)
		}
	}
	for _, in := range []string{
		"", "orders", "orders:", ":retention.ms=1", "ord*ers:retention.ms=1", "bad topic:retention.ms=1",
		"orders:retention.ms", "orders:retention.ms=soon", "orders:retention.ms=-2", "orders:segment.ms=-1",
		"orders:retention.ms=1,retention.ms=2", "orders:compression.type=zstd", "orders:cleanup.policy=keep",
		"orders:retention.bytes=10XB", "orders:retention.bytes=-5", "orders:segment.bytes=1KiB",
		"orders:min.cleanable.dirty.ratio=2", "orders:retention.ms=1,delete", "orders:retention.ms=1ns",
		"orders:retention.ms=99999999999d", "orders:retention.bytes=99999999999TiB",
	} {
		if o, err := kafka.ParseTopicOverride(in); !errors.Is(err, kafka.ErrBadTopicOverride) {
			t.Errorf("ParseTopicOverride(%q) = %v, %v; want ErrBadTopicOverride", in, o, err)
		}
	}
}

func FuzzParseTopicOverride(f *testing.F) {
	for _, s := range []string{"orders:retention.ms=30d", "dlq.*:retention.bytes=1GiB,cleanup.policy=compact,delete", "*:segment.ms=1h", "x:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := kafka.ParseTopicOverride(s)
		if err != nil {
			if !errors.Is(err, kafka.ErrBadTopicOverride) {
				t.Fatalf("%q: untyped error %v", s, err)
			}
			return
		}
		// The normalized form parses to itself.
		again, err := kafka.ParseTopicOverride(o.String())
		if err != nil || again.String() != o.String() {
			t.Fatalf("%q: %s reparsed to %v, %v", s, o, again, err)
		}
	})
}

func TestApplyOverrides(t *testing.T) {
	specs := append(kafka.DefaultTopics(6, -1), kafka.GroupTopicSpecs("payment-service", 6, -1)...)
	parse := func(s string) kafka.TopicOverride {
		o, err := kafka.ParseTopicOverride(s)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	out, err := kafka.ApplyOverrides(specs,
		parse("dlq.*:retention.ms=30d,segment.bytes=2MiB"),
		parse("orders:retention.ms=-1,retention.bytes=-1"),
		parse("payments:cleanup.policy=compact,delete,delete.retention.ms=1h"),
		parse("orders:retention.bytes=1GiB"), // later wins
	)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]kafka.TopicSpec{}
	for _, s := range out {
		byName[s.Name] = s
	}
	if s := byName["dlq.payment-service"]; s.Retention.Time != 30*24*time.Hour || *s.TopicConfigs()["segment.bytes"] != "2097152" {
		t.Errorf("dlq spec %+v", s)
	}
	if s := byName["orders"]; s.Retention.Time != -1 || s.Retention.Bytes != 1<<30 || !s.KeepsForever() ||
		*s.TopicConfigs()["retention.ms"] != "-1" {
		t.Errorf("orders spec %+v", s)
	}
	if s := byName["payments"]; s.CleanupPolicy != "compact,delete" || !s.KeepsForever() || *s.TopicConfigs()["delete.retention.ms"] != "3600000" {
		t.Errorf("payments spec %+v", s)
	}
	if s := byName["inventory"]; s.Retention.Time != kafka.EventTopicRetention || s.KeepsForever() || s.KeepsFor() != kafka.EventTopicRetention {
		t.Errorf("inventory spec %+v, untouched by the overrides", s)
	}
	// The input is not modified (the replay topic shares nothing with
	// the dlq spec it was built like).
	for _, s := range specs {
		if s.Name == "dlq.payment-service" && (s.Retention.Time != kafka.DeadLetterTopicRetention || *s.Configs["segment.bytes"] == "2097152") {
			t.Errorf("ApplyOverrides modified its input: %+v", s)
		}
	}
	if s := byName["replay.payment-service"]; *s.Configs["segment.bytes"] == "2097152" {
		t.Errorf("dlq.* override reached %s", s.Name)
	}

	_, err = kafka.ApplyOverrides(specs, parse("order:retention.ms=1d"), parse("nope.*:retention.ms=1d"))
	if !errors.Is(err, kafka.ErrBadTopicOverride) || !strings.Contains(err.Error(), `"order"`) || !strings.Contains(err.Error(), `"nope.*"`) {
		t.Errorf("overrides matching no topic: %v, want ErrBadTopicOverride naming both", err)
	}
}

func TestEnsureTopicsAlignsConfigs(t *testing.T) {
	b := startBroker(t, kafka.WithTopics())
	ctx := testCtx(t)
	adm := newAdmin(t, b)
	spec := kafka.TopicSpec{Name: "align.a", Partitions: 2, ReplicationFactor: -1,
		Retention: kafka.Retention{Bytes: 1 << 20, Time: time.Hour}, CleanupPolicy: kafka.CleanupDelete}
	if changes, err := kafka.EnsureTopicsChanges(ctx, adm, spec); err != nil || len(changes) != 0 {
		t.Fatalf("create: %v, %v; want no changes", changes, err)
	}
	if changes, err := kafka.EnsureTopicsChanges(ctx, adm, spec); err != nil || len(changes) != 0 {
		t.Fatalf("again: %v, %v; want no changes (configs as created)", changes, err)
	}

	// The operator keeps it forever and compacts it too.
	changed := spec
	changed.Retention.Time = -1
	changed.CleanupPolicy = "compact,delete"
	changes, err := kafka.EnsureTopicsChanges(ctx, adm, changed)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range changes {
		got[c.Key] = c.From + "->" + c.To
	}
	if len(got) != 2 || got["retention.ms"] != "3600000->-1" || got["cleanup.policy"] != "delete->compact,delete" {
		t.Fatalf("changes %v; want retention.ms and cleanup.policy", changes)
	}
	rcs, err := freshAdmin(t, b).DescribeTopicConfigs(ctx, "align.a")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]string{}
	for _, c := range rcs[0].Configs {
		have[c.Key] = c.MaybeValue()
	}
	if have["retention.ms"] != "-1" || have["retention.bytes"] != "1048576" {
		t.Fatalf("broker configs %v after the change", have)
	}
	// A policy in another order is the same policy.
	same := changed
	same.CleanupPolicy = "delete,compact"
	if changes, err := kafka.EnsureTopicsChanges(ctx, adm, same); err != nil || len(changes) != 0 {
		t.Fatalf("same policy reordered: %v, %v; want no changes", changes, err)
	}
	// A partition mismatch is reported and no config is touched.
	wrong := spec
	wrong.Partitions = 3
	if changes, err := kafka.EnsureTopicsChanges(ctx, adm, wrong); !errors.Is(err, kafka.ErrTopicMismatch) || len(changes) != 0 {
		t.Fatalf("partition mismatch: %v, %v; want ErrTopicMismatch and no changes", changes, err)
	}
	// Back to the first spec.
	if changes, err := kafka.EnsureTopicsChanges(ctx, adm, spec); err != nil || len(changes) != 2 {
		t.Fatalf("back: %v, %v; want two changes", changes, err)
	}
}

// retentionMs reads topic's retention.ms from b.
func retentionMs(t *testing.T, b *kafka.Broker, topic string) string {
	t.Helper()
	rcs, err := freshAdmin(t, b).DescribeTopicConfigs(testCtx(t), topic)
	if err != nil || len(rcs) != 1 || rcs[0].Err != nil {
		t.Fatalf("describe %s: %v %v", topic, rcs, err)
	}
	for _, c := range rcs[0].Configs {
		if c.Key == "retention.ms" {
			return c.MaybeValue()
		}
	}
	return ""
}

func TestBrokerTopicConfigsAtRestart(t *testing.T) {
	dir := t.TempDir()
	spec := kafka.TopicSpec{Name: "kept.a", Partitions: 1, ReplicationFactor: -1, Retention: kafka.Retention{Time: time.Hour}}
	start := func(opts ...kafka.BrokerOpt) *kafka.Broker {
		b, err := kafka.StartBroker(testCtx(t), append([]kafka.BrokerOpt{kafka.WithAddr("127.0.0.1:0"),
			kafka.WithDataDir(dir), kafka.WithTopics(spec)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := start()
	// Someone else (a serve process) sets another retention.
	other := spec
	other.Retention.Time = 2 * time.Hour
	if err := kafka.EnsureTopics(testCtx(t), newAdmin(t, b), other); err != nil {
		t.Fatal(err)
	}
	b.Close()

	b = start(kafka.WithKeepTopicConfigs())
	if got := retentionMs(t, b, spec.Name); got != "7200000" {
		t.Errorf("restarted WithKeepTopicConfigs: retention.ms %s, want the 7200000 set meanwhile", got)
	}
	b.Close()

	b = start()
	defer b.Close()
	if got := retentionMs(t, b, spec.Name); got != "3600000" {
		t.Errorf("restarted with its spec: retention.ms %s, want 3600000", got)
	}
}

func TestInspectTopics(t *testing.T) {
	b := startBroker(t, kafka.WithTopics())
	ctx := testCtx(t)
	adm := newAdmin(t, b)
	spec := kafka.TopicSpec{Name: "inspect.a", Partitions: 2, ReplicationFactor: -1, Retention: kafka.Retention{Time: time.Hour}}
	if err := kafka.EnsureTopics(ctx, adm, spec); err != nil {
		t.Fatal(err)
	}
	longer, fewer := spec, spec
	longer.Retention.Time = 2 * time.Hour
	fewer.Partitions = 1
	missing := kafka.TopicSpec{Name: "inspect.missing", Partitions: 1, ReplicationFactor: -1}
	states, err := kafka.InspectTopics(ctx, freshAdmin(t, b), spec, longer, fewer, missing)
	if err != nil || len(states) != 4 {
		t.Fatalf("InspectTopics: %v, %d states", err, len(states))
	}
	if st := states[0]; !st.Matches() || st.Partitions != 2 || st.Configs["retention.ms"] != "3600000" {
		t.Errorf("as created: %+v, want a match", st)
	}
	if st := states[1]; st.Matches() || len(st.Drift) != 1 || st.Drift[0].Key != "retention.ms" || st.Drift[0].From != "3600000" || st.Drift[0].To != "7200000" {
		t.Errorf("longer retention: %+v, want retention.ms 3600000 -> 7200000", st)
	}
	if st := states[2]; st.Matches() || len(st.Drift) != 0 || st.Partitions != 2 {
		t.Errorf("fewer partitions: %+v, want a mismatch on partitions only", st)
	}
	if st := states[3]; st.Exists || st.Matches() || st.Err != nil {
		t.Errorf("missing: %+v, want not existing, no error", st)
	}
	if got := retentionMs(t, b, spec.Name); got != "3600000" {
		t.Errorf("InspectTopics changed retention.ms to %s", got)
	}
}
