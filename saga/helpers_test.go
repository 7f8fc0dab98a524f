package saga_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
)

// migs is every schema the orchestrator needs.
var migs = [][]sqldb.Migration{saga.Migrations(), outbox.Migrations()}

const defName = "order"

// fakeClock is a settable Clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// orderData is the test saga's data.
type orderData struct {
	OrderID   string `json:"orderId"`
	Amount    int64  `json:"amount"`
	PaymentID string `json:"paymentId,omitempty"`
}

// step builds a step that sends doType / undoType to topic, keyed by the
// order id, with the saga's data as payload.
func step(name, topic, doType, undoType string, timeout time.Duration, retries int) saga.Step {
	build := func(typ string) func(context.Context, *saga.State) (saga.Command, error) {
		return func(_ context.Context, s *saga.State) (saga.Command, error) {
			var d orderData
			if err := s.UnmarshalData(&d); err != nil {
				return saga.Command{}, err
			}
			return saga.Command{Topic: topic, Key: d.OrderID, Type: typ, Data: d}, nil
		}
	}
	st := saga.Step{Name: name, Action: build(doType), Timeout: timeout, Retries: retries}
	if undoType != "" {
		st.Compensation = build(undoType)
	}
	return st
}

// orderDef is payment → inventory → shipping, the orchestration of DESIGN.md.
// Payment's success reply carries a payment id, copied into the data.
func orderDef() saga.Definition {
	pay := step("payment", kafka.TopicCommandsPayment, "payment.process", "payment.refund", 30*time.Second, 0)
	pay.OnSuccess = func(s *saga.State, r saga.Reply) error {
		var d orderData
		if err := s.UnmarshalData(&d); err != nil {
			return err
		}
		var res struct {
			PaymentID string `json:"paymentId"`
		}
		if err := r.UnmarshalResult(&res); err != nil {
			return err
		}
		d.PaymentID = res.PaymentID
		return s.SetData(d)
	}
	return saga.Definition{Name: defName, Steps: []saga.Step{
		pay,
		step("inventory", kafka.TopicCommandsInventory, "inventory.reserve", "inventory.release", 30*time.Second, 0),
		step("shipping", kafka.TopicCommandsShipping, "shipping.create", "shipping.cancel", 30*time.Second, 0),
	}}
}

func newOrch(t testing.TB, db *sqldb.DB, clk saga.Clock, defs ...saga.Definition) *saga.Orchestrator {
	t.Helper()
	if len(defs) == 0 {
		defs = []saga.Definition{orderDef()}
	}
	o, err := saga.New(db, defs, saga.WithClock(clk))
	if err != nil {
		t.Fatalf("saga.New: %v", err)
	}
	return o
}

func start(t testing.TB, db *sqldb.DB, o *saga.Orchestrator, id string) {
	t.Helper()
	err := db.InTx(context.Background(), func(tx *sqldb.Tx) error {
		ok, err := o.Start(context.Background(), tx, defName, id, "corr-"+id, "placed-"+id,
			orderData{OrderID: id, Amount: 1250})
		if err == nil && !ok {
			err = errors.New("saga existed already")
		}
		return err
	})
	if err != nil {
		t.Fatalf("start %s: %v", id, err)
	}
}

// sent is one command the orchestrator wrote to the outbox.
type sent struct {
	Topic, Key string
	Env        event.Envelope
	Headers    map[string]string
	// ReplyID is the eventId of the participant's reply (set by pump).
	ReplyID string
}

// drain removes and returns the outbox rows, in id order: what a relay
// would publish.
func drain(t testing.TB, db *sqldb.DB) []sent {
	t.Helper()
	ctx := context.Background()
	var out []sent
	err := db.InTx(ctx, func(tx *sqldb.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT topic, key, value, headers FROM outbox ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s sent
			var value []byte
			var headers *string
			if err := rows.Scan(&s.Topic, &s.Key, &value, &headers); err != nil {
				return err
			}
			if err := json.Unmarshal(value, &s.Env); err != nil {
				return err
			}
			s.Headers = map[string]string{}
			if headers != nil {
				var hs []outbox.Header
				if err := json.Unmarshal([]byte(*headers), &hs); err != nil {
					return err
				}
				for _, h := range hs {
					s.Headers[h.Key] = h.Value
				}
			}
			out = append(out, s)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM outbox`)
		return err
	})
	if err != nil {
		t.Fatalf("drain outbox: %v", err)
	}
	return out
}

// participant answers commands by type: a type listed in fail gets a
// failure reply, one in silent gets none, any other a success.
type participant struct {
	fail   map[string]bool
	silent map[string]bool
}

// reply builds the participant's reply to cmd (ok=false: no reply).
func (p participant) reply(t testing.TB, cmd event.Envelope) (event.Envelope, bool) {
	t.Helper()
	if p.silent[cmd.EventType] {
		return event.Envelope{}, false
	}
	outcome, reason := saga.OutcomeSucceeded, ""
	var result any
	if p.fail[cmd.EventType] {
		outcome, reason = saga.OutcomeFailed, cmd.EventType+" refused"
	} else if cmd.EventType == "payment.process" {
		result = map[string]string{"paymentId": "pay-" + cmd.Metadata.CorrelationID}
	}
	r, err := saga.NewReply(cmd, "fake-participant", outcome, reason, result)
	if err != nil {
		t.Fatal(err)
	}
	return r, true
}

// deliver hands reply to the orchestrator in its own transaction.
func deliver(t testing.TB, db *sqldb.DB, o *saga.Orchestrator, reply event.Envelope) bool {
	t.Helper()
	var handled bool
	err := db.InTx(context.Background(), func(tx *sqldb.Tx) error {
		var err error
		handled, err = o.HandleReply(context.Background(), tx, reply)
		return err
	})
	if err != nil {
		t.Fatalf("HandleReply(%s): %v", reply.EventID, err)
	}
	return handled
}

// pump plays the bus and the participants until the outbox stays empty,
// delivering every reply dup times. It returns every command sent, in
// order.
func pump(t testing.TB, db *sqldb.DB, o *saga.Orchestrator, p participant, dup int) []sent {
	t.Helper()
	var all []sent
	for {
		cmds := drain(t, db)
		if len(cmds) == 0 {
			return all
		}
		for _, c := range cmds {
			r, ok := p.reply(t, c.Env)
			if ok {
				c.ReplyID = r.EventID
			}
			all = append(all, c)
			if !ok {
				continue
			}
			for range dup {
				deliver(t, db, o, r)
			}
		}
	}
}

func types(cmds []sent) []string {
	var out []string
	for _, c := range cmds {
		out = append(out, c.Env.EventType)
	}
	return out
}

func get(t testing.TB, o *saga.Orchestrator, id string) *saga.State {
	t.Helper()
	st, err := o.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return st
}

func events(st *saga.State) []string {
	var out []string
	for _, e := range st.History {
		out = append(out, e.StepName+":"+e.Event)
	}
	return out
}
