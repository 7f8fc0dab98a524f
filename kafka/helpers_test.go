package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// startBroker starts an in-memory broker on a free port, closed at the end
// of the test.
func startBroker(t *testing.T, opts ...kafka.BrokerOpt) *kafka.Broker {
	t.Helper()
	b, err := kafka.StartBroker(testCtx(t), append([]kafka.BrokerOpt{kafka.WithAddr("127.0.0.1:0")}, opts...)...)
	if err != nil {
		t.Fatalf("StartBroker: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// testCtx is a context bounding a whole test, so a hang fails instead of
// blocking forever.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newClient returns a client for b, closed at the end of the test.
func newClient(t *testing.T, b *kafka.Broker, extra ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kafka.NewClient(b.ClientConfig(), extra...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// newAdmin returns an admin client for b, closed at the end of the test.
func newAdmin(t *testing.T, b *kafka.Broker) *kadm.Client {
	t.Helper()
	adm, err := kafka.NewAdmin(b.ClientConfig())
	if err != nil {
		t.Fatalf("NewAdmin: %v", err)
	}
	t.Cleanup(adm.Close)
	return adm
}

// consumeN polls cl until it has n records, failing the test on a fetch
// error or when ctx ends first.
func consumeN(ctx context.Context, t *testing.T, cl *kgo.Client, n int) []*kgo.Record {
	t.Helper()
	var got []*kgo.Record
	for len(got) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records before: %v", len(got), n, ctx.Err())
		}
		fs.EachError(func(topic string, p int32, err error) {
			t.Fatalf("fetch %s/%d: %v", topic, p, err)
		})
		got = append(got, fs.Records()...)
	}
	return got
}
