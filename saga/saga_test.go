package saga_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

func TestHappyPath(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		db := open(t, migs...)
		o := newOrch(t, db, newClock())
		start(t, db, o, "o-1")
		cmds := pump(t, db, o, participant{}, 1)

		if got, want := types(cmds), []string{"payment.process", "inventory.reserve", "shipping.create"}; !slices.Equal(got, want) {
			t.Fatalf("commands = %v, want %v", got, want)
		}
		wantTopics := []string{kafka.TopicCommandsPayment, kafka.TopicCommandsInventory, kafka.TopicCommandsShipping}
		for i, c := range cmds {
			if c.Topic != wantTopics[i] || c.Key != "o-1" {
				t.Errorf("command %d on %s key %q, want %s key o-1", i, c.Topic, c.Key, wantTopics[i])
			}
			if c.Env.Metadata.CorrelationID != "corr-o-1" {
				t.Errorf("command %d correlationId = %q, want corr-o-1", i, c.Env.Metadata.CorrelationID)
			}
			if c.Headers[saga.HeaderSagaID] != "o-1" || c.Headers["ce_id"] != c.Env.EventID {
				t.Errorf("command %d headers = %v", i, c.Headers)
			}
		}
		// The causation chain: start's cause, then each step's reply.
		if got := cmds[0].Env.Metadata.CausationID; got != "placed-o-1" {
			t.Errorf("first command causationId = %q, want placed-o-1", got)
		}
		for i := 1; i < len(cmds); i++ {
			if got, want := cmds[i].Env.Metadata.CausationID, cmds[i-1].ReplyID; got != want {
				t.Errorf("command %d causationId = %q, want %q (the reply to command %d)", i, got, want, i-1)
			}
		}

		st := get(t, o, "o-1")
		if st.Status != saga.StatusCompleted || st.Step != 3 || !st.Deadline.IsZero() {
			t.Fatalf("state = %s step %d deadline %v, want completed step 3 no deadline", st.Status, st.Step, st.Deadline)
		}
		var d orderData
		if err := st.UnmarshalData(&d); err != nil || d.PaymentID != "pay-corr-o-1" {
			t.Fatalf("data = %+v (%v), want the payment id from the reply", d, err)
		}
		wantEvents := []string{"payment:started", "payment:sent", "payment:succeeded", "inventory:sent",
			"inventory:succeeded", "shipping:sent", "shipping:succeeded", ":completed"}
		if got := events(st); !slices.Equal(got, wantEvents) {
			t.Fatalf("history = %v, want %v", got, wantEvents)
		}
		counts, err := o.Counts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if counts[saga.StatusCompleted] != 1 || counts[saga.StatusRunning] != 0 {
			t.Fatalf("counts = %v", counts)
		}
	})
}

