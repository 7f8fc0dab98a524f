package event

import (
	"errors"
	"fmt"
	"slices"
)

// ErrContract reports an event that decoded but may not appear where it
// was read: its type is not one its topic carries, or its metadata.source
// is not one of the topic's producers. Like a decode error it never
// becomes valid, so consumers dead-letter it at once.
//
// A contract is not authentication: metadata.source is a field any
// producer can write. It stops a misrouted event (an order.placed on the
// inventory topic, which a handler switching on the type would act on)
// and a naive forgery (a foreign source); a forger who copies the right
// source is stopped by the broker's write ACLs, one principal per service.
var ErrContract = errors.New("event: breaks its topic's contract")

// TopicContract says what may appear on one topic.
type TopicContract struct {
	// Types are the event types the topic carries; empty allows any.
	Types []string
	// Sources are the metadata.source values of its producers; empty
	// allows any.
	Sources []string
}

// Contracts maps topics to their contracts. A topic without one is not
// checked; a nil Contracts checks nothing.
type Contracts map[string]TopicContract

// Check returns nil when e may appear on topic, else an error wrapping
// ErrContract that names the topic, the type and the source.
func (c Contracts) Check(topic string, e Envelope) error {
	tc, ok := c[topic]
	if !ok {
		return nil
	}
	if len(tc.Types) > 0 && !slices.Contains(tc.Types, e.EventType) {
		return fmt.Errorf("%w: event type %q does not belong on topic %q (it carries %v)", ErrContract, e.EventType, topic, tc.Types)
	}
	if len(tc.Sources) > 0 && !slices.Contains(tc.Sources, e.Metadata.Source) {
		return fmt.Errorf("%w: source %q is not a producer of topic %q (its producers: %v)", ErrContract, e.Metadata.Source, topic, tc.Sources)
	}
	return nil
}
