package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/kafka"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// topicConfigs reads the configs of topics from the broker at addr.
func topicConfigs(t *testing.T, addr string, topics ...string) map[string]map[string]string {
	t.Helper()
	adm, err := kafka.NewAdmin(kafka.ClientConfig{Brokers: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rcs, err := adm.DescribeTopicConfigs(ctx, topics...)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, rc := range rcs {
		if rc.Err != nil {
			t.Fatalf("configs of %s: %v", rc.Name, rc.Err)
		}
		out[rc.Name] = map[string]string{}
		for _, c := range rc.Configs {
			out[rc.Name][c.Key] = c.MaybeValue()
		}
	}
	return out
}

// TestTopicConfigOverrides: --topic-config sets retention per topic on
// the embedded broker at start, a later start brings existing topics to
// what it is given (CAUSEWAY_TOPIC_CONFIG here; what is no longer
// overridden goes back to its default), and settings that would make
// dedup pruning unsafe are refused before anything starts.
func TestTopicConfigOverrides(t *testing.T) {
	dir := t.TempDir()
	days := func(n int64) string { return itoa(n * 24 * time.Hour.Milliseconds()) }
	perPart := func(total int64) string { return itoa(total / int64(kafka.DefaultPartitions)) }
	dlq := kafka.DeadLetterTopic("payment-service")
	replay := kafka.ReplayTopic("payment-service")

	r := startUp(t, dir, "--topic-config", "orders:retention.ms=30d", "--topic-config", "dlq.*:retention.bytes=1GiB",
		"--dedup-retention", "768h") // 32 d: beyond the 30 d of orders + 1 d
	got := topicConfigs(t, r.rt.KafkaAddr, kafka.TopicOrders, kafka.TopicPayments, dlq, replay)
	for _, c := range []struct{ topic, key, want string }{
		{kafka.TopicOrders, "retention.ms", days(30)},
		{kafka.TopicOrders, "retention.bytes", perPart(kafka.EventTopicBytes)},
		{kafka.TopicPayments, "retention.ms", days(7)},
		{dlq, "retention.bytes", itoa(1 << 30)},
		{dlq, "retention.ms", days(14)},
		{replay, "retention.bytes", perPart(kafka.DeadLetterTopicBytes)},
	} {
		if v := got[c.topic][c.key]; v != c.want {
			t.Errorf("first start: %s %s = %q, want %q", c.topic, c.key, v, c.want)
		}
	}
	// causeway topics shows it: against the defaults orders and the dlq.*
	// topics differ, and --check fails; with the overrides up was given
	// everything matches.
	topics := func(args ...string) (string, error) {
		root := newRootCmd()
		var out strings.Builder
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(append([]string{"topics", "--brokers", r.rt.KafkaAddr}, args...))
		err := root.Execute()
		return out.String(), err
	}
	out, err := topics("--check", "-o", "json")
	var listed struct {
		Topics []struct {
			Topic   string
			Matches bool
			Drift   []struct{ Key, Broker, Spec string }
		}
	}
	if jerr := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &listed); jerr != nil {
		t.Fatalf("topics -o json: %v\n%s", jerr, out)
	}
	drifted := 0
	for _, tp := range listed.Topics {
		want := "[]"
		switch {
		case tp.Topic == kafka.TopicOrders:
			want = fmt.Sprint([]struct{ Key, Broker, Spec string }{{"retention.ms", days(30), days(7)}})
		case strings.HasPrefix(tp.Topic, kafka.DeadLetterPrefix):
			want = fmt.Sprint([]struct{ Key, Broker, Spec string }{{"retention.bytes", itoa(1 << 30), perPart(kafka.DeadLetterTopicBytes)}})
		}
		if got := fmt.Sprint(tp.Drift); got != want && !(want == "[]" && len(tp.Drift) == 0) {
			t.Errorf("topics: %s drift %s, want %s", tp.Topic, got, want)
		}
		if !tp.Matches {
			drifted++
		}
	}
	if !errors.Is(err, ErrTopicsDrift) || drifted != 1+len(serviceGroups) || len(listed.Topics) != len(platformTopics(kafka.DefaultPartitions)) {
		t.Errorf("topics --check against the defaults: %v, %d of %d topics differ; want ErrTopicsDrift, orders and the dlq topics", err, drifted, len(listed.Topics))
	}
	if out, err := topics("--check", "--topic-config", "orders:retention.ms=30d,retention.bytes=1GiB", "--topic-config", "dlq.*:retention.bytes=1GiB"); err == nil ||
		!strings.Contains(out, "retention.bytes 10.7MiB -> 1GiB") {
		t.Errorf("topics --check with a retention.bytes the broker lacks: %v\n%s", err, out)
	}
	if out, err := topics("--check", "--topic-config", "orders:retention.ms=30d", "--topic-config", "dlq.*:retention.bytes=1GiB"); err != nil ||
		!strings.Contains(out, "orders") || strings.Contains(out, "differs") {
		t.Errorf("topics --check with the overrides up was given: %v\n%s", err, out)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}

	// Again on the same data dir (the broker reloads its topics), with
	// other overrides from the environment.
	t.Setenv(envName(topicConfigFlag), "payments:retention.ms=10d; orders:retention.ms=12d")
	r = startUp(t, dir)
	got = topicConfigs(t, r.rt.KafkaAddr, kafka.TopicOrders, kafka.TopicPayments, dlq)
	for _, c := range []struct{ topic, key, want string }{
		{kafka.TopicOrders, "retention.ms", days(12)},
		{kafka.TopicPayments, "retention.ms", days(10)},
		{dlq, "retention.bytes", perPart(kafka.DeadLetterTopicBytes)}, // back to the default
	} {
		if v := got[c.topic][c.key]; v != c.want {
			t.Errorf("second start: %s %s = %q, want %q", c.topic, c.key, v, c.want)
		}
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envName(topicConfigFlag), "")

	// Refused before anything starts.
	for _, c := range []struct {
		args []string
		want error
		text string
	}{
		{[]string{"--topic-config", "order:retention.ms=1d"}, kafka.ErrBadTopicOverride, `"order" matches no topic`},
		{[]string{"--topic-config", "orders:retention.ms=soon"}, kafka.ErrBadTopicOverride, "retention.ms"},
		{[]string{"--topic-config", "orders:retention.ms=30d"}, consumer.ErrWindowTooShort, ""},
		{[]string{"--topic-config", "payments:cleanup.policy=compact"}, ErrDedupForever, `"payments"`},
		{[]string{"--topic-config", "replay.*:retention.ms=-1"}, ErrDedupForever, "--" + noDedupPruneFlag},
	} {
		root := newRootCmd()
		var out strings.Builder
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(append([]string{"up", "--data-dir", t.TempDir(), "--http-addr", "127.0.0.1:0", "--kafka-addr", "127.0.0.1:0"}, c.args...))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := root.ExecuteContext(ctx)
		cancel()
		// A flag that does not parse is a usage error without the typed
		// cause; every other one keeps it.
		if err == nil || (!errors.Is(err, c.want) && !strings.Contains(err.Error(), "invalid argument")) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("up %v: %v, want %v mentioning %q", c.args, err, c.want, c.text)
		}
	}
	// A topic kept forever is accepted once pruning is off.
	cfg := DefaultUpConfig()
	cfg.NoDedupPrune = true
	for _, s := range []string{"payments:cleanup.policy=compact", "replay.*:retention.ms=-1"} {
		o, err := kafka.ParseTopicOverride(s)
		if err != nil {
			t.Fatal(err)
		}
		cfg.TopicOverrides = append(cfg.TopicOverrides, o)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("compacted and unlimited topics with --%s: %v", noDedupPruneFlag, err)
	}
}
