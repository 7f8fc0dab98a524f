package dlq_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/dlq"
)

var now = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		query   string
		want    dlq.Filter
		wantErr []string // fields with a *FilterError
	}{
		{"", dlq.Filter{}, nil},
		{"group=payment-service&topic=orders&key=u-42&error=timeout&kind=error&status=parked&limit=10",
			dlq.Filter{Group: "payment-service", Topic: "orders", Key: "u-42", ErrorContains: "timeout",
				Kind: "error", Status: dlq.StatusParked, Limit: 10}, nil},
		{"since=2026-11-25T14:00:00%2B01:00&until=2026-11-25T14:30:00Z",
			dlq.Filter{Since: time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 25, 14, 30, 0, 0, time.UTC)}, nil},
		{"since=90m", dlq.Filter{Since: now.Add(-90 * time.Minute)}, nil},
		{"status=unresolved", dlq.Filter{Status: dlq.StatusUnresolved}, nil},
		{"since=yesterday", dlq.Filter{}, []string{"since"}},
		{"since=-5m", dlq.Filter{}, []string{"since"}},
		{"until=", dlq.Filter{}, []string{"until"}},
		{"since=2h&until=3h", dlq.Filter{}, []string{"until"}},
		{"limit=ten", dlq.Filter{}, []string{"limit"}},
		{"limit=-1", dlq.Filter{}, []string{"limit"}},
		{"limit=100001", dlq.Filter{}, []string{"limit"}},
		{"group=a/b", dlq.Filter{}, []string{"group"}},
		{"group=has space", dlq.Filter{}, []string{"group"}},
		{"topic=..", dlq.Filter{}, []string{"topic"}},
		{"kind=boom", dlq.Filter{}, []string{"kind"}},
		{"status=done", dlq.Filter{}, []string{"status"}},
		{"color=red", dlq.Filter{}, []string{"color"}},
		{"key=a&key=b", dlq.Filter{}, []string{"key"}},
		{"key=" + strings.Repeat("k", dlq.MaxKeyLen+1), dlq.Filter{}, []string{"key"}},
		{"kind=boom&limit=x&since=nope", dlq.Filter{}, []string{"kind", "limit", "since"}},
	}
	for _, tt := range tests {
		name := tt.query
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := dlq.ParseFilter(q, now)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if !filterEqual(got, tt.want) {
					t.Errorf("filter = %+v, want %+v", got, tt.want)
				}
				return
			}
			if !errors.Is(err, dlq.ErrInvalidFilter) {
				t.Fatalf("err = %v, want ErrInvalidFilter", err)
			}
			fields := map[string]bool{}
			for _, e := range unjoin(err) {
				var fe *dlq.FilterError
				if !errors.As(e, &fe) {
					t.Errorf("error %v is not a *FilterError", e)
					continue
				}
				fields[fe.Field] = true
			}
			for _, f := range tt.wantErr {
				if !fields[f] {
					t.Errorf("no error for %s in %v", f, err)
				}
			}
			if len(fields) != len(tt.wantErr) {
				t.Errorf("errors for %v, want only %v", fields, tt.wantErr)
			}
		})
	}
}

// unjoin flattens errors.Join trees.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

func filterEqual(a, b dlq.Filter) bool {
	if !a.Since.Equal(b.Since) || !a.Until.Equal(b.Until) {
		return false
	}
	a.Since, a.Until, b.Since, b.Until = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b
}

// FuzzParseFilter: any query either fails with *FilterErrors only, or
// gives a valid filter that Encode and ParseFilter round-trip.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"", "group=payment-service&key=u-42", "since=90m&until=2026-11-25T15:00:00Z",
		"error=Timeout&kind=unknown-version&limit=5", "status=unresolved", "limit=0&topic=orders",
		"since=2026-11-25T14:00:00.123456789%2B05:30", "key=%00%ff", "a=b&a=c", "since=1ns",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		got, err := dlq.ParseFilter(q, now)
		if err != nil {
			if !errors.Is(err, dlq.ErrInvalidFilter) {
				t.Fatalf("ParseFilter(%q) err = %v, not ErrInvalidFilter", query, err)
			}
			for _, e := range unjoin(err) {
				var fe *dlq.FilterError
				if !errors.As(e, &fe) {
					t.Fatalf("ParseFilter(%q): %v is not a *FilterError", query, e)
				}
			}
			return
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("ParseFilter(%q) = %+v, which does not validate: %v", query, got, err)
		}
		again, err := dlq.ParseFilter(got.Encode(), now)
		if err != nil {
			t.Fatalf("round trip of %q (%v): %v", query, got.Encode(), err)
		}
		if !filterEqual(got, again) {
			t.Fatalf("round trip of %q: %+v, then %+v", query, got, again)
		}
	})
}
