package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/causeway-dev/causeway/internal/testcert"
	"github.com/causeway-dev/causeway/kafka"
)

// TestServeACLs runs serve against the embedded broker with SCRAM and ACLs:
// a user the ACLs give nothing is refused at start with the broker's
// authorization error named, and so is one with topic rights but none on
// its group (the consumer stops, the process exits); a user allowed on the
// topics, groups and cluster starts and stops cleanly.
func TestServeACLs(t *testing.T) {
	all := func(rt kmsg.ACLResourceType, name string) kfake.ACL {
		return kfake.ACL{Resource: rt, Name: name, Pattern: kmsg.ACLResourcePatternTypeLiteral,
			Operation: kmsg.ACLOperationAll, Allow: true}
	}
	broker, err := kafka.StartBroker(context.Background(), kafka.WithAddr("127.0.0.1:0"),
		kafka.WithSASLSuperuser(kafka.SASLScramSHA256, "admin", "admin-secret"),
		kafka.WithSASLUser(kafka.SASLScramSHA256, "svc", "svc-secret",
			all(kmsg.ACLResourceTypeTopic, "*"), all(kmsg.ACLResourceTypeGroup, "*"), all(kmsg.ACLResourceTypeCluster, "kafka-cluster")),
		kafka.WithSASLUser(kafka.SASLScramSHA256, "intruder", "intruder-secret", all(kmsg.ACLResourceTypeGroup, "*")),
		kafka.WithSASLUser(kafka.SASLScramSHA256, "groupless", "groupless-secret",
			all(kmsg.ACLResourceTypeTopic, "*"), all(kmsg.ACLResourceTypeCluster, "kafka-cluster")),
		kafka.WithACLs())
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	serve := func(user, pass string) (*syncBuffer, chan error, context.CancelFunc) {
		logs := &syncBuffer{}
		root := newRootCmd()
		root.SetArgs([]string{"serve", "--brokers", broker.Addr(), "--data-dir", t.TempDir(), "--services", "payment",
			"--sasl-mechanism", "SCRAM-SHA-256", "--sasl-user", user, "--sasl-password", pass, "--instance-id", user})
		root.SetErr(logs)
		root.SetOut(logs)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		done := make(chan error, 1)
		go func() { done <- root.ExecuteContext(ctx) }()
		return logs, done, cancel
	}

	// refused runs serve as user and wants it to exit with an error
	// naming want.
	refused := func(user, pass, what, want string) {
		logs, done, cancel := serve(user, pass)
		defer cancel()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("serve as a user without %s: %v, want an error naming %s\n%s", what, err, want, logs.String())
			}
			t.Logf("refused: %v", err)
		case <-time.After(time.Minute):
			t.Errorf("serve as a user without %s still running after a minute:\n%s", what, logs.String())
		}
	}
	refused("intruder", "intruder-secret", "topic ACLs", "AUTHORIZATION_FAILED")
	// Topic rights but no group rights: the consumer group cannot be
	// joined.
	refused("groupless", "groupless-secret", "group ACLs", "GROUP_AUTHORIZATION_FAILED")

	logs, done, cancel := serve("svc", "svc-secret")
	defer cancel()
	for deadline := time.Now().Add(time.Minute); !strings.Contains(logs.String(), "partitions assigned"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve as an allowed user did not get its partitions:\n%s", logs.String())
		}
		select {
		case err := <-done:
			t.Fatalf("serve as an allowed user exited: %v\n%s", err, logs.String())
		default:
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve as an allowed user: %v\n%s", err, logs.String())
	}
}

// TestServeTLS runs serve against the embedded broker speaking only TLS
// (with SCRAM): given --tls and the broker's CA (--tls-ca-file) it starts,
// gets its partitions and stops cleanly. (A client that does not trust
// the CA, or speaks plaintext, is refused: kafka's TestBrokerTLS.)
func TestServeTLS(t *testing.T) {
	certs, err := testcert.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	broker, err := kafka.StartBroker(context.Background(), kafka.WithAddr("127.0.0.1:0"),
		kafka.WithTLS(certs.Cert, certs.Key, certs.CA),
		kafka.WithSASLSuperuser(kafka.SASLScramSHA256, "svc", "svc-secret"))
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	logs := &syncBuffer{}
	root := newRootCmd()
	root.SetArgs([]string{"serve", "--brokers", broker.Addr(), "--data-dir", t.TempDir(), "--services", "payment",
		"--tls", "--tls-ca-file", certs.CA,
		"--sasl-mechanism", "SCRAM-SHA-256", "--sasl-user", "svc", "--sasl-password", "svc-secret", "--instance-id", "tls"})
	root.SetErr(logs)
	root.SetOut(logs)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	for deadline := time.Now().Add(time.Minute); !strings.Contains(logs.String(), "partitions assigned"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve over TLS did not get its partitions:\n%s", logs.String())
		}
		select {
		case err := <-done:
			t.Fatalf("serve over TLS exited: %v\n%s", err, logs.String())
		default:
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve over TLS: %v\n%s", err, logs.String())
	}
}
