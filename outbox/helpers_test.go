package outbox_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/sqldb"
)

// patience bounds every wait in these tests. It is a safety net that turns
// a hang into a failure, never a timing assertion.
const patience = 60 * time.Second

// newCluster starts a one-broker kfake cluster on a free 127.0.0.1 port with
// the topics seeded (4 partitions each).
func newCluster(t testing.TB, topics ...string) *kfake.Cluster {
	t.Helper()
	return newClusterOn(t, 0, topics...)
}

func newClusterOn(t testing.TB, port int, topics ...string) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.SeedTopics(4, topics...))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// freePort returns a 127.0.0.1 port nobody listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// newClient returns a producer client with franz-go's defaults (idempotent,
// acks=all, unbounded retries), as the relay requires.
func newClient(t testing.TB, addrs []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...)}, opts...)...)
	if err != nil {
		t.Fatalf("kgo: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// enqueue writes msgs in one transaction.
func enqueue(t testing.TB, db *sqldb.DB, msgs ...outbox.Message) {
	t.Helper()
	err := db.InTx(context.Background(), func(tx *sqldb.Tx) error {
		return outbox.Enqueue(context.Background(), tx, msgs...)
	})
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
}

// msg builds the seq-th message of key on topic, with headers naming both.
func msg(topic, key string, seq int) outbox.Message {
	return outbox.Message{
		Topic: topic,
		Key:   key,
		Value: fmt.Appendf(nil, "%s/%d", key, seq),
		Headers: []outbox.Header{
			{Key: "traceparent", Value: fmt.Sprintf("00-%032x-%016x-01", seq+1, seq+1)},
			{Key: "ce_id", Value: key + "/" + strconv.Itoa(seq)},
		},
	}
}

// parseSeq reads back the key and seq of a record built by msg.
func parseSeq(t testing.TB, r *kgo.Record) (string, int) {
	t.Helper()
	k, s, ok := strings.Cut(string(r.Value), "/")
	n, err := strconv.Atoi(s)
	if !ok || err != nil || k != string(r.Key) {
		t.Fatalf("unexpected record key=%q value=%q", r.Key, r.Value)
	}
	return k, n
}

// waitFor polls cond until it holds, failing the test after patience.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// backlog returns the number of rows left in the outbox.
func backlog(t testing.TB, r *outbox.Relay) int64 {
	t.Helper()
	n, err := r.Backlog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// consume reads topic from the start until done says it has enough.
func consume(t testing.TB, addrs []string, topic string, done func([]*kgo.Record) bool) []*kgo.Record {
	t.Helper()
	cl := newClient(t, addrs, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	var recs []*kgo.Record
	for !done(recs) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consume %s: got %d records before giving up", topic, len(recs))
		}
		fs.EachError(func(topic string, p int32, err error) { t.Logf("fetch %s/%d: %v", topic, p, err) })
		recs = append(recs, fs.Records()...)
	}
	return recs
}

// checkOrder verifies that, per key, the first occurrences of the records'
// seqs are 0, 1, 2, … in log order (duplicates of earlier seqs are allowed)
// and that every key reached want[key]. It returns the number of duplicates.
func checkOrder(t testing.TB, recs []*kgo.Record, want map[string]int) int {
	t.Helper()
	next := map[string]int{}
	dups := 0
	for _, r := range recs {
		k, s := parseSeq(t, r)
		switch {
		case s == next[k]:
			next[k]++
		case s < next[k]:
			dups++
		default:
			t.Fatalf("key %s: seq %d appeared before seq %d (partition %d offset %d)", k, s, next[k], r.Partition, r.Offset)
		}
	}
	for k, n := range want {
		if got := next[k]; got != n {
			t.Errorf("key %s: %d distinct records on the bus, want %d", k, got, n)
		}
	}
	return dups
}

// distinct counts distinct (key, value) pairs.
func distinct(recs []*kgo.Record) int {
	seen := map[string]struct{}{}
	for _, r := range recs {
		seen[string(r.Key)+"\x00"+string(r.Value)] = struct{}{}
	}
	return len(seen)
}

// runRelay runs r in the background and returns a stop function that
// cancels it and returns Run's result.
func runRelay(t testing.TB, r *outbox.Relay) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var err error
	stopped := false
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			err = <-done
		}
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}
