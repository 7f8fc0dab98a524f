package consumerpeer

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/causeway-dev/causeway/event"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Defaults of the benchmark.
const (
	DefaultEvents     = 100_000
	DefaultKeys       = 10_000
	DefaultPartitions = 6
	DefaultTopic      = "orders"
	// EventType is the type of every produced event.
	EventType = "order.placed"
	// SeqHeader carries the record's per-key sequence number (1, 2, …), so
	// the raw side can check order without decoding.
	SeqHeader = "seq"
)

// Harness is a running kfake broker with a pre-produced topic.
type Harness struct {
	Cluster    *kfake.Cluster
	Brokers    []string
	Topic      string
	Partitions int32
	Events     int
	Keys       int
	// Codec decodes the produced envelopes (EventType is registered).
	Codec *event.Codec
	// ProduceRate is the produce rate of the pre-produce, events/s.
	ProduceRate float64
	// AvgRecordBytes is the average value size of a record.
	AvgRecordBytes int
	// WatermillLogger, when set, receives the Watermill side's logs.
	WatermillLogger watermill.LoggerAdapter
}

// Start starts a kfake cluster on 127.0.0.1:0, creates the topic and
// produces events envelopes keyed by keys distinct order ids, in per-key
// sequence.
func Start(ctx context.Context, events, keys int, partitions int32) (*Harness, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
	if err != nil {
		return nil, fmt.Errorf("kfake: %w", err)
	}
	h := &Harness{
		Cluster:    c,
		Brokers:    c.ListenAddrs(),
		Topic:      DefaultTopic,
		Partitions: partitions,
		Events:     events,
		Keys:       keys,
	}
	reg := event.NewRegistry()
	if err := reg.Register(EventType, 1); err != nil {
		c.Close()
		return nil, err
	}
	h.Codec = event.NewCodec(reg)
	if err := h.produce(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return h, nil
}

// Close stops the broker.
func (h *Harness) Close() { h.Cluster.Close() }

// OrderID returns the i-th order id (the record key).
func OrderID(i int) string { return fmt.Sprintf("ord-%08d", i) }

// OrderPlaced is the data of the produced events.
type OrderPlaced struct {
	OrderID  string  `json:"orderId"`
	UserID   string  `json:"userId"`
	Seq      int     `json:"seq"`
	Items    []Item  `json:"items"`
	Total    int64   `json:"totalCents"`
	Currency string  `json:"currency"`
	Ship     Address `json:"shippingAddress"`
}

// Item is one order line.
type Item struct {
	SKU   string `json:"sku"`
	Qty   int    `json:"qty"`
	Price int64  `json:"priceCents"`
}

// Address is a shipping address.
type Address struct {
	Street  string `json:"street"`
	City    string `json:"city"`
	Country string `json:"country"`
}

func (h *Harness) produce(ctx context.Context) error {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(h.Brokers...),
		kgo.ProducerLinger(5*time.Millisecond),
		kgo.ProducerBatchMaxBytes(1<<20),
		kgo.MaxBufferedRecords(50_000),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	resp, err := adm.CreateTopic(ctx, h.Partitions, 1, nil, h.Topic)
	if err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	if resp.Err != nil {
		return fmt.Errorf("create topic: %w", resp.Err)
	}

	start := time.Now()
	var (
		mu       sync.Mutex
		firstErr error
		bytes    int
	)
	seq := make([]int, h.Keys)
	for i := 0; i < h.Events; i++ {
		k := i % h.Keys
		seq[k]++
		id := OrderID(k)
		env, err := event.New(EventType, 1, OrderPlaced{
			OrderID: id,
			UserID:  fmt.Sprintf("usr-%06d", k%997),
			Seq:     seq[k],
			Items: []Item{
				{SKU: "SKU-" + strconv.Itoa(1000+k%50), Qty: 1 + k%3, Price: 1999},
				{SKU: "SKU-" + strconv.Itoa(2000+k%70), Qty: 2, Price: 450},
			},
			Total:    int64(1999*(1+k%3) + 900),
			Currency: "EUR",
			Ship:     Address{Street: "12 Rue de la Paix", City: "Paris", Country: "FR"},
		}, event.Metadata{CorrelationID: "cor-" + id, Source: "order-service"})
		if err != nil {
			return err
		}
		b, err := h.Codec.Encode(env)
		if err != nil {
			return err
		}
		bytes += len(b)
		r := &kgo.Record{
			Topic:   h.Topic,
			Key:     []byte(id),
			Value:   b,
			Headers: []kgo.RecordHeader{{Key: SeqHeader, Value: []byte(strconv.Itoa(seq[k]))}},
		}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	if firstErr != nil {
		return fmt.Errorf("produce: %w", firstErr)
	}
	h.ProduceRate = float64(h.Events) / time.Since(start).Seconds()
	h.AvgRecordBytes = bytes / h.Events
	return nil
}

// Result is what one side measured.
type Result struct {
	// Handled is the number of distinct events whose effect committed.
	Handled int
	// Duplicates is how many deliveries dedup skipped.
	Duplicates int
	// OutOfOrder counts events whose per-key sequence was not the previous
	// one plus one when handled.
	OutOfOrder int
	// Elapsed runs from the start of the consumer (group join included)
	// until the last event was handled.
	Elapsed time.Duration
	// FirstToLast runs from the first handled event to the last.
	FirstToLast time.Duration
	// Startup runs from the start of the consumer to the first handled
	// event: joining the group, the first fetch, the first transaction.
	Startup time.Duration
	// CPU is the CPU time (user + system) the whole process used from the
	// start of the consumer until the last event was handled; it includes
	// the in-process broker serving the fetches. Less sensitive than
	// Elapsed to other processes sharing the machine.
	CPU time.Duration
	// MeanBatch is the mean number of events per transaction, where the
	// side batches and knows it.
	MeanBatch float64
}

// EventsPerSec is Handled / Elapsed.
func (r Result) EventsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Handled) / r.Elapsed.Seconds()
}

// progress counts handled events and signals when the target is reached.
type progress struct {
	target   int
	mu       sync.Mutex
	n        int
	start    time.Time
	startCPU time.Duration
	endCPU   time.Duration
	first    time.Time
	last     time.Time
	done     chan struct{}
}

// begin marks the start of the measurement and returns it.
func (p *progress) begin() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.startCPU = processCPU()
	p.start = time.Now()
	return p.start
}

func newProgress(target int) *progress {
	return &progress{target: target, done: make(chan struct{})}
}

// add records n handled events.
func (p *progress) add(n int) {
	if n == 0 {
		return
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == 0 {
		p.first = now
	}
	before := p.n
	p.n += n
	p.last = now
	if before < p.target && p.n >= p.target {
		p.endCPU = processCPU()
		close(p.done)
	}
}

func (p *progress) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// wait blocks until the target is reached or ctx ends.
func (p *progress) wait(ctx context.Context) error {
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("handled %d of %d: %w", p.count(), p.target, ctx.Err())
	}
}

func (p *progress) result() Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := Result{Handled: p.n, Elapsed: p.last.Sub(p.start), FirstToLast: p.last.Sub(p.first), Startup: p.first.Sub(p.start)}
	if p.endCPU > 0 {
		r.CPU = p.endCPU - p.startCPU
	}
	return r
}

// processCPU returns the user + system CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
