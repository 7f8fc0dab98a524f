package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestBrokerReportsBoundPortAndSeedsDefaultTopics(t *testing.T) {
	b := startBroker(t)
	host, port, err := net.SplitHostPort(b.Addr())
	if err != nil {
		t.Fatalf("Addr %q: %v", b.Addr(), err)
	}
	if n, _ := strconv.Atoi(port); host != "127.0.0.1" || n == 0 {
		t.Fatalf("Addr = %q, want 127.0.0.1 and a non-zero port", b.Addr())
	}
	// A raw TCP dial proves the reported address is the listening one.
	conn, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatalf("dial %s: %v", b.Addr(), err)
	}
	conn.Close()

	ctx := testCtx(t)
	adm := newAdmin(t, b)
	want := kafka.DefaultTopics(kafka.DefaultPartitions, -1)
	names := make([]string, len(want))
	for i, s := range want {
		names[i] = s.Name
	}
	details, err := adm.ListTopics(ctx, names...)
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	for _, s := range want {
		d := details[s.Name]
		if d.Err != nil {
			t.Errorf("topic %s: %v", s.Name, d.Err)
			continue
		}
		if got := int32(len(d.Partitions)); got != s.Partitions {
			t.Errorf("topic %s: got %d partitions, want %d", s.Name, got, s.Partitions)
		}
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, kafka.TopicOrders)
	if err != nil {
		t.Fatalf("DescribeTopicConfigs: %v", err)
	}
	rc, err := rcs.On(kafka.TopicOrders, nil)
	if err != nil {
		t.Fatalf("configs of orders: %v", err)
	}
	wantBytes := strconv.FormatInt(kafka.EventTopicBytes/int64(kafka.DefaultPartitions), 10)
	wantMs := strconv.FormatInt(kafka.EventTopicRetention.Milliseconds(), 10)
	found := 0
	for _, c := range rc.Configs {
		switch c.Key {
		case "retention.bytes":
			found++
			if c.MaybeValue() != wantBytes {
				t.Errorf("orders retention.bytes = %q, want %q", c.MaybeValue(), wantBytes)
			}
		case "retention.ms":
			found++
			if c.MaybeValue() != wantMs {
				t.Errorf("orders retention.ms = %q, want %q", c.MaybeValue(), wantMs)
			}
		}
	}
	if found != 2 {
		t.Errorf("orders: found %d of retention.bytes and retention.ms", found)
	}
}

