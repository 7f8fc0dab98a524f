package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaHooks counts the records franz-go clients produce and consume, per
// topic. Attach it with kgo.WithHooks(h) (consumer.WithKafkaOpts for a
// runner's client, kafka.NewClient's extra options for a relay's).
//
//	causeway_kafka_produced_records_total{topic}
//	causeway_kafka_produce_errors_total{topic}
//	causeway_kafka_consumed_records_total{topic}
//
// Consumed counts records polled by the application (not those buffered and
// discarded on a revoke). It is safe for concurrent use.
type KafkaHooks struct {
	produced, produceErrs, consumed *prometheus.CounterVec
}

var (
	_ kgo.HookProduceRecordUnbuffered = (*KafkaHooks)(nil)
	_ kgo.HookFetchRecordUnbuffered   = (*KafkaHooks)(nil)
)

// NewKafkaHooks returns KafkaHooks whose counters are registered with reg
// (nil: the caller registers Collectors).
func NewKafkaHooks(reg prometheus.Registerer) (*KafkaHooks, error) {
	t := []string{"topic"}
	h := &KafkaHooks{
		produced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "causeway_kafka_produced_records_total",
			Help: "Records produced and acknowledged by the broker.",
		}, t),
		produceErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "causeway_kafka_produce_errors_total",
			Help: "Records whose produce failed.",
		}, t),
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "causeway_kafka_consumed_records_total",
			Help: "Records consumed (polled by the application).",
		}, t),
	}
	if reg != nil {
		for _, c := range h.Collectors() {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return h, nil
}

// Collectors returns the collectors to register.
func (h *KafkaHooks) Collectors() []prometheus.Collector {
	return []prometheus.Collector{h.produced, h.produceErrs, h.consumed}
}

// OnProduceRecordUnbuffered implements kgo.HookProduceRecordUnbuffered.
func (h *KafkaHooks) OnProduceRecordUnbuffered(r *kgo.Record, err error) {
	if err != nil {
		h.produceErrs.WithLabelValues(r.Topic).Inc()
		return
	}
	h.produced.WithLabelValues(r.Topic).Inc()
}

// OnFetchRecordUnbuffered implements kgo.HookFetchRecordUnbuffered.
func (h *KafkaHooks) OnFetchRecordUnbuffered(r *kgo.Record, polled bool) {
	if polled {
		h.consumed.WithLabelValues(r.Topic).Inc()
	}
}
