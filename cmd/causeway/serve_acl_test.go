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

// serveRun is one in-process `causeway serve`.
type serveRun struct {
	logs   *syncBuffer
	done   chan error
	cancel context.CancelFunc
}

// startServeCmd runs `causeway serve args...` in this process (for at
// most two minutes).
func startServeCmd(args ...string) *serveRun {
	r := &serveRun{logs: &syncBuffer{}, done: make(chan error, 1)}
	root := newRootCmd()
	root.SetArgs(append([]string{"serve"}, args...))
	root.SetErr(r.logs)
	root.SetOut(r.logs)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	r.cancel = cancel
	go func() { r.done <- root.ExecuteContext(ctx) }()
	return r
}

// assignedThenStop waits until serve got its partitions, then stops it
// and wants a clean exit.
func (r *serveRun) assignedThenStop(t *testing.T, what string) {
	t.Helper()
	defer r.cancel()
	for deadline := time.Now().Add(time.Minute); !strings.Contains(r.logs.String(), "partitions assigned"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve %s did not get its partitions:\n%s", what, r.logs.String())
		}
		select {
		case err := <-r.done:
			t.Fatalf("serve %s exited: %v\n%s", what, err, r.logs.String())
		default:
		}
	}
	r.cancel()
	if err := <-r.done; err != nil {
		t.Fatalf("serve %s: %v\n%s", what, err, r.logs.String())
	}
}

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
	serve := func(user, pass string) *serveRun {
		return startServeCmd("--brokers", broker.Addr(), "--data-dir", t.TempDir(), "--services", "payment",
			"--sasl-mechanism", "SCRAM-SHA-256", "--sasl-user", user, "--sasl-password", pass, "--instance-id", user)
	}

	// refused runs serve as user and wants it to exit with an error
	// naming want.
	refused := func(user, pass, what, want string) {
		r := serve(user, pass)
		defer r.cancel()
		select {
		case err := <-r.done:
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("serve as a user without %s: %v, want an error naming %s\n%s", what, err, want, r.logs.String())
			}
			t.Logf("refused: %v", err)
		case <-time.After(time.Minute):
			t.Errorf("serve as a user without %s still running after a minute:\n%s", what, r.logs.String())
		}
	}
	refused("intruder", "intruder-secret", "topic ACLs", "AUTHORIZATION_FAILED")
	// Topic rights but no group rights: the consumer group cannot be
	// joined.
	refused("groupless", "groupless-secret", "group ACLs", "GROUP_AUTHORIZATION_FAILED")

	serve("svc", "svc-secret").assignedThenStop(t, "as an allowed user")
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
	startServeCmd("--brokers", broker.Addr(), "--data-dir", t.TempDir(), "--services", "payment",
		"--tls", "--tls-ca-file", certs.CA,
		"--sasl-mechanism", "SCRAM-SHA-256", "--sasl-user", "svc", "--sasl-password", "svc-secret", "--instance-id", "tls").
		assignedThenStop(t, "over TLS")
}
