package dlq_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/causeway-dev/causeway/dlq"
	"github.com/causeway-dev/causeway/kafka"
)

// ParseFilter reads the filter of `GET /v1/dlq?…` or of the CLI flags.
func ExampleParseFilter() {
	q, _ := url.ParseQuery("group=payment-service&error=timeout&since=2h&limit=20")
	now := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	f, err := dlq.ParseFilter(q, now)
	fmt.Println(f.Group, f.ErrorContains, f.Since.Format(time.RFC3339), f.Limit, err)

	_, err = dlq.ParseFilter(url.Values{"since": {"yesterday"}}, now)
	fmt.Println(err)
	// Output:
	// payment-service timeout 2026-11-25T13:00:00Z 20 <nil>
	// dlq: filter since="yesterday": want an RFC 3339 time (2026-11-25T15:00:00Z) or a duration before now (90m, 24h)
}

// List the unresolved letters of one group and replay them, at most 10 per
// second, as one resumable job.
func ExampleInspector_Replay() {
	ctx := context.Background()
	in, err := dlq.New(kafka.ClientConfig{Brokers: []string{"127.0.0.1:9092"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer in.Close()
	f := dlq.Filter{Group: "payment-service", Status: dlq.StatusUnresolved}
	letters, err := in.List(ctx, f)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Println(len(letters), "unresolved letters")
	res, err := in.Replay(ctx, dlq.Selection{Filter: f}, dlq.ReplayOptions{
		Operator: "ada", Reason: "gateway fixed", Rate: 10})
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // e.g. a *LoopGuardError per refused letter
	}
	if res != nil {
		fmt.Println(res.Replayed, "replayed in job", res.JobID)
	}
}
