package readmodel_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/readmodel"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/projection"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqlite"
)

// benchRecord is one platform event as the read service reads it.
type benchRecord struct {
	topic, key string
	value      []byte
}

// platformStream returns the records of n orders' flows as the
// choreography produces them, each order with one or two lines: 80%
// shipped (7 events), 10% payment failed (3), 5% out of stock (6, with a
// refund), 5% shipping failed (9, with a release and a refund). Orders
// are keyed by user on the orders topic and by order on the others; event
// ids and times are deterministic.
func platformStream(tb testing.TB, n int) []benchRecord {
	tb.Helper()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var out []benchRecord
	id := func(n int) string { return fmt.Sprintf("01a23f10-0000-7000-8000-%012d", n) } // UUID-shaped, deterministic
	add := func(topic, key string, env event.Envelope, err error) {
		if err != nil {
			tb.Fatal(err)
		}
		env.EventID = id(len(out) + 1)
		v, err := env.MarshalJSON()
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, benchRecord{topic, key, v})
	}
	for i := range n {
		oid, user := fmt.Sprintf("o-%07d", i), fmt.Sprintf("u-%04d", i%2000)
		at := t0.Add(time.Duration(i) * time.Millisecond)
		step := func(k int) time.Time { return at.Add(time.Duration(k) * 10 * time.Millisecond) }
		md := event.Metadata{CorrelationID: id(1e9 + i), Source: schema.SourceOrder}
		cause := func() event.Envelope { return event.Envelope{EventID: id(len(out)), Metadata: md} }
		ord := func(e order.Event) {
			env, err := order.ToEnvelope(e, event.CausedBy(cause(), schema.SourceOrder))
			add(kafka.TopicOrders, user, env, err)
		}
		other := func(topic, source string, k int, data any) {
			env, err := schema.New(data, event.CausedBy(cause(), source))
			env.Timestamp = step(k)
			add(topic, oid, env, err)
		}
		p1, p2 := fmt.Sprintf("p-%02d", i%20), fmt.Sprintf("p-%02d", (i+7)%20)
		items := []order.Item{{ProductID: p1, Quantity: 1 + i%3, UnitPriceMinor: 1999}, {ProductID: p2, Quantity: 1, UnitPriceMinor: 450}}
		lines := []schema.Line{{ProductID: p1, Quantity: 1 + i%3}, {ProductID: p2, Quantity: 1}}
		total := int64(1+i%3)*1999 + 450
		if i%2 == 1 { // half the orders have one line (as loadgen's)
			items, lines, total = items[:1], lines[:1], int64(1+i%3)*1999
		}
		ord(order.Placed{OrderID: oid, UserID: user, Items: items, TotalMinor: total, Currency: "USD", PaymentMethod: "card_ok",
			ShippingAddress: order.Address{Name: "Ada", Line1: "1 Main St", City: "Springfield", Country: "US"}, PlacedAt: at})
		paid := func() {
			other(kafka.TopicPayments, schema.SourcePayment, 1, schema.PaymentSucceeded{OrderID: oid, UserID: user, PaymentID: "pay-" + oid,
				AmountMinor: total, Currency: "USD", Method: "card_ok", SucceededAt: step(1)})
			ord(order.Paid{OrderID: oid, PaymentID: "pay-" + oid, PaidAt: step(1)})
		}
		refund := func(k int, c schema.Cause) {
			other(kafka.TopicPayments, schema.SourcePayment, k, schema.PaymentRefunded{OrderID: oid, UserID: user, PaymentID: "pay-" + oid,
				AmountMinor: total, Currency: "USD", Cause: c, RefundedAt: step(k)})
		}
		reserved := func() {
			other(kafka.TopicInventory, schema.SourceInventory, 2, schema.StockReserved{OrderID: oid, UserID: user, ReservationID: "r-" + oid,
				Items: lines, ReservedAt: step(2)})
			ord(order.Reserved{OrderID: oid, ReservationID: "r-" + oid, ReservedAt: step(2)})
		}
		switch i % 20 {
		case 0, 1: // payment failed
			other(kafka.TopicPayments, schema.SourcePayment, 1, schema.PaymentFailed{OrderID: oid, UserID: user, AmountMinor: total,
				Currency: "USD", Method: "card_ok", Reason: schema.ReasonCardDeclined, FailedAt: step(1)})
			ord(order.Cancelled{OrderID: oid, Reason: order.ReasonPaymentFailed, CancelledAt: step(2)})
		case 2: // out of stock
			paid()
			other(kafka.TopicInventory, schema.SourceInventory, 2, schema.StockReservationFailed{OrderID: oid, UserID: user,
				Reason: schema.ReasonOutOfStock, Missing: lines[:1], FailedAt: step(2)})
			refund(3, schema.CauseOutOfStock)
			ord(order.Cancelled{OrderID: oid, Reason: order.ReasonOutOfStock, CancelledAt: step(4)})
		case 3: // shipping failed
			paid()
			reserved()
			other(kafka.TopicShipping, schema.SourceShipping, 3, schema.ShipmentFailed{OrderID: oid, UserID: user,
				Reason: schema.ReasonUnsupportedCountry, Country: "US", FailedAt: step(3)})
			other(kafka.TopicInventory, schema.SourceInventory, 4, schema.StockReleased{OrderID: oid, UserID: user, ReservationID: "r-" + oid,
				Items: lines, Cause: schema.CauseShippingFailed, ReleasedAt: step(4)})
			refund(5, schema.CauseShippingFailed)
			ord(order.Cancelled{OrderID: oid, Reason: order.ReasonShippingFailed, CancelledAt: step(6)})
		default: // shipped
			paid()
			reserved()
			other(kafka.TopicShipping, schema.SourceShipping, 3, schema.ShipmentCreated{OrderID: oid, UserID: user, ShipmentID: "s-" + oid,
				Carrier: "ACME", TrackingNumber: "TRK-" + oid, Country: "US", CreatedAt: step(3)})
			ord(order.Shipped{OrderID: oid, Carrier: "ACME", TrackingNumber: "TRK-" + oid, ShippedAt: step(4)})
		}
	}
	return out
}

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchEnv returns the positive integer in the environment variable
// name, or def when it is not set.
func benchEnv(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return v
}

