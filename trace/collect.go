package trace

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/kafka"
)

// DefaultMaxEvents is the default cap of events per flow.
const DefaultMaxEvents = 10000

// DefaultTopics returns the topics a Tracer scans unless configured: the
// event topics and the orchestrator's command and reply topics.
func DefaultTopics() []string {
	return []string{
		kafka.TopicOrders, kafka.TopicPayments, kafka.TopicInventory, kafka.TopicShipping,
		kafka.TopicCommandsPayment, kafka.TopicCommandsInventory, kafka.TopicCommandsShipping, kafka.TopicSagaReplies,
	}
}

// Tracer collects the events of one flow from Kafka and, optionally, an
// event store, and builds its causation tree. It is safe for concurrent
// use; each Trace uses its own Kafka client.
type Tracer struct {
	kcfg      kafka.ClientConfig
	kafkaOn   bool
	extra     []kgo.Opt
	topics    []string
	maxEvents int
	store     eventstore.CorrelationReader
}

// Option configures a Tracer.
type Option func(*Tracer)

// WithTopics sets the topics to scan (default DefaultTopics). A topic that
// does not exist is skipped.
func WithTopics(topics ...string) Option {
	return func(t *Tracer) { t.topics = slices.Clone(topics) }
}

// WithMaxEvents caps the events of one flow (default DefaultMaxEvents; at
// least 1). Once the cap is reached the scan stops and Flow.Truncated is
// set.
func WithMaxEvents(n int) Option { return func(t *Tracer) { t.maxEvents = max(n, 1) } }

// WithStore also reads the flow from an event store (the order service's):
// its events are merged with Kafka's, deduplicated by event id.
func WithStore(s eventstore.CorrelationReader) Option { return func(t *Tracer) { t.store = s } }

// WithKafkaOpts adds franz-go options to the client of each Trace.
func WithKafkaOpts(opts ...kgo.Opt) Option {
	return func(t *Tracer) { t.extra = append(t.extra, opts...) }
}

// WithoutKafka reads the event store only.
func WithoutKafka() Option { return func(t *Tracer) { t.kafkaOn = false } }

// New returns a Tracer reading the cluster cfg reaches.
func New(cfg kafka.ClientConfig, opts ...Option) *Tracer {
	t := &Tracer{kcfg: cfg, kafkaOn: true, topics: DefaultTopics(), maxEvents: DefaultMaxEvents}
	for _, o := range opts {
		if o != nil {
			o(t)
		}
	}
	return t
}

// Trace returns the causation tree of the flow correlationID: every event
// of the scanned topics labelled with it (read from each partition's start
// offset to its end offset at the time of the call, so the scan is
// bounded and never waits for new records), merged with the event store's.
// It fails with ErrInvalidID for an impossible id and ErrNotFound when no
// event is found. When one source fails and the other gives events, the
// failure becomes a warning of the Flow.
func (t *Tracer) Trace(ctx context.Context, correlationID string) (*Flow, error) {
	if err := ValidateID(correlationID); err != nil {
		return nil, err
	}
	var (
		events          []Event
		warnings        []string
		kafkaErr, dbErr error
		scanned         int64
		undecodable     int
		truncated       bool
	)
	if t.kafkaOn {
		var s scan
		s, kafkaErr = t.scanKafka(ctx, correlationID)
		events, scanned, undecodable, truncated = s.events, s.scanned, s.undecodable, s.truncated
	}
	if t.store != nil {
		recs, err := t.store.ReadCorrelation(ctx, correlationID)
		if err != nil {
			dbErr = fmt.Errorf("trace: event store: %w", err)
		}
		index := make(map[string]int, len(events))
		for i, e := range events {
			index[e.EventID] = i
		}
		for _, r := range recs {
			if i, ok := index[r.Event.EventID]; ok {
				events[i].InStore = true // Build merges the copies
				continue
			}
			if len(index) >= t.maxEvents {
				truncated = true
				break
			}
			e := FromEnvelope(r.Event, nil)
			e.InStore = true
			index[e.EventID] = len(events)
			events = append(events, e)
		}
	}
	switch {
	case kafkaErr != nil && len(events) == 0:
		return nil, errors.Join(kafkaErr, dbErr)
	case dbErr != nil && len(events) == 0:
		return nil, errors.Join(kafkaErr, dbErr)
	}
	for _, err := range []error{kafkaErr, dbErr} {
		if err != nil {
			warnings = append(warnings, err.Error())
		}
	}
	f, err := Build(correlationID, events)
	if err != nil {
		return nil, err
	}
	f.Scanned, f.Undecodable, f.Truncated, f.Warnings = scanned, undecodable, truncated, warnings
	return f, nil
}