func TestStartIsIdempotent(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		ctx := context.Background()
		db := open(t, migs...)
		o := newOrch(t, db, newClock())
		start(t, db, o, "o-1")
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			ok, err := o.Start(ctx, tx, defName, "o-1", "corr-o-1", "placed-o-1", orderData{OrderID: "o-1"})
			if ok {
				t.Error("second Start reported a new saga")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(drain(t, db)); got != 1 {
			t.Fatalf("outbox rows = %d, want 1 (one first command)", got)
		}
		// A Start rolled back with its transaction leaves nothing.
		boom := errors.New("boom")
		err = db.InTx(ctx, func(tx *sqldb.Tx) error {
			if _, err := o.Start(ctx, tx, defName, "o-2", "corr-o-2", "", nil); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if _, err := o.Get(ctx, "o-2"); !errors.Is(err, saga.ErrNotFound) {
			t.Fatalf("Get after rollback: %v, want ErrNotFound", err)
		}
		if got := len(drain(t, db)); got != 0 {
			t.Fatalf("outbox rows after rollback = %d, want 0", got)
		}
	})
}

func TestFailureCompensatesInReverse(t *testing.T) {
	tests := []struct {
		name     string
		fail     string
		want     []string
		wantHist []string
	}{
		{"payment fails", "payment.process",
			[]string{"payment.process"},
			[]string{"payment:started", "payment:sent", "payment:failed", ":compensated"}},
		{"inventory fails", "inventory.reserve",
			[]string{"payment.process", "inventory.reserve", "payment.refund"},
			[]string{"payment:started", "payment:sent", "payment:succeeded", "inventory:sent", "inventory:failed",
				"payment:sent", "payment:succeeded", ":compensated"}},
		{"shipping fails", "shipping.create",
			[]string{"payment.process", "inventory.reserve", "shipping.create", "inventory.release", "payment.refund"},
			[]string{"payment:started", "payment:sent", "payment:succeeded", "inventory:sent", "inventory:succeeded",
				"shipping:sent", "shipping:failed", "inventory:sent", "inventory:succeeded", "payment:sent",
				"payment:succeeded", ":compensated"}},
	}
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				db := open(t, migs...)
				o := newOrch(t, db, newClock())
				start(t, db, o, "o-1")
				// Every reply is delivered three times: compensations must
				// still run exactly once.
				cmds := pump(t, db, o, participant{fail: map[string]bool{tc.fail: true}}, 3)
				if got := types(cmds); !slices.Equal(got, tc.want) {
					t.Fatalf("commands = %v, want %v", got, tc.want)
				}
				st := get(t, o, "o-1")
				if st.Status != saga.StatusCompensated || st.Step != -1 {
					t.Fatalf("status = %s step %d, want compensated step -1", st.Status, st.Step)
				}
				if st.Reason == "" {
					t.Error("no reason recorded")
				}
				if got := events(st); !slices.Equal(got, tc.wantHist) {
					t.Fatalf("history = %v\nwant      %v", got, tc.wantHist)
				}
				if slices.Contains(types(cmds), "payment.refund") {
					// The refund is built from the data OnSuccess stored.
					refund := cmds[len(cmds)-1]
					var d orderData
					if err := refund.Env.UnmarshalData(&d); err != nil || d.PaymentID != "pay-corr-o-1" {
						t.Fatalf("refund data = %+v (%v), want the payment id", d, err)
					}
				}
			})
		}
	})
}

