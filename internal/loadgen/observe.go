package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/kafka"
)

// terminal is an order's terminal event as observed.
type terminal struct {
	at      time.Time
	outcome string // "shipped" or "cancelled/<reason>"
}

// observer timestamps the terminal events of the orders topic, read
// without a group from the end offsets at start.
type observer struct {
	cl   *kgo.Client
	mu   sync.Mutex
	seen map[string]terminal
	n    int
	done chan struct{}
}

// startObserver lists the end offsets of the orders topic and starts
// consuming every partition from there.
func startObserver(ctx context.Context, cfg kafka.ClientConfig) (*observer, error) {
	adm, err := kafka.NewAdmin(cfg)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	ends, err := adm.ListEndOffsets(lctx, kafka.TopicOrders)
	cancel()
	adm.Close()
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", kafka.TopicOrders, err)
	}
	if err := ends.Error(); err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", kafka.TopicOrders, err)
	}
	parts := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) { parts[o.Partition] = kgo.NewOffset().At(o.Offset) })
	if len(parts) == 0 {
		return nil, fmt.Errorf("topic %s has no partitions", kafka.TopicOrders)
	}
	opts, err := cfg.Opts()
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{kafka.TopicOrders: parts}))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	o := &observer{cl: cl, seen: map[string]terminal{}, done: make(chan struct{})}
	go o.run()
	return o, nil
}

// run consumes until the client is closed.
func (o *observer) run() {
	defer close(o.done)
	for {
		fs := o.cl.PollFetches(context.Background())
		if fs.IsClientClosed() {
			return
		}
		now := time.Now()
		fs.EachRecord(func(r *kgo.Record) {
			// Most order events are not terminal: the CloudEvents type
			// header says so without decoding the value (records without
			// the header are decoded).
			if t, ok := consumer.Header(r.Headers, event.HeaderType); ok && t != "order.shipped" && t != "order.cancelled" {
				return
			}
			var env struct {
				EventType string `json:"eventType"`
				Data      struct {
					OrderID string `json:"orderId"`
					Reason  string `json:"reason"`
				} `json:"data"`
			}
			if json.Unmarshal(r.Value, &env) != nil || env.Data.OrderID == "" {
				return
			}
			var outcome string
			switch env.EventType {
			case "order.shipped":
				outcome = "shipped"
			case "order.cancelled":
				outcome = "cancelled/" + env.Data.Reason
			default:
				return
			}
			o.mu.Lock()
			if _, dup := o.seen[env.Data.OrderID]; !dup { // at least once: keep the first
				o.seen[env.Data.OrderID] = terminal{at: now, outcome: outcome}
				o.n++
			}
			o.mu.Unlock()
		})
	}
}

// get returns the terminal event of orderID, if seen.
func (o *observer) get(orderID string) (terminal, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	t, ok := o.seen[orderID]
	return t, ok
}

// count returns how many terminal events were seen (orders of other
// clients included).
func (o *observer) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n
}

// close stops consuming.
func (o *observer) close() {
	o.cl.Close()
	<-o.done
}
