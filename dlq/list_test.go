package dlq_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/dlq"
)

// A poisoned key is listed with every field; the filters select it; Show
// gives its envelope, headers and history.
func TestListFiltersAndShow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	before := time.Now().Add(-time.Second)
	bad := e.poison("bad", 3)
	e.setBroken("junk", true)
	e.produceRecs(&kgo.Record{Topic: testTopic, Key: []byte("junk"), Value: []byte(`{not json`)})
	junk := e.waitParked("junk", 0)
	e.produce("good", 0, 2)
	waitFor(t, "good handled", func() (bool, error) { return len(e.effects("good")) == 2, nil })

	// Every field of the handler failure.
	if got, want := bad.ID, consumer.LetterID(group, testTopic, bad.Partition, bad.Offset); got != want {
		t.Errorf("ID = %q, want %q", got, want)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Group", bad.Group, group},
		{"OriginalTopic", bad.OriginalTopic, testTopic},
		{"Key", bad.Key, "bad"},
		{"Value", bad.Value, string(envelope(t, "bad-0", 0, 2))},
		{"Error", bad.Error, "boom: bad rejected by downstream"},
		{"Kind", bad.Kind, consumer.KindError},
		{"Class", bad.Class, consumer.ClassHandler},
		{"Attempts", bad.Attempts, 2},
		{"Occurrences", bad.Occurrences, 1},
		{"ReplayCount", bad.ReplayCount, 0},
		{"Status", bad.Status, dlq.StatusParked},
		{"ParkedRecords", bad.ParkedRecords, 2},
		{"junk Kind", junk.Kind, consumer.KindMalformed},
		{"junk Class", junk.Class, consumer.ClassDecode},
		{"junk Attempts", junk.Attempts, 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if bad.FirstFailure.Before(before) || bad.LastFailure.Before(bad.FirstFailure) {
		t.Errorf("failures first %v last %v, want after %v and in order", bad.FirstFailure, bad.LastFailure, before)
	}
	if bad.DLQOffset < 0 || bad.DLQPartition < 0 || bad.DLQPartition > 2 {
		t.Errorf("DLQ position %d/%d out of range", bad.DLQPartition, bad.DLQOffset)
	}
	if v, ok := header(bad.Headers, consumer.HeaderLetterID); !ok || v != bad.ID {
		t.Errorf("headers lack the letter id: %v", bad.Headers)
	}

	tests := []struct {
		name string
		f    dlq.Filter
		want []string // keys
	}{
		{"all groups", dlq.Filter{}, []string{"bad", "junk"}},
		{"group", dlq.Filter{Group: group}, []string{"bad", "junk"}},
		{"other group", dlq.Filter{Group: otherGrp}, nil},
		{"unknown group", dlq.Filter{Group: "nobody"}, nil},
		{"topic", dlq.Filter{Topic: testTopic}, []string{"bad", "junk"}},
		{"other topic", dlq.Filter{Topic: "orders"}, nil},
		{"key", dlq.Filter{Key: "junk"}, []string{"junk"}},
		{"error, any case", dlq.Filter{ErrorContains: "REJECTED BY"}, []string{"bad"}},
		{"kind", dlq.Filter{Kind: consumer.KindMalformed}, []string{"junk"}},
		{"since before", dlq.Filter{Since: before}, []string{"bad", "junk"}},
		{"since after", dlq.Filter{Since: junk.LastFailure.Add(time.Millisecond)}, nil},
		{"until first", dlq.Filter{Until: bad.LastFailure.Add(time.Millisecond)}, []string{"bad"}},
		{"until before", dlq.Filter{Until: before}, nil},
		{"window", dlq.Filter{Since: bad.LastFailure, Until: junk.LastFailure.Add(time.Millisecond)}, []string{"bad", "junk"}},
		{"limit", dlq.Filter{Limit: 1}, []string{"bad"}},
		{"status parked", dlq.Filter{Status: dlq.StatusParked}, []string{"bad", "junk"}},
		{"status resolved", dlq.Filter{Status: dlq.StatusResolved}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls, err := e.in.List(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range ls {
				got = append(got, l.Key)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("keys = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := e.in.List(ctx, dlq.Filter{Kind: "nope"}); !errors.Is(err, dlq.ErrInvalidFilter) {
		t.Errorf("List with a bad kind: err = %v, want ErrInvalidFilter", err)
	}

	// Without the group's database the status comes from the audit log.
	plain := e.inspector()
	ls, err := plain.List(ctx, dlq.Filter{Key: "bad"})
	if err != nil || len(ls) != 1 || ls[0].Status != dlq.StatusOpen || ls[0].ParkedRecords != 0 {
		t.Errorf("List without a database = %+v, %v; want one open letter", ls, err)
	}

	d, err := e.in.Show(ctx, bad.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(d.Envelope), "\n  \"eventId\": \"bad-0\"") {
		t.Errorf("envelope not indented JSON:\n%s", d.Envelope)
	}
	if len(d.History) != 1 || d.History[0].Error != bad.Error || d.History[0].Attempts != 2 {
		t.Errorf("history = %+v, want the one failure", d.History)
	}
	if len(d.Audit) != 0 {
		t.Errorf("audit = %+v, want none yet", d.Audit)
	}
	if d, err := e.in.Show(ctx, junk.ID); err != nil || d.Envelope != nil || d.Value != "{not json" {
		t.Errorf("Show(junk) = %+v, %v; want raw value, no envelope", d, err)
	}
	for _, tt := range []struct {
		id   string
		want error
	}{
		{"x", dlq.ErrInvalidID},
		{group + "/" + testTopic + "/-1/0", dlq.ErrInvalidID},
		{"bad group!/t/0/0", dlq.ErrInvalidID},
		{group + "/" + testTopic + "/0/999999", dlq.ErrNotFound},
		{"nobody/" + testTopic + "/0/0", dlq.ErrNotFound},
	} {
		if _, err := e.in.Show(ctx, tt.id); !errors.Is(err, tt.want) {
			t.Errorf("Show(%q) err = %v, want %v", tt.id, err, tt.want)
		}
	}
}

func header(hs []dlq.Header, k string) (string, bool) {
	for _, h := range hs {
		if h.Key == k {
			return h.Value, true
		}
	}
	return "", false
}