type scan struct {
	events      []Event
	scanned     int64
	undecodable int
	truncated   bool
}

type topicPartition struct {
	topic     string
	partition int32
}

// scanKafka reads every partition of t.topics from its start offset to the
// end offset it has now, keeping the records of correlationID.
func (t *Tracer) scanKafka(ctx context.Context, correlationID string) (scan, error) {
	var s scan
	adm, err := kafka.NewAdmin(t.kcfg, t.extra...)
	if err != nil {
		return s, fmt.Errorf("trace: %w", err)
	}
	defer adm.Close()
	ends, err := adm.ListEndOffsets(ctx, t.topics...)
	if err != nil {
		return s, fmt.Errorf("trace: end offsets: %w", err)
	}
	starts, err := adm.ListStartOffsets(ctx, t.topics...)
	if err != nil {
		return s, fmt.Errorf("trace: start offsets: %w", err)
	}
	remaining := map[topicPartition]int64{}
	from := map[string]map[int32]kgo.Offset{}
	var errs []error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			if !errors.Is(o.Err, kerr.UnknownTopicOrPartition) {
				errs = append(errs, fmt.Errorf("trace: end offset of %s/%d: %w", o.Topic, o.Partition, o.Err))
			}
			return
		}
		start := int64(0)
		if so, ok := starts.Lookup(o.Topic, o.Partition); ok && so.Err == nil {
			start = so.Offset
		}
		if start < o.Offset {
			remaining[topicPartition{o.Topic, o.Partition}] = o.Offset
			if from[o.Topic] == nil {
				from[o.Topic] = map[int32]kgo.Offset{}
			}
			from[o.Topic][o.Partition] = kgo.NewOffset().At(start)
		}
	})
	if len(errs) > 0 {
		return s, errors.Join(errs...)
	}
	if len(remaining) == 0 {
		return s, nil
	}
	cl, err := kafka.NewClient(t.kcfg, append(slices.Clone(t.extra),
		kgo.ConsumePartitions(from),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(250*time.Millisecond))...)
	if err != nil {
		return s, fmt.Errorf("trace: %w", err)
	}
	defer cl.Close()
	seen := map[string]bool{}
	want := []byte(correlationID)
	for len(remaining) > 0 && !s.truncated {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return s, fmt.Errorf("trace: scan: %w", err)
		}
		fs.EachError(func(topic string, p int32, err error) {
			errs = append(errs, fmt.Errorf("trace: read %s/%d: %w", topic, p, err))
		})
		if len(errs) > 0 {
			return s, errors.Join(errs...)
		}
		fs.EachRecord(func(r *kgo.Record) {
			k := topicPartition{r.Topic, r.Partition}
			end, ok := remaining[k]
			if !ok || r.Offset >= end {
				return
			}
			if r.Offset >= end-1 {
				delete(remaining, k)
			}
			if s.truncated {
				return
			}
			s.scanned++
			e, ok, bad := match(r, correlationID, want)
			if bad {
				s.undecodable++
			}
			if !ok {
				return
			}
			if !seen[e.EventID] {
				if len(seen) >= t.maxEvents {
					s.truncated = true
					return
				}
				seen[e.EventID] = true
			}
			s.events = append(s.events, e)
		})
	}
	return s, nil
}

// match decides whether r is an event of correlationID. A record with a
// ce_correlationid header is decoded only when the header matches (bad
// when its value is then not an envelope of the flow); a record without
// the header is decoded only when its value contains the id.
func match(r *kgo.Record, correlationID string, want []byte) (e Event, ok, bad bool) {
	labelled := false
	for _, h := range r.Headers {
		if h.Key == event.HeaderCorrelationID {
			if string(h.Value) != correlationID {
				return Event{}, false, false
			}
			labelled = true
			break
		}
	}
	if !labelled && !bytes.Contains(r.Value, want) {
		return Event{}, false, false
	}
	var env event.Envelope
	if err := json.Unmarshal(r.Value, &env); err != nil || env.EventID == "" || env.EventType == "" ||
		env.Metadata.CorrelationID != correlationID {
		return Event{}, false, labelled
	}
	return FromEnvelope(env, &Position{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}), true, false
}
