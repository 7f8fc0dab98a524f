package metrics_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/metrics"
)

// Lag reports how far a consumer group is behind, in records and seconds.
func ExampleLag() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := kafka.StartBroker(ctx, kafka.WithAddr("127.0.0.1:0"),
		kafka.WithTopics(kafka.TopicSpec{Name: "orders", Partitions: 1, ReplicationFactor: -1}))
	if err != nil {
		panic(err)
	}
	defer b.Close()
	cl, err := kafka.NewClient(b.ClientConfig())
	if err != nil {
		panic(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	// Five records published a minute ago; the group consumed two.
	for range 5 {
		r := &kgo.Record{Topic: "orders", Value: []byte("{}"), Timestamp: time.Now().Add(-time.Minute)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			panic(err)
		}
	}
	offs := make(kadm.Offsets)
	offs.Add(kadm.Offset{Topic: "orders", Partition: 0, At: 2, LeaderEpoch: -1})
	if _, err := adm.CommitOffsets(ctx, "email-service", offs); err != nil {
		panic(err)
	}

	lags, err := metrics.Lag(ctx, adm, cl, "email-service")
	if err != nil {
		panic(err)
	}
	for _, l := range lags {
		fmt.Printf("%s %s/%d committed %d end %d lag %d, over a minute behind: %v\n",
			l.Group, l.Topic, l.Partition, l.Committed, l.End, l.Lag, l.LagSeconds >= 60)
	}
	// Output:
	// email-service orders/0 committed 2 end 5 lag 3, over a minute behind: true
}

// A process's /metrics: one registry, collectors registered on it, served
// by Handler.
func ExampleHandler() {
	reg := metrics.NewRegistry()
	httpm, err := metrics.NewHTTPMetrics(reg)
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.Handle("GET /metrics", metrics.Handler(reg))
	srv := &http.Server{Addr: "127.0.0.1:0", Handler: httpm.Middleware(mux), ReadHeaderTimeout: 5 * time.Second}
	_ = srv // srv.ListenAndServe()
	fmt.Println("ok")
	// Output: ok
}