func TestProduceConsumeRoundTrip(t *testing.T) {
	b := startBroker(t)
	ctx := testCtx(t)
	prod := newClient(t, b)
	const n = 50
	for i := range n {
		r := &kgo.Record{
			Topic:   kafka.TopicOrders,
			Key:     []byte(fmt.Sprintf("user-%d", i%7)),
			Value:   []byte(fmt.Sprintf("event-%d", i)),
			Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte("tp-" + strconv.Itoa(i))}},
		}
		if err := prod.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}

	cons := newClient(t, b,
		kgo.ConsumeTopics(kafka.TopicOrders),
		kgo.ConsumerGroup("roundtrip"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	got := consumeN(ctx, t, cons, n)
	if len(got) != n {
		t.Fatalf("got %d records, want %d", len(got), n)
	}
	seen := make(map[string]bool)
	lastByKey := make(map[string]int)
	for _, r := range got {
		v := string(r.Value)
		if seen[v] {
			t.Errorf("duplicate %s", v)
		}
		seen[v] = true
		var i int
		if _, err := fmt.Sscanf(v, "event-%d", &i); err != nil {
			t.Fatalf("value %q: %v", v, err)
		}
		if want := fmt.Sprintf("user-%d", i%7); string(r.Key) != want {
			t.Errorf("record %s: key %q, want %q", v, r.Key, want)
		}
		if len(r.Headers) != 1 || string(r.Headers[0].Value) != "tp-"+strconv.Itoa(i) {
			t.Errorf("record %s: headers %v", v, r.Headers)
		}
		// Records of one key arrive in produce order.
		if prev, ok := lastByKey[string(r.Key)]; ok && prev > i {
			t.Errorf("key %s: event-%d after event-%d", r.Key, i, prev)
		}
		lastByKey[string(r.Key)] = i
	}
}

// TestBrokerRestartKeepsRecordsAndOffsets closes a persisted broker and
// starts it again on the same data dir and port.
func TestBrokerRestartKeepsRecordsAndOffsets(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)
	b1, err := kafka.StartBroker(ctx, kafka.WithAddr("127.0.0.1:0"), kafka.WithDataDir(dir))
	if err != nil {
		t.Fatalf("StartBroker: %v", err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			b1.Close()
		}
	})

	const n, group = 120, "restart-group"
	prod, err := kafka.NewClient(b1.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := make(map[string]string) // value → key
	for i := range n {
		k, v := fmt.Sprintf("order-%d", i%11), fmt.Sprintf("v-%d", i)
		want[v] = k
		if err := prod.ProduceSync(ctx, &kgo.Record{Topic: kafka.TopicPayments, Key: []byte(k), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	prod.Close()

	// Consume everything in the group, then commit only the first part.
	cons, err := kafka.NewClient(b1.ClientConfig(),
		kgo.ConsumeTopics(kafka.TopicPayments),
		kgo.ConsumerGroup(group),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
	)
	if err != nil {
		t.Fatal(err)
	}
	recs := consumeN(ctx, t, cons, n)
	toCommit := recs[:n/3]
	wantCommitted := make(map[int32]int64)
	for _, r := range toCommit {
		if r.Offset+1 > wantCommitted[r.Partition] {
			wantCommitted[r.Partition] = r.Offset + 1
		}
	}
	if err := cons.CommitRecords(ctx, toCommit...); err != nil {
		t.Fatalf("commit: %v", err)
	}
	cons.Close()

	adm1, err := kafka.NewAdmin(b1.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	endsBefore, err := adm1.ListEndOffsets(ctx, kafka.TopicPayments)
	if err != nil {
		t.Fatalf("ListEndOffsets: %v", err)
	}
	adm1.Close()

	addr := b1.Addr()
	b1.Close()
	closed = true

	b2, err := startOnAddr(ctx, addr, dir)
	if err != nil {
		t.Fatalf("restart on %s: %v", addr, err)
	}
	t.Cleanup(b2.Close)
	if b2.Addr() != addr {
		t.Errorf("restarted Addr = %s, want %s", b2.Addr(), addr)
	}

	adm := newAdmin(t, b2)
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("FetchOffsets: %v", err)
	}
	for p, want := range wantCommitted {
		got, ok := offs.Lookup(kafka.TopicPayments, p)
		if !ok {
			t.Errorf("partition %d: no committed offset after restart, want %d", p, want)
			continue
		}
		if got.At != want {
			t.Errorf("partition %d: committed %d after restart, want %d", p, got.At, want)
		}
	}
	endsAfter, err := adm.ListEndOffsets(ctx, kafka.TopicPayments)
	if err != nil {
		t.Fatalf("ListEndOffsets: %v", err)
	}
	endsBefore.Each(func(o kadm.ListedOffset) {
		a, ok := endsAfter.Lookup(o.Topic, o.Partition)
		if !ok || a.Offset != o.Offset {
			t.Errorf("partition %d: end offset %d after restart, want %d", o.Partition, a.Offset, o.Offset)
		}
	})

	// Every record is still there, with its key.
	reader := newClient(t, b2,
		kgo.ConsumeTopics(kafka.TopicPayments),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	got := consumeN(ctx, t, reader, n)
	for _, r := range got {
		k, ok := want[string(r.Value)]
		if !ok || k != string(r.Key) {
			t.Errorf("after restart: unexpected record %q=%q", r.Key, r.Value)
		}
		delete(want, string(r.Value))
	}
	if len(want) != 0 {
		t.Errorf("after restart: %d records missing", len(want))
	}

	// The group resumes from its committed offsets.
	resumed := newClient(t, b2,
		kgo.ConsumeTopics(kafka.TopicPayments),
		kgo.ConsumerGroup(group),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	rest := consumeN(ctx, t, resumed, n-len(toCommit))
	if len(rest) != n-len(toCommit) {
		t.Errorf("group resumed with %d records, want %d", len(rest), n-len(toCommit))
	}
	for _, r := range rest {
		if r.Offset < wantCommitted[r.Partition] {
			t.Errorf("group re-read %d/%d below its committed offset %d", r.Partition, r.Offset, wantCommitted[r.Partition])
		}
	}
}

// startOnAddr restarts a broker on addr, retrying briefly while the old
// listener's port is being released.
func startOnAddr(ctx context.Context, addr, dir string) (*kafka.Broker, error) {
	var err error
	for range 50 {
		var b *kafka.Broker
		b, err = kafka.StartBroker(ctx, kafka.WithAddr(addr), kafka.WithDataDir(dir))
		if err == nil {
			return b, nil
		}
		var opErr *net.OpError
		if !errors.As(err, &opErr) {
			return nil, err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, err
}

func TestStartBrokerRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		opts []kafka.BrokerOpt
	}{
		{"no port", []kafka.BrokerOpt{kafka.WithAddr("127.0.0.1")}},
		{"port out of range", []kafka.BrokerOpt{kafka.WithAddr("127.0.0.1:70000")}},
		{"all interfaces without advertised host", []kafka.BrokerOpt{kafka.WithAddr("0.0.0.0:0")}},
		{"zero partitions", []kafka.BrokerOpt{kafka.WithAddr("127.0.0.1:0"), kafka.WithPartitions(0)}},
		{"sync writes without data dir", []kafka.BrokerOpt{kafka.WithAddr("127.0.0.1:0"), kafka.WithSyncWrites()}},
		{"sasl user without superuser", []kafka.BrokerOpt{kafka.WithAddr("127.0.0.1:0"), kafka.WithSASLUser(kafka.SASLPlain, "u", "p")}},
		{"unknown mechanism", []kafka.BrokerOpt{kafka.WithAddr("127.0.0.1:0"), kafka.WithSASLSuperuser("GSSAPI", "u", "p")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := kafka.StartBroker(testCtx(t), tt.opts...)
			if err == nil {
				b.Close()
				t.Fatal("StartBroker succeeded, want an error")
			}
		})
	}
}

func TestBrokerAdvertisedHost(t *testing.T) {
	b := startBroker(t, kafka.WithAddr("0.0.0.0:0"), kafka.WithAdvertisedHost("localhost"))
	host, _, err := net.SplitHostPort(b.Addr())
	if err != nil || host != "localhost" {
		t.Fatalf("Addr = %q, want host localhost", b.Addr())
	}
	ctx := testCtx(t)
	cl := newClient(t, b)
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: kafka.TopicShipping, Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatalf("produce via advertised host: %v", err)
	}
}
