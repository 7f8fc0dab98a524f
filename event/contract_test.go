package event_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/event"
)

func TestContractsCheck(t *testing.T) {
	c := event.Contracts{
		"orders":  {Types: []string{"order.placed", "order.paid"}, Sources: []string{"order-service"}},
		"replies": {Sources: []string{"a", "b"}},
		"any":     {},
	}
	env := func(typ, src string) event.Envelope {
		return event.Envelope{EventType: typ, Metadata: event.Metadata{Source: src}}
	}
	for _, ok := range []struct {
		topic string
		e     event.Envelope
	}{
		{"orders", env("order.placed", "order-service")},
		{"replies", env("saga.reply", "b")},
		{"any", env("x", "y")},
		{"unchecked", env("x", "y")},
	} {
		if err := c.Check(ok.topic, ok.e); err != nil {
			t.Errorf("%s %+v: %v, want allowed", ok.topic, ok.e, err)
		}
	}
	for _, bad := range []struct {
		topic string
		e     event.Envelope
		want  string
	}{
		{"orders", env("stock.reserved", "order-service"), `event type "stock.reserved"`},
		{"orders", env("order.placed", "mallory"), `source "mallory"`},
		{"orders", env("order.placed", ""), `source ""`},
		{"replies", env("saga.reply", "c"), `source "c"`},
	} {
		err := c.Check(bad.topic, bad.e)
		if !errors.Is(err, event.ErrContract) || !strings.Contains(err.Error(), bad.want) || !strings.Contains(err.Error(), bad.topic) {
			t.Errorf("%s %+v: %v, want ErrContract naming %s", bad.topic, bad.e, err, bad.want)
		}
	}
	if err := event.Contracts(nil).Check("orders", env("x", "y")); err != nil {
		t.Errorf("nil Contracts: %v", err)
	}
}
