package ordersvc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/internal/order"
)

// OrderView is an order as the API shows it, folded from its events.
type OrderView struct {
	OrderID            string        `json:"orderId"`
	UserID             string        `json:"userId"`
	Status             string        `json:"status"`
	CancellationReason string        `json:"cancellationReason,omitempty"`
	Items              []ItemView    `json:"items"`
	TotalMinor         int64         `json:"totalMinor"`
	Total              string        `json:"total"`
	Currency           string        `json:"currency"`
	PaymentMethod      string        `json:"paymentMethod"`
	ShippingAddress    order.Address `json:"shippingAddress"`
	CorrelationID      string        `json:"correlationId"`
	// Version is the number of events folded.
	Version   int64     `json:"version"`
	PlacedAt  time.Time `json:"placedAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// AsOf is the time asked for by GetAt (nil for the current state).
	AsOf *time.Time `json:"asOf,omitempty"`
	// Timeline lists the folded events, oldest first.
	Timeline []TimelineEntry `json:"timeline"`
	// ConsistencyToken is the global position of the last folded event.
	ConsistencyToken string `json:"consistencyToken"`
}

// ItemView is one order line with its line total.
type ItemView struct {
	ProductID      string `json:"productId"`
	Quantity       int    `json:"quantity"`
	UnitPriceMinor int64  `json:"unitPriceMinor"`
	LineTotalMinor int64  `json:"lineTotalMinor"`
}

// TimelineEntry is one event of the order.
type TimelineEntry struct {
	EventType  string    `json:"eventType"`
	EventID    string    `json:"eventId"`
	At         time.Time `json:"at"`
	RecordedAt time.Time `json:"recordedAt"`
	Version    int64     `json:"version"`
	Position   int64     `json:"position"`
}

// Get returns the order's current state, from all its events.
// order.ErrNotFound if there is no such order.
func (s *Service) Get(ctx context.Context, id string) (OrderView, error) {
	if !validID(id) {
		return OrderView{}, fmt.Errorf("%w: order %q", order.ErrNotFound, clip(id))
	}
	recs, err := s.store.Load(ctx, order.StreamID(id), 0)
	return s.view(id, recs, err, nil)
}

// GetAt returns the order's state at time at: only the events whose
// timestamp is at or before at. order.ErrNotFound if the order had no
// event yet then (or does not exist).
func (s *Service) GetAt(ctx context.Context, id string, at time.Time) (OrderView, error) {
	if !validID(id) {
		return OrderView{}, fmt.Errorf("%w: order %q", order.ErrNotFound, clip(id))
	}
	recs, err := s.store.LoadAt(ctx, order.StreamID(id), at)
	at = at.UTC()
	return s.view(id, recs, err, &at)
}

// Events returns the order's stored envelopes in stream order, as
// appended (not upcast). order.ErrNotFound if there is no such order.
func (s *Service) Events(ctx context.Context, id string) ([]event.Envelope, error) {
	if !validID(id) {
		return nil, fmt.Errorf("%w: order %q", order.ErrNotFound, clip(id))
	}
	recs, err := s.store.Load(ctx, order.StreamID(id), 0)
	if err := notFound(id, recs, err); err != nil {
		return nil, err
	}
	out := make([]event.Envelope, len(recs))
	for i, r := range recs {
		out[i] = r.Event
	}
	return out, nil
}

func notFound(id string, recs []eventstore.Record, err error) error {
	if errors.Is(err, eventstore.ErrNotFound) || (err == nil && len(recs) == 0) {
		return fmt.Errorf("%w: order %q", order.ErrNotFound, clip(id))
	}
	if err != nil {
		return fmt.Errorf("ordersvc: load order %q: %w", id, err)
	}
	return nil
}

// view folds recs (upcasting old versions) into an OrderView.
func (s *Service) view(id string, recs []eventstore.Record, err error, asOf *time.Time) (OrderView, error) {
	if err := notFound(id, recs, err); err != nil {
		return OrderView{}, err
	}
	o := &order.Order{}
	v := OrderView{AsOf: asOf, Timeline: make([]TimelineEntry, 0, len(recs))}
	for _, r := range recs {
		var e order.Event
		env, err := s.codec.Upcast(r.Event)
		switch {
		case errors.Is(err, event.ErrUnknownType):
			e = order.Unknown{Type: r.Event.EventType, At: r.Event.Timestamp}
		case err != nil:
			return OrderView{}, fmt.Errorf("ordersvc: order %q version %d: %w", id, r.Version, err)
		default:
			if e, err = order.DecodeEvent(env); err != nil {
				return OrderView{}, fmt.Errorf("ordersvc: order %q version %d: %w", id, r.Version, err)
			}
		}
		o.Apply(e)
		v.Timeline = append(v.Timeline, TimelineEntry{
			EventType: r.Event.EventType, EventID: r.Event.EventID, At: r.Event.Timestamp.UTC(),
			RecordedAt: r.RecordedAt.UTC(), Version: r.Version, Position: r.Position,
		})
	}
	last := recs[len(recs)-1]
	v.OrderID = o.ID
	if v.OrderID == "" {
		v.OrderID = id
	}
	v.UserID = o.UserID
	v.Status = string(o.Status)
	v.CancellationReason = string(o.CancellationReason)
	v.Items = make([]ItemView, len(o.Items))
	for i, it := range o.Items {
		v.Items[i] = ItemView{ProductID: it.ProductID, Quantity: it.Quantity, UnitPriceMinor: it.UnitPriceMinor,
			LineTotalMinor: int64(it.Quantity) * it.UnitPriceMinor}
	}
	v.TotalMinor = o.TotalMinor
	v.Currency = o.Currency
	v.Total = FormatMinor(o.TotalMinor, o.Currency)
	v.PaymentMethod = o.PaymentMethod
	v.ShippingAddress = o.ShippingAddress
	v.CorrelationID = recs[0].Event.Metadata.CorrelationID
	v.Version = last.Version
	v.PlacedAt = o.PlacedAt
	v.UpdatedAt = o.UpdatedAt
	v.ConsistencyToken = Token(last.Position)
	return v, nil
}

// FormatMinor renders an amount of minor units as a decimal string in its
// currency: 2599 USD → "25.99", 2599 JPY → "2599".
func FormatMinor(minor int64, currency string) string {
	digits := 2
	if currency == "JPY" {
		digits = 0
	}
	neg := minor < 0
	u := uint64(minor)
	if neg {
		u = -u
	}
	s := strconv.FormatUint(u, 10)
	if digits > 0 {
		if len(s) <= digits {
			s = strings.Repeat("0", digits-len(s)+1) + s
		}
		s = s[:len(s)-digits] + "." + s[len(s)-digits:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
