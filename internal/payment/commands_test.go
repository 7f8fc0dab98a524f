package payment_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/payment"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

func command(t *testing.T, typ string, data any) event.Envelope {
	t.Helper()
	env, err := event.New(typ, 1, data, event.Metadata{CorrelationID: "corr-1", CausationID: "placed-1", Source: "saga-orchestrator"})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestCommandHandler drives the orchestration participant as the consumer
// runtime would: a charge happens once whatever the command id, card_flaky
// is retried, a refund happens at most once, a refund of an order never
// charged answers succeeded and turns a late payment.process into a no-op,
// and every command gets exactly one reply correlated to it.
func TestCommandHandler(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(t testing.TB, migs ...[]sqldb.Migration) *sqldb.DB) {
		ctx := context.Background()
		db := open(t)
		if err := payment.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		codec, err := schema.NewCodec()
		if err != nil {
			t.Fatal(err)
		}
		h := payment.NewCommandHandler(codec, func() time.Time { return at })
		handle := func(cmd event.Envelope, attempt int) (saga.Reply, error) {
			t.Helper()
			err := db.InTx(ctx, func(tx *sqldb.Tx) error {
				return h.Handle(ctx, tx, &consumer.Message{Envelope: cmd, Key: "o-key", Attempt: attempt})
			})
			if err != nil {
				return saga.Reply{}, err
			}
			var topic, key string
			var value []byte
			if err := db.Read.QueryRow(`SELECT topic, key, value FROM outbox WHERE topic = $1 ORDER BY id DESC LIMIT 1`, kafka.TopicSagaReplies).
				Scan(&topic, &key, &value); err != nil {
				t.Fatalf("reply to %s: %v", cmd.EventType, err)
			}
			var env event.Envelope
			if err := json.Unmarshal(value, &env); err != nil {
				t.Fatal(err)
			}
			if env.Metadata.CausationID != cmd.EventID || env.Metadata.CorrelationID != "corr-1" || key != "o-key" || env.EventType != saga.ReplyType {
				t.Fatalf("reply %+v key %q: want causation %s, the flow and the command's key", env, key, cmd.EventID)
			}
			r, err := saga.ParseReply(env)
			if err != nil {
				t.Fatal(err)
			}
			return r, nil
		}
		totals := func() payment.LedgerTotals {
			t.Helper()
			tot, err := payment.Totals(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			return tot
		}
		process := func(order, method string) event.Envelope {
			return command(t, schema.TypePaymentProcess, schema.ProcessPayment{OrderID: order, UserID: "u-1", AmountMinor: 500, Currency: "USD", Method: method})
		}
		refund := func(order string) event.Envelope {
			return command(t, schema.TypePaymentRefund, schema.RefundPayment{OrderID: order, UserID: "u-1", Cause: schema.CauseOutOfStock})
		}

		// Charge once, whatever the command id (a resend after a timeout).
		for i := 0; i < 2; i++ {
			r, err := handle(process("o-1", payment.MethodOK), 1)
			if err != nil || r.Outcome != saga.OutcomeSucceeded || string(r.Result) != `{"paymentId":"pay-o-1"}` {
				t.Fatalf("process #%d: %+v, %v", i+1, r, err)
			}
		}
		if tot := totals(); tot.Captures != 1 || tot.Captured["USD"] != 500 {
			t.Fatalf("after two process commands: %+v, want one capture of 500", tot)
		}
		// Refund at most once.
		for i := 0; i < 2; i++ {
			if r, err := handle(refund("o-1"), 1); err != nil || r.Outcome != saga.OutcomeSucceeded {
				t.Fatalf("refund #%d: %+v, %v", i+1, r, err)
			}
		}
		if tot := totals(); tot.Refunds != 1 || tot.Refunded["USD"] != 500 {
			t.Fatalf("after two refunds: %+v, want one refund of 500", tot)
		}

		// Declined: a failed reply with the reason, nothing charged.
		if r, err := handle(process("o-2", payment.MethodDeclined), 1); err != nil || r.Outcome != saga.OutcomeFailed || r.Reason != schema.ReasonCardDeclined {
			t.Fatalf("declined: %+v, %v", r, err)
		}

		// card_flaky: retryable on attempts 1 and 2, charged on the third.
		flaky := process("o-3", payment.MethodFlaky)
		for attempt := 1; attempt <= 2; attempt++ {
			if _, err := handle(flaky, attempt); !errors.Is(err, payment.ErrGatewayUnavailable) {
				t.Fatalf("flaky attempt %d: %v, want a retryable gateway error", attempt, err)
			}
		}
		if r, err := handle(flaky, 3); err != nil || r.Outcome != saga.OutcomeSucceeded {
			t.Fatalf("flaky attempt 3: %+v, %v", r, err)
		}

		// A refund of an order never charged succeeds, and a late process
		// after it charges nothing.
		if r, err := handle(refund("o-4"), 1); err != nil || r.Outcome != saga.OutcomeSucceeded {
			t.Fatalf("refund of nothing: %+v, %v", r, err)
		}
		if r, err := handle(process("o-4", payment.MethodOK), 1); err != nil || r.Outcome != saga.OutcomeFailed || r.Reason != payment.ReasonCompensated {
			t.Fatalf("late process after its refund: %+v, %v; want failed %s", r, err, payment.ReasonCompensated)
		}
		if tot := totals(); tot.Captures != 2 || tot.Refunds != 1 || tot.Authorizations != 2 {
			t.Errorf("ledger %+v, want authorisations and captures of o-1 and o-3 and the refund of o-1", tot)
		}
		if tot := totals(); tot.Authorized["USD"] != tot.Captured["USD"] {
			t.Errorf("ledger authorised %v, captured %v: every capture follows its authorisation", tot.Authorized, tot.Captured)
		}
	})
}
