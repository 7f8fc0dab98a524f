package kafka_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/internal/testcert"
	"github.com/causeway-dev/causeway/kafka"
)

// TestBrokerTLS: the embedded broker with WithTLS and SCRAM speaks only
// TLS. A client trusting its CA (ClientConfig.TLS.CAFile) produces and
// consumes; one trusting only the system's roots is refused with the
// certificate error; a plaintext client never gets an answer.
func TestBrokerTLS(t *testing.T) {
	certs, err := testcert.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, kafka.WithTLS(certs.Cert, certs.Key, certs.CA),
		kafka.WithSASLSuperuser(kafka.SASLScramSHA256, "admin", "admin-secret"))
	ctx := testCtx(t)
	scram := kafka.SASLConfig{Mechanism: kafka.SASLScramSHA256, User: "admin", Password: "admin-secret"}

	good, err := kafka.NewClient(kafka.ClientConfig{Brokers: []string{b.Addr()}, SASL: scram,
		TLS: kafka.TLSConfig{Enabled: true, CAFile: certs.CA}}, kgo.ConsumeTopics(kafka.TopicOrders),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	if err := good.ProduceSync(ctx, &kgo.Record{Topic: kafka.TopicOrders, Key: []byte("k"), Value: []byte("over tls")}).FirstErr(); err != nil {
		t.Fatalf("produce over TLS: %v", err)
	}
	for {
		fs := good.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consume over TLS: %v", err)
		}
		if recs := fs.Records(); len(recs) > 0 {
			if string(recs[0].Value) != "over tls" {
				t.Fatalf("consumed %q", recs[0].Value)
			}
			break
		}
	}

	refused := func(name string, cfg kafka.ClientConfig, want string) {
		t.Helper()
		cl, err := kafka.NewClient(cfg, kgo.RequestRetries(0), kgo.RecordDeliveryTimeout(3*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		err = cl.ProduceSync(pctx, &kgo.Record{Topic: kafka.TopicOrders, Value: []byte("refused")}).FirstErr()
		if err == nil || (want != "" && !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: produce = %v, want a failure mentioning %q", name, err, want)
		}
		t.Logf("%s: %v", name, err)
	}
	refused("system roots only", kafka.ClientConfig{Brokers: []string{b.Addr()}, SASL: scram, TLS: kafka.TLSConfig{Enabled: true}},
		"certificate")
	refused("plaintext", kafka.ClientConfig{Brokers: []string{b.Addr()}, SASL: scram}, "TLS missing")
}

// TestKcatOverTLS: kcat (librdkafka), the outside client, produces and
// consumes over TLS (security.protocol=ssl) against the embedded broker's
// TLS listener, trusting the test CA. (Not with SASL: against the
// embedded broker with SCRAM users, kcat 1.7 stops with "SASL Handshake
// not supported by broker (required by mechanism SCRAM-SHA-256)", so SCRAM
// is tested with franz-go clients: TestSASLAgainstEmbeddedBroker,
// TestBrokerTLS, TestServeACLs.)
func TestKcatOverTLS(t *testing.T) {
	path := kcatPath(t)
	certs, err := testcert.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, kafka.WithTLS(certs.Cert, certs.Key, certs.CA))
	ctx := testCtx(t)
	sec := []string{"-b", b.Addr(), "-X", "security.protocol=ssl", "-X", "ssl.ca.location=" + certs.CA}
	kcat(ctx, t, path, "over-tls\n", append(sec, "-P", "-t", kafka.TopicShipping, "-k", "k-tls", "-X", "partitioner=murmur2_random")...)
	out := kcat(ctx, t, path, "", append(sec, "-C", "-t", kafka.TopicShipping, "-o", "beginning", "-c", "1", "-e", "-f", "%k=%s\n")...)
	if strings.TrimSpace(out) != "k-tls=over-tls" {
		t.Fatalf("kcat consumed %q over TLS, want k-tls=over-tls", out)
	}
}
