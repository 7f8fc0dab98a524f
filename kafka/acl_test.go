package kafka_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
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

// TestEnsureTopicsWithoutConfigRights: a principal that may use a topic
// but not describe or alter its configs (configs managed elsewhere) is not
// refused: the differences come back as changes with Err set, for the
// caller to warn about, and the topic keeps its configs.
func TestEnsureTopicsWithoutConfigRights(t *testing.T) {
	const topic = "acl.cfg"
	acl := func(op kmsg.ACLOperation) kfake.ACL {
		return kfake.ACL{Resource: kmsg.ACLResourceTypeTopic, Name: topic,
			Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: op, Allow: true}
	}
	b := startBroker(t, kafka.WithTopics(),
		kafka.WithSASLSuperuser(kafka.SASLScramSHA256, "admin", "admin-secret"),
		kafka.WithSASLUser(kafka.SASLScramSHA256, "user", "user-secret",
			acl(kmsg.ACLOperationDescribe), acl(kmsg.ACLOperationRead), acl(kmsg.ACLOperationWrite)),
		kafka.WithSASLUser(kafka.SASLScramSHA256, "reader", "reader-secret",
			acl(kmsg.ACLOperationDescribe), acl(kmsg.ACLOperationDescribeConfigs)),
		kafka.WithACLs(),
	)
	ctx := testCtx(t)
	spec := kafka.TopicSpec{Name: topic, Partitions: 1, ReplicationFactor: -1, Retention: kafka.Retention{Time: time.Hour}}
	if err := kafka.EnsureTopics(ctx, newAdmin(t, b), spec); err != nil { // as the superuser
		t.Fatal(err)
	}
	other := spec
	other.Retention.Time = 2 * time.Hour
	as := func(user, pass string) *kadm.Client {
		adm, err := kafka.NewAdmin(kafka.ClientConfig{Brokers: []string{b.Addr()},
			SASL: kafka.SASLConfig{Mechanism: kafka.SASLScramSHA256, User: user, Password: pass}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(adm.Close)
		return adm
	}
	changes, err := kafka.EnsureTopicsChanges(ctx, as("user", "user-secret"), other)
	if err != nil || len(changes) != 1 || changes[0].Err == nil || changes[0].Key != "" || !errors.Is(changes[0].Err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("without DescribeConfigs: %v, %v; want one unread topic with an authorization error", changes, err)
	}
	changes, err = kafka.EnsureTopicsChanges(ctx, as("reader", "reader-secret"), other)
	if err != nil || len(changes) != 1 || changes[0].Key != "retention.ms" || changes[0].To != "7200000" || changes[0].Err == nil {
		t.Fatalf("without AlterConfigs: %v, %v; want retention.ms not changed, with its error", changes, err)
	}
	if got := retentionMs(t, b, topic); got != "3600000" {
		t.Fatalf("retention.ms %s after the refused changes, want 3600000", got)
	}
}
