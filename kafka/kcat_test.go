package kafka_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/kafka"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kcatPath finds kcat; without it the test is skipped, except in CI
// (CI=true), which must have it.
func kcatPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kcat not found (CI=true requires it; apt-get install -y kcat): %v", err)
		}
		t.Skipf("kcat not found, skipping the kcat interop test (apt-get install -y kcat): %v", err)
	}
	return p
}

// kcat runs kcat with args and stdin, failing the test on an error.
func kcat(ctx context.Context, t *testing.T, path, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

func TestKcatInterop(t *testing.T) {
	path := kcatPath(t)
	b := startBroker(t)
	ctx := testCtx(t)

	t.Run("metadata lists the topics", func(t *testing.T) {
		out := kcat(ctx, t, path, "", "-b", b.Addr(), "-L")
		for _, s := range kafka.DefaultTopics(kafka.DefaultPartitions, -1) {
			want := fmt.Sprintf("topic %q with %d partitions", s.Name, s.Partitions)
			if !strings.Contains(out, want) {
				t.Errorf("kcat -L lacks %s:\n%s", want, out)
			}
		}
	})

	t.Run("kcat produces, kgo consumes on the murmur2 partition", func(t *testing.T) {
		// Enough keys that a different partitioner would put some of
		// them elsewhere.
		var in strings.Builder
		keys := make([]string, 24)
		for i := range keys {
			keys[i] = fmt.Sprintf("user-%d", i)
			fmt.Fprintf(&in, "%s:value-%d\n", keys[i], i)
		}
		kcat(ctx, t, path, in.String(), "-b", b.Addr(), "-P", "-t", kafka.TopicOrders,
			"-K:", "-H", "k=v", "-H", "ce_source=kcat", "-X", "partitioner=murmur2_random")

		cl := newClient(t, b, kgo.ConsumeTopics(kafka.TopicOrders), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		recs := consumeN(ctx, t, cl, len(keys))
		part := kgo.StickyKeyPartitioner(nil).ForTopic(kafka.TopicOrders)
		for _, r := range recs {
			want := part.Partition(&kgo.Record{Key: r.Key}, int(kafka.DefaultPartitions))
			if int(r.Partition) != want {
				t.Errorf("key %s: kcat put it on partition %d, kgo maps it to %d", r.Key, r.Partition, want)
			}
			hdr := map[string]string{}
			for _, h := range r.Headers {
				hdr[h.Key] = string(h.Value)
			}
			if hdr["k"] != "v" || hdr["ce_source"] != "kcat" {
				t.Errorf("key %s: headers %v, want k=v and ce_source=kcat", r.Key, hdr)
			}
			if !strings.HasPrefix(string(r.Value), "value-") {
				t.Errorf("key %s: value %q", r.Key, r.Value)
			}
		}
	})

	t.Run("kgo produces, kcat consumes", func(t *testing.T) {
		cl := newClient(t, b)
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: kafka.TopicShipping, Key: []byte("order-9"), Value: []byte("from-kgo")}).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
		out := kcat(ctx, t, path, "", "-b", b.Addr(), "-C", "-t", kafka.TopicShipping, "-e", "-q", "-o", "beginning", "-f", `%k %s\n`)
		if !strings.Contains(out, "order-9 from-kgo\n") {
			t.Errorf("kcat -C output %q lacks %q", out, "order-9 from-kgo")
		}
	})
}