func TestTimeouts(t *testing.T) {
	tests := []struct {
		name    string
		def     func() saga.Definition
		silent  []string
		opts    []saga.Option
		ticks   int // clock advances of 31 s, each followed by Tick and pump
		want    []string
		status  saga.Status
		reasonS string
	}{
		{name: "action times out, step itself and earlier ones compensated",
			def: orderDef, silent: []string{"inventory.reserve"}, ticks: 1,
			want:   []string{"payment.process", "inventory.reserve", "inventory.release", "payment.refund"},
			status: saga.StatusCompensated},
		{name: "action retried before compensating",
			def: func() saga.Definition {
				d := orderDef()
				d.Steps[1].Retries = 2
				return d
			}, silent: []string{"inventory.reserve"}, ticks: 3,
			want: []string{"payment.process", "inventory.reserve", "inventory.reserve", "inventory.reserve",
				"inventory.release", "payment.refund"},
			status: saga.StatusCompensated},
		{name: "compensation retried, then stuck",
			def: orderDef, silent: []string{"shipping.create", "inventory.release"}, ticks: 4,
			opts: []saga.Option{saga.WithCompensationAttempts(3)},
			want: []string{"payment.process", "inventory.reserve", "shipping.create", "shipping.cancel",
				"inventory.release", "inventory.release", "inventory.release"},
			status: saga.StatusFailed},
		{name: "no timeout, no move",
			def: func() saga.Definition {
				d := orderDef()
				d.Steps[1].Timeout = 0
				return d
			}, silent: []string{"inventory.reserve"}, ticks: 2,
			want:   []string{"payment.process", "inventory.reserve"},
			status: saga.StatusRunning},
	}
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				ctx := context.Background()
				db := open(t, migs...)
				clk := newClock()
				o, err := saga.New(db, []saga.Definition{tc.def()}, append(tc.opts, saga.WithClock(clk))...)
				if err != nil {
					t.Fatal(err)
				}
				p := participant{silent: map[string]bool{}}
				for _, s := range tc.silent {
					p.silent[s] = true
				}
				start(t, db, o, "o-1")
				cmds := pump(t, db, o, p, 1)
				// Nothing is due before the deadline.
				clk.Advance(29 * time.Second)
				if n, err := o.Tick(ctx); n != 0 || err != nil {
					t.Fatalf("early Tick = %d, %v; want 0, nil", n, err)
				}
				clk.Advance(-29 * time.Second)
				for range tc.ticks {
					clk.Advance(31 * time.Second)
					if _, err := o.Tick(ctx); err != nil {
						t.Fatal(err)
					}
					cmds = append(cmds, pump(t, db, o, p, 1)...)
				}
				if got := types(cmds); !slices.Equal(got, tc.want) {
					t.Fatalf("commands = %v\nwant       %v", got, tc.want)
				}
				st := get(t, o, "o-1")
				if st.Status != tc.status {
					t.Fatalf("status = %s (%s), want %s", st.Status, st.Reason, tc.status)
				}
				if st.Status.Terminal() && !st.Deadline.IsZero() {
					t.Fatalf("terminal saga keeps deadline %v", st.Deadline)
				}
				// A resent command has a new id and is caused by the one that timed out.
				for i := 1; i < len(cmds); i++ {
					if cmds[i].Env.EventType == cmds[i-1].Env.EventType {
						if cmds[i].Env.EventID == cmds[i-1].Env.EventID || cmds[i].Env.Metadata.CausationID != cmds[i-1].Env.EventID {
							t.Fatalf("resent command %d: id %s causation %s, previous id %s",
								i, cmds[i].Env.EventID, cmds[i].Env.Metadata.CausationID, cmds[i-1].Env.EventID)
						}
					}
				}
			})
		}
	})
}

func TestStaleAndDuplicateReplies(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		ctx := context.Background()
		db := open(t, migs...)
		clk := newClock()
		o := newOrch(t, db, clk)
		start(t, db, o, "o-1")
		p := participant{}

		pay := drain(t, db)[0]
		payOK, _ := p.reply(t, pay.Env)
		if !deliver(t, db, o, payOK) {
			t.Fatal("first reply not handled")
		}
		if deliver(t, db, o, payOK) {
			t.Fatal("duplicate reply handled")
		}
		// A late failure for the completed step is stale too.
		payFail, _ := participant{fail: map[string]bool{"payment.process": true}}.reply(t, pay.Env)
		if deliver(t, db, o, payFail) {
			t.Fatal("stale failure reply handled")
		}
		// A reply to no command of ours, and one without causation.
		stranger := payOK
		stranger.Metadata.CausationID = "not-a-command"
		if deliver(t, db, o, stranger) {
			t.Fatal("reply to unknown command handled")
		}
		stranger.Metadata.CausationID = ""
		if deliver(t, db, o, stranger) {
			t.Fatal("reply without causation handled")
		}
		// A reply to our command without a valid outcome is a bad reply.
		res := drain(t, db)
		if len(res) != 1 || res[0].Env.EventType != "inventory.reserve" {
			t.Fatalf("after payment: %v", types(res))
		}
		bad, _ := p.reply(t, res[0].Env)
		bad.Data = []byte(`{"outcome":"maybe"}`)
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			_, err := o.HandleReply(ctx, tx, bad)
			return err
		})
		if !errors.Is(err, saga.ErrBadReply) {
			t.Fatalf("bad reply: %v, want ErrBadReply", err)
		}
		// The inventory step times out; its late success is stale.
		clk.Advance(time.Minute)
		if n, err := o.Tick(ctx); n != 1 || err != nil {
			t.Fatalf("Tick = %d, %v", n, err)
		}
		late, _ := p.reply(t, res[0].Env)
		if deliver(t, db, o, late) {
			t.Fatal("late reply after timeout handled")
		}
		st := get(t, o, "o-1")
		if st.Status != saga.StatusCompensating || st.Step != 1 {
			t.Fatalf("state = %s step %d, want compensating step 1", st.Status, st.Step)
		}
		// Finish: release, refund, and the duplicates change nothing.
		cmds := pump(t, db, o, p, 2)
		if got, want := types(cmds), []string{"inventory.release", "payment.refund"}; !slices.Equal(got, want) {
			t.Fatalf("compensations = %v, want %v", got, want)
		}
		if st := get(t, o, "o-1"); st.Status != saga.StatusCompensated {
			t.Fatalf("status = %s", st.Status)
		}
	})
}

