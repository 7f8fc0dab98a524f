package kafka_test

import (
	"context"
	"fmt"
	"log"

	"github.com/causeway-dev/causeway/kafka"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Start an embedded broker on a free port, produce a keyed record and read
// it back.
func ExampleStartBroker() {
	ctx := context.Background()
	b, err := kafka.StartBroker(ctx, kafka.WithAddr("127.0.0.1:0"))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	cl, err := kafka.NewClient(b.ClientConfig(),
		kgo.ConsumeTopics(kafka.TopicOrders),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()

	rec := &kgo.Record{Topic: kafka.TopicOrders, Key: []byte("u-42"), Value: []byte(`{"eventType":"order.placed"}`)}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		log.Fatal(err)
	}
	fs := cl.PollFetches(ctx)
	for _, r := range fs.Records() {
		fmt.Printf("%s %s\n", r.Key, r.Value)
	}
	// Output: u-42 {"eventType":"order.placed"}
}

// Connect to a secured cluster. Validate lists every problem at once.
func ExampleClientConfig_Validate() {
	cfg := kafka.ClientConfig{
		Brokers: []string{"kafka-1:9093"},
		SASL:    kafka.SASLConfig{Mechanism: kafka.SASLScramSHA512, User: "orders"},
		TLS:     kafka.TLSConfig{CertFile: "client.pem"},
	}
	fmt.Println(cfg.Validate())
	// Output:
	// sasl SCRAM-SHA-512: password is empty
	// tls: options given but tls is not enabled
	// tls: cert file and key file must be given together
}

// Create a consumer group's dead-letter topic next to the default topics.
func ExampleEnsureTopics() {
	ctx := context.Background()
	b, err := kafka.StartBroker(ctx, kafka.WithAddr("127.0.0.1:0"))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	adm, err := kafka.NewAdmin(b.ClientConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer adm.Close()

	specs := append(kafka.DefaultTopics(kafka.DefaultPartitions, -1),
		kafka.DeadLetterTopicSpec("payment-service", kafka.DefaultPartitions, -1))
	if err := kafka.EnsureTopics(ctx, adm, specs...); err != nil {
		log.Fatal(err)
	}
	fmt.Println(kafka.DeadLetterTopic("payment-service"), "ready")
	// Output: dlq.payment-service ready
}