// benchOrders is the number of orders of a read-side benchmark:
// READMODEL_BENCH_ORDERS, default 5,000 (about 33,000 events).
func benchOrders(b *testing.B) int { return benchEnv(b, "READMODEL_BENCH_ORDERS", 5000) }

// BenchmarkReadSide measures the read service (its four projections'
// runners, with the read service's options: ParkKey, contracts, dedup) on
// SQLite against an embedded broker with six partitions per topic, over
// READMODEL_BENCH_ORDERS orders' events (platformStream). Each iteration
// uses a fresh database:
//
//   - catchup: the events are on the topics first; the runners apply
//     them all (large batches).
//   - live: the runners start on empty topics and the events are produced
//     while they run, READMODEL_BENCH_RATE orders/s (default 500) in
//     ticks of 10 ms, as under load (small batches); the producer's
//     work is part of the CPU measured.
//
// Reported: records/s (the topics' records, each applied by one to three
// views), the process's CPU µs per record (user+system, the broker
// serving the fetches included) and the time until all was applied.
//
//	go test -run='^$' -bench=ReadSide -benchtime=5x ./internal/readmodel/
func BenchmarkReadSide(b *testing.B) {
	recs := platformStream(b, benchOrders(b))
	rate := benchEnv(b, "READMODEL_BENCH_RATE", 500)
	b.Run("catchup", func(b *testing.B) { benchReadSide(b, recs, 0) })
	b.Run("live", func(b *testing.B) { benchReadSide(b, recs, rate) })
}

