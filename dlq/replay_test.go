package dlq_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/dlq"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// A dry run produces nothing; a replay after the fix handles the letter and
// then the parked events, in order; a discard drops the letter and
// releases the rest. Both are audited.
func TestReplayAndDiscard(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	replayTopic := consumer.ReplayTopic(group)
	bad := e.poison("bad", 3)
	drop := e.poison("drop", 3)

	res, err := e.in.Replay(ctx, dlq.Selection{IDs: []string{bad.ID}}, dlq.ReplayOptions{DryRun: true, Operator: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	if res.WouldReplay != 1 || res.Replayed != 0 || res.JobID != "" {
		t.Errorf("dry run = %+v, want one would-replay and no job", res)
	}
	if n := e.topicEnd(replayTopic); n != 0 {
		t.Fatalf("dry run produced %d replay records", n)
	}
	if l := e.waitParked("bad", 2); l.Status != dlq.StatusParked || l.ReplayCount != 0 {
		t.Errorf("after dry run: status %s, count %d; want parked, 0", l.Status, l.ReplayCount)
	}

	e.setBroken("bad", false)
	res, err = e.in.Replay(ctx, dlq.Selection{IDs: []string{bad.ID}}, dlq.ReplayOptions{Operator: "ada", Reason: "fixed the gateway"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Replayed != 1 || res.Outcomes[0].ReplayCount != 1 {
		t.Errorf("replay = %+v, want one replayed with count 1", res)
	}
	e.waitReleased("bad")
	if got := e.effects("bad"); !equalInts(got, []int{0, 1, 2}) {
		t.Errorf("bad handled %v, want [0 1 2]", got)
	}
	e.produce("bad", 3, 4)
	waitFor(t, "bad-3 handled", func() (bool, error) { return len(e.effects("bad")) == 4, nil })
	if got := e.effects("bad"); !equalInts(got, []int{0, 1, 2, 3}) {
		t.Errorf("bad handled %v, want [0 1 2 3]", got)
	}
	ls, err := e.in.List(ctx, dlq.Filter{Key: "bad"})
	if err != nil || len(ls) != 1 || ls[0].Status != dlq.StatusReplayed || ls[0].ReplayCount != 1 {
		t.Errorf("after replay: %+v, %v; want status replayed, count 1", ls, err)
	}

	if _, err := e.in.Discard(ctx, drop.ID, dlq.DiscardOptions{Operator: "ada", Reason: "  "}); !errors.Is(err, dlq.ErrReasonRequired) {
		t.Errorf("discard without reason: err = %v, want ErrReasonRequired", err)
	}
	e.setBroken("drop", false) // the later events are fine; the first is dropped
	out, err := e.in.Discard(ctx, drop.ID, dlq.DiscardOptions{Operator: "ada", Reason: "customer deleted"})
	if err != nil || out.Result != dlq.ResultDiscarded {
		t.Fatalf("discard = %+v, %v", out, err)
	}
	e.waitReleased("drop")
	if got := e.effects("drop"); !equalInts(got, []int{1, 2}) {
		t.Errorf("drop handled %v, want [1 2] (the letter dropped)", got)
	}
	if ls, err := e.in.List(ctx, dlq.Filter{Status: dlq.StatusUnresolved}); err != nil || len(ls) != 0 {
		t.Errorf("unresolved letters = %+v, %v; want none", ls, err)
	}

	entries, err := e.audit.Entries(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []dlq.Entry{
		{Operator: "ada", Action: "replay", LetterID: bad.ID, Group: group, Key: "bad", DryRun: true, ReplayCount: 1},
		{Operator: "ada", Action: "replay", LetterID: bad.ID, Group: group, Key: "bad", Reason: "fixed the gateway", ReplayCount: 1},
		{Operator: "ada", Action: "discard", LetterID: drop.ID, Group: group, Key: "drop", Reason: "customer deleted"},
	}
	if len(entries) != len(want) {
		t.Fatalf("audit = %+v, want %d entries", entries, len(want))
	}
	for i, w := range want {
		g := entries[i]
		g.ID, g.At = 0, time.Time{}
		if g != w {
			t.Errorf("audit[%d] = %+v, want %+v", i, g, w)
		}
	}
}

// A letter replayed three times (failing again each time) is refused a
// fourth time, counted from the audit log or, without it, from the
// causeway-replay-count header the failed replays carried into the letter;
// Force overrides.
func TestLoopGuard(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	l := e.poison("loop", 2)
	for i := 1; i <= dlq.DefaultMaxReplays; i++ {
		if _, err := e.in.Replay(ctx, dlq.Selection{IDs: []string{l.ID}}, dlq.ReplayOptions{Operator: "ada"}); err != nil {
			t.Fatalf("replay %d: %v", i, err)
		}
		waitFor(t, "replay to fail again", func() (bool, error) {
			d, err := e.in.Show(ctx, l.ID)
			return err == nil && len(d.History) == i+1, err
		})
	}
	d, err := e.in.Show(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != dlq.StatusParked || d.ReplayCount != 3 || d.ParkedRecords != 1 {
		t.Errorf("after 3 failed replays: status %s, count %d, parked %d; want parked, 3, 1", d.Status, d.ReplayCount, d.ParkedRecords)
	}
	for i, h := range d.History {
		if h.ReplayCount != i {
			t.Errorf("history[%d] replay count %d, want %d (from the header)", i, h.ReplayCount, i)
		}
	}
	if v, _ := header(d.Headers, dlq.HeaderReplayCount); v != "3" {
		t.Errorf("letter header %s = %q, want 3", dlq.HeaderReplayCount, v)
	}
	before := e.topicEnd(consumer.ReplayTopic(group))
	for _, in := range []*dlq.Inspector{e.in, e.inspector()} { // audit log; header only
		res, err := in.Replay(ctx, dlq.Selection{IDs: []string{l.ID}}, dlq.ReplayOptions{})
		var lg *dlq.LoopGuardError
		if !errors.As(err, &lg) || !errors.Is(err, dlq.ErrLoopGuard) || lg.Replays != 3 || lg.Limit != 3 {
			t.Errorf("4th replay: err = %v, want a LoopGuardError with 3 of 3", err)
		}
		if res == nil || res.Refused != 1 || res.Replayed != 0 {
			t.Errorf("4th replay result = %+v, want one refused", res)
		}
	}
	if n := e.topicEnd(consumer.ReplayTopic(group)); n != before {
		t.Fatalf("refused replays produced %d records", n-before)
	}
	e.setBroken("loop", false)
	res, err := e.in.Replay(ctx, dlq.Selection{IDs: []string{l.ID}}, dlq.ReplayOptions{Force: true, Reason: "really fixed"})
	if err != nil || res.Replayed != 1 || res.Outcomes[0].ReplayCount != 4 {
		t.Fatalf("forced replay = %+v, %v", res, err)
	}
	e.waitReleased("loop")
	if got := e.effects("loop"); !equalInts(got, []int{0, 1}) {
		t.Errorf("loop handled %v, want [0 1]", got)
	}
}

// A bulk replay by filter, rate limited, interrupted after two letters,
// resumes from its checkpoint and replays each letter exactly once; with
// the audit log on SQLite and on PostgreSQL.
func TestBulkReplayRateLimitResume(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		testBulkReplay(t, newEnvAudit(t, open))
	})
}

func testBulkReplay(t *testing.T, e *env) {
	keys := []string{"k0", "k1", "k2", "k3", "k4"}
	for _, k := range keys {
		e.poison(k, 2)
	}
	for _, k := range keys {
		e.setBroken(k, false)
	}
	var mu sync.Mutex
	var sleeps []time.Duration
	in := e.inspector(dlq.WithAudit(e.audit), dlq.WithServiceDB(group, e.db),
		dlq.WithSleep(func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			sleeps = append(sleeps, d)
			mu.Unlock()
			return ctx.Err()
		}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sel := dlq.Selection{Filter: dlq.Filter{Group: group, ErrorContains: "rejected"}}
	n := 0
	res, err := in.Replay(ctx, sel, dlq.ReplayOptions{Operator: "ada", Reason: "bulk fix", Rate: 50,
		OnProgress: func(dlq.Outcome) {
			if n++; n == 2 {
				cancel() // interrupted, as by Ctrl-C
			}
		}})
	if !errors.Is(err, context.Canceled) || res == nil || res.Replayed != 2 || res.JobID == "" {
		t.Fatalf("interrupted replay = %+v, %v; want 2 replayed, a job and context.Canceled", res, err)
	}
	job, err := e.audit.Job(context.Background(), res.JobID)
	if err != nil {
		t.Fatal(err)
	}
	if job.Replayed != 2 || job.LastLetterID != res.Outcomes[1].LetterID || job.Finished || job.Reason != "bulk fix" {
		t.Errorf("checkpoint = %+v, want 2 replayed up to %s, unfinished", job, res.Outcomes[1].LetterID)
	}

	res2, err := in.Replay(context.Background(), dlq.Selection{}, dlq.ReplayOptions{Resume: res.JobID})
	if err != nil {
		t.Fatal(err)
	}
	if res2.JobID != res.JobID || res2.Replayed != 3 {
		t.Errorf("resumed = %+v, want 3 more replayed in job %s", res2, res.JobID)
	}
	seen := map[string]bool{}
	for _, o := range append(res.Outcomes, res2.Outcomes...) {
		if o.Result == dlq.ResultReplayed {
			if seen[o.LetterID] {
				t.Errorf("letter %s replayed twice", o.LetterID)
			}
			seen[o.LetterID] = true
		}
	}
	if len(seen) != len(keys) {
		t.Errorf("replayed %d letters, want %d", len(seen), len(keys))
	}
	if n := e.topicEnd(consumer.ReplayTopic(group)); n != int64(len(keys)) {
		t.Errorf("replay records = %d, want %d", n, len(keys))
	}
	for _, k := range keys {
		e.waitReleased(k)
		if got := e.effects(k); !equalInts(got, []int{0, 1}) {
			t.Errorf("%s handled %v, want [0 1]", k, got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// One wait between consecutive replays: 1 in the first run, 2 in the
	// resumed one, each 1/50 s.
	if len(sleeps) != 3 {
		t.Errorf("rate limiter waited %d times, want 3", len(sleeps))
	}
	for _, d := range sleeps {
		if d != 20*time.Millisecond {
			t.Errorf("rate limiter waited %v, want 20ms", d)
		}
	}
	if job, err := e.audit.Job(context.Background(), res.JobID); err != nil || !job.Finished || job.Replayed != 5 {
		t.Errorf("job after resume = %+v, %v; want finished with 5", job, err)
	}
	if _, err := in.Replay(context.Background(), dlq.Selection{}, dlq.ReplayOptions{Resume: "job-nope"}); !errors.Is(err, dlq.ErrJobNotFound) {
		t.Errorf("resume unknown job: err = %v, want ErrJobNotFound", err)
	}
	if _, err := in.Replay(context.Background(), dlq.Selection{}, dlq.ReplayOptions{}); !errors.Is(err, dlq.ErrNoSelection) {
		t.Errorf("replay of nothing: err = %v, want ErrNoSelection", err)
	}
}

// An event of a version the group does not know is dead-lettered at once;
// once the group knows the version, replaying the letter handles it.
func TestReplayAfterNewVersionRegistered(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.produceRecs(recordV("v3", 0, 3), recordV("v3", 1, 2))
	l := e.waitParked("v3", 1)
	if l.Kind != consumer.KindUnknownVersion || l.Attempts != 1 {
		t.Errorf("letter kind %s after %d attempts, want %s after 1", l.Kind, l.Attempts, consumer.KindUnknownVersion)
	}
	if _, err := e.in.Replay(ctx, dlq.Selection{IDs: []string{l.ID}}, dlq.ReplayOptions{Operator: "ada"}); err != nil {
		t.Fatal(err)
	}
	// Still unknown: the replay fails again and the key stays parked.
	waitFor(t, "replay to fail again", func() (bool, error) {
		d, err := e.in.Show(ctx, l.ID)
		return err == nil && len(d.History) == 2, err
	})
	e.dec.c.Store(codec(t, 3)) // the service now knows version 3
	if _, err := e.in.Replay(ctx, dlq.Selection{IDs: []string{l.ID}}, dlq.ReplayOptions{Operator: "ada"}); err != nil {
		t.Fatal(err)
	}
	e.waitReleased("v3")
	if got := e.effects("v3"); !equalInts(got, []int{0, 1}) {
		t.Errorf("v3 handled %v, want [0 1]", got)
	}
}
