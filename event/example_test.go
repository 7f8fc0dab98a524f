package event_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/causeway-dev/causeway/event"
)

// A type at version 2 whose v1 data ({"name": …}) is upcast on read.
func Example() {
	reg := event.NewRegistry()
	err := reg.Register("user.renamed", 2, event.Upcaster{
		From: 1,
		Up: func(data json.RawMessage) (json.RawMessage, error) {
			var v1 struct {
				Name string `json:"name"`
			}
			if err := json.Unmarshal(data, &v1); err != nil {
				return nil, err
			}
			return json.Marshal(map[string]string{"displayName": v1.Name})
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	codec := event.NewCodec(reg)

	old := `{"eventId":"e-1","eventType":"user.renamed","timestamp":"2026-11-25T18:05:37.123Z",` +
		`"version":1,"data":{"name":"Ada"},"metadata":{"correlationId":"c-1","source":"user-service"}}`
	e, err := codec.Decode([]byte(old))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.EventType, e.Version, string(e.Data))

	_, err = codec.Decode([]byte(`{"eventType":"user.renamed"}`))
	fmt.Println(errors.Is(err, event.ErrMalformed))
	// Output:
	// user.renamed 2 {"displayName":"Ada"}
	// true
}

func ExampleCloudEventsHeaders() {
	e := event.Envelope{EventID: "e-2", EventType: "order.paid", Version: 1,
		Metadata: event.Metadata{CorrelationID: "c-1", CausationID: "e-1", Source: "order-service"}}
	for _, h := range event.CloudEventsHeaders(e, "o-1")[:4] {
		fmt.Printf("%s=%s\n", h.Key, h.Value)
	}
	// Output:
	// ce_specversion=1.0
	// ce_id=e-2
	// ce_source=order-service
	// ce_type=order.paid
}