// benchReadSide runs BenchmarkReadSide's iterations: recs produced before
// the runners start (rate 0) or while they run, rate orders/s.
func benchReadSide(b *testing.B, recs []benchRecord, rate int) {
	ctx := context.Background()
	codec, err := schema.NewCodec()
	if err != nil {
		b.Fatal(err)
	}
	perOrder := float64(len(recs)) / float64(benchOrders(b))
	var wall, cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		broker, cl := benchBroker(b)
		end := map[projection.TopicPartition]int64{}
		produce := func(recs []benchRecord) {
			krecs := make([]*kgo.Record, len(recs))
			for i, r := range recs {
				krecs[i] = &kgo.Record{Topic: r.topic, Key: []byte(r.key), Value: r.value}
			}
			if err := cl.ProduceSync(ctx, krecs...).FirstErr(); err != nil {
				b.Error(err)
			}
			for _, r := range krecs {
				tp := projection.TopicPartition{Topic: r.Topic, Partition: r.Partition}
				end[tp] = max(end[tp], r.Offset+1)
			}
		}
		if rate == 0 {
			produce(recs)
		}
		db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), fmt.Sprintf("read%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		if err := readmodel.Migrate(ctx, db); err != nil {
			b.Fatal(err)
		}
		svc, err := readmodel.New(ctx, db, codec, readmodel.WithRunnerOptions(projection.WithKafkaOpts(kgo.SeedBrokers(broker.Addr()))))
		if err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		b.StartTimer()
		t0, c0 := time.Now(), cpuTime()
		svc.Start(rctx)
		if rate > 0 {
			const tick = 10 * time.Millisecond
			per := max(1, int(float64(rate)*perOrder*tick.Seconds()))
			next := time.Now()
			for rest := recs; len(rest) > 0; {
				n := min(per, len(rest))
				produce(rest[:n])
				rest = rest[n:]
				next = next.Add(tick)
				time.Sleep(time.Until(next))
			}
		}
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Minute)
		err = svc.CatchUp(wctx, end)
		wall, cpu = wall+time.Since(t0), cpu+cpuTime()-c0
		wcancel()
		b.StopTimer()
		cancel()
		svc.Wait()
		if err != nil {
			b.Fatal(err)
		}
		for _, st := range svc.Statuses() {
			if st.Skipped+st.Parked+st.Poisoned > 0 {
				b.Fatalf("%s: skipped %d, parked %d, poisoned %d; want none", st.Projection, st.Skipped, st.Parked, st.Poisoned)
			}
		}
		_ = db.Close()
		cl.Close()
		broker.Close()
	}
	n := float64(len(recs) * b.N)
	b.ReportMetric(n/wall.Seconds(), "records/s")
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/record")
	b.ReportMetric(wall.Seconds()/float64(b.N), "s/run")
	b.ReportMetric(float64(len(recs)), "records")
}

// benchBroker starts an embedded broker with the read service's topics
// and a producer to it.
func benchBroker(b *testing.B) (*kafka.Broker, *kgo.Client) {
	var specs []kafka.TopicSpec
	for _, tp := range []string{kafka.TopicOrders, kafka.TopicPayments, kafka.TopicInventory, kafka.TopicShipping} {
		specs = append(specs, kafka.TopicSpec{Name: tp, Partitions: kafka.DefaultPartitions, ReplicationFactor: -1})
	}
	broker, err := kafka.StartBroker(context.Background(), kafka.WithAddr("127.0.0.1:0"), kafka.WithTopics(specs...))
	if err != nil {
		b.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addr()), kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(50_000),
		kgo.ProducerLinger(0))
	if err != nil {
		b.Fatal(err)
	}
	return broker, cl
}

// BenchmarkViewsApply measures the views' Apply alone, without Kafka and
// the runner: platformStream's records are decoded once, then each
// iteration applies them on a fresh SQLite database, every view the
// records of its topics in transactions of 500, as a runner's batches.
// Reported: records/s and the process's CPU µs per record.
//
//	go test -run='^$' -bench=ViewsApply -benchtime=5x ./internal/readmodel/
func BenchmarkViewsApply(b *testing.B) {
	// Cancellable, as a runner's: the SQLite driver watches it per statement.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	recs := platformStream(b, benchOrders(b))
	codec, err := schema.NewCodec()
	if err != nil {
		b.Fatal(err)
	}
	msgs := make([]projection.Message, len(recs))
	for i, r := range recs {
		env, err := codec.Decode(r.value)
		if err != nil {
			b.Fatal(err)
		}
		msgs[i] = projection.Message{Envelope: env, Topic: r.topic, Key: []byte(r.key), Offset: int64(i), Timestamp: env.Timestamp}
	}
	var wall, cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), fmt.Sprintf("views%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		if err := readmodel.Migrate(ctx, db); err != nil {
			b.Fatal(err)
		}
		if _, err := readmodel.New(ctx, db, codec); err != nil { // sets the tables up
			b.Fatal(err)
		}
		b.StartTimer()
		t0, c0 := time.Now(), cpuTime()
		for _, p := range readmodel.All() {
			var mine []projection.Message
			for _, m := range msgs {
				for _, tp := range p.Topics() {
					if m.Topic == tp {
						mine = append(mine, m)
					}
				}
			}
			for len(mine) > 0 {
				batch := mine[:min(500, len(mine))]
				mine = mine[len(batch):]
				if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
					for _, m := range batch {
						if err := p.Apply(ctx, tx, projection.Tables{}, m); err != nil {
							return fmt.Errorf("%s: %s: %w", p.Name(), m.Envelope.EventType, err)
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
		}
		wall, cpu = wall+time.Since(t0), cpu+cpuTime()-c0
		b.StopTimer()
		_ = db.Close()
	}
	n := float64(len(recs) * b.N)
	b.ReportMetric(n/wall.Seconds(), "records/s")
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/record")
	b.ReportMetric(float64(len(recs)), "records")
}
