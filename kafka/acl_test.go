package kafka_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/kafka"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestBrokerACLs(t *testing.T) {
	allow := func(op kmsg.ACLOperation) kfake.ACL {
		return kfake.ACL{Resource: kmsg.ACLResourceTypeTopic, Name: kafka.TopicOrders,
			Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: op, Allow: true}
	}
	b := startBroker(t,
		kafka.WithSASLSuperuser(kafka.SASLScramSHA256, "admin", "admin-secret"),
		kafka.WithSASLUser(kafka.SASLScramSHA256, "writer", "writer-secret", allow(kmsg.ACLOperationWrite), allow(kmsg.ACLOperationDescribe)),
		kafka.WithACLs(),
	)
	ctx := testCtx(t)
	cfg := kafka.ClientConfig{Brokers: []string{b.Addr()},
		SASL: kafka.SASLConfig{Mechanism: kafka.SASLScramSHA256, User: "writer", Password: "writer-secret"}}
	cl, err := kafka.NewClient(cfg, kgo.RecordDeliveryTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: kafka.TopicOrders, Value: []byte("allowed")}).FirstErr(); err != nil {
		t.Fatalf("produce to orders, allowed by ACL: %v", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = cl.ProduceSync(pctx, &kgo.Record{Topic: kafka.TopicPayments, Value: []byte("denied")}).FirstErr()
	if err == nil {
		t.Fatal("produce to payments succeeded without an ACL allowing it")
	}
	if !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("produce to payments: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
}