func TestReplyToEarlierAttemptAccepted(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		ctx := context.Background()
		db := open(t, migs...)
		clk := newClock()
		def := orderDef()
		def.Steps[0].Retries = 1
		o := newOrch(t, db, clk, def)
		start(t, db, o, "o-1")
		first := drain(t, db)[0]
		clk.Advance(time.Minute)
		if n, err := o.Tick(ctx); n != 1 || err != nil {
			t.Fatalf("Tick = %d, %v", n, err)
		}
		second := drain(t, db)[0]
		if second.Env.EventType != "payment.process" || second.Env.EventID == first.Env.EventID {
			t.Fatalf("resend = %s %s", second.Env.EventType, second.Env.EventID)
		}
		r1, _ := participant{}.reply(t, first.Env)
		r2, _ := participant{}.reply(t, second.Env)
		if !deliver(t, db, o, r1) {
			t.Fatal("reply to the first attempt not handled")
		}
		if deliver(t, db, o, r2) {
			t.Fatal("reply to the second attempt handled after the first moved the saga on")
		}
		if got := types(pump(t, db, o, participant{}, 1)); !slices.Equal(got, []string{"inventory.reserve", "shipping.create"}) {
			t.Fatalf("rest = %v", got)
		}
	})
}

// A saga stuck because its compensation timed out too often takes the
// participant's late success and finishes compensating.
func TestLateCompensationSuccessUnsticks(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		ctx := context.Background()
		db := open(t, migs...)
		clk := newClock()
		o, err := saga.New(db, []saga.Definition{orderDef()}, saga.WithClock(clk), saga.WithCompensationAttempts(1))
		if err != nil {
			t.Fatal(err)
		}
		start(t, db, o, "o-1")
		pump(t, db, o, participant{fail: map[string]bool{"inventory.reserve": true}, silent: map[string]bool{"payment.refund": true}}, 1)
		clk.Advance(time.Minute)
		if n, err := o.Tick(ctx); n != 1 || err != nil {
			t.Fatalf("Tick = %d, %v", n, err)
		}
		st := get(t, o, "o-1")
		if st.Status != saga.StatusFailed {
			t.Fatalf("status = %s, want failed", st.Status)
		}
		refund := st.CommandID
		failure, _ := participant{fail: map[string]bool{"payment.refund": true}}.reply(t, mustCommand(t, refund, "payment.refund"))
		if deliver(t, db, o, failure) {
			t.Fatal("late failure of a stuck compensation handled")
		}
		success, _ := participant{}.reply(t, mustCommand(t, refund, "payment.refund"))
		if !deliver(t, db, o, success) {
			t.Fatal("late success of a stuck compensation not handled")
		}
		if st := get(t, o, "o-1"); st.Status != saga.StatusCompensated {
			t.Fatalf("status = %s, want compensated", st.Status)
		}
	})
}

// mustCommand is a stand-in for a command envelope with the given id.
func mustCommand(t *testing.T, id, typ string) event.Envelope {
	t.Helper()
	return event.Envelope{EventID: id, EventType: typ, Metadata: event.Metadata{CorrelationID: "corr-o-1", Source: "test"}}
}
