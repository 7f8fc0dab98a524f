package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/kafka"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestSASLAgainstEmbeddedBroker(t *testing.T) {
	b := startBroker(t,
		kafka.WithSASLSuperuser(kafka.SASLScramSHA256, "admin", "admin-secret"),
		kafka.WithSASLSuperuser(kafka.SASLPlain, "plain-user", "plain-secret"),
		kafka.WithSASLSuperuser(kafka.SASLScramSHA512, "scram512-user", "scram512-secret"),
	)
	users := map[string][2]string{
		kafka.SASLScramSHA256: {"admin", "admin-secret"},
		kafka.SASLPlain:       {"plain-user", "plain-secret"},
		kafka.SASLScramSHA512: {"scram512-user", "scram512-secret"},
	}
	for mech, up := range users {
		t.Run(mech, func(t *testing.T) {
			cfg := kafka.ClientConfig{Brokers: []string{b.Addr()}, SASL: kafka.SASLConfig{Mechanism: mech, User: up[0], Password: up[1]}}
			ctx := testCtx(t)
			cl, err := kafka.NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: kafka.TopicOrders, Key: []byte("k"), Value: []byte(mech)}).FirstErr(); err != nil {
				t.Fatalf("produce with the right password: %v", err)
			}

			cfg.SASL.Password = "wrong"
			adm, err := kafka.NewAdmin(cfg, kgo.RequestRetries(0))
			if err != nil {
				t.Fatal(err)
			}
			defer adm.Close()
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if _, err := adm.ListTopics(wctx); err == nil {
				t.Fatal("ListTopics with a wrong password succeeded, want refusal")
			} else {
				t.Logf("wrong password refused: %v", err)
			}
		})
	}

	// Without SASL at all, the broker refuses too.
	plain, err := kafka.NewAdmin(kafka.ClientConfig{Brokers: []string{b.Addr()}}, kgo.RequestRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
	defer cancel()
	if _, err := plain.ListTopics(ctx); err == nil {
		t.Fatal("ListTopics without SASL succeeded on a SASL broker")
	}
}
