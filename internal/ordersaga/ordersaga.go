// Package ordersaga is the orchestrated order saga (--saga=orchestration):
// the saga.Definition that takes a placed order through payment,
// inventory and shipping by commands, and the mapping of its transitions
// to the order's own events, so that the order's stream — and everything
// that reads the "orders" topic — is the same as under choreography.
//
//	step       action (topic, key orderId)               compensation
//	payment    payment.process   (commands.payment)      payment.refund
//	inventory  inventory.reserve (commands.inventory)    inventory.release
//	shipping   shipping.create   (commands.shipping)     shipping.cancel
//
// A failure reply of a step compensates the steps before it in reverse
// order; a step that times out (Config.StepTimeout, after Config.Retries
// resends) is compensated itself too, because its action may have taken
// effect; a customer's cancellation compensates from the current step.
//
// The order service appends, in the orchestrator's transaction (see
// Transition): order.paid, order.reserved, order.shipped on the success of
// each step's action, and order.cancelled when the saga is compensated,
// with the reason of the step that failed (payment_failed, out_of_stock,
// shipping_failed, also when it timed out) or customer_cancelled.
package ordersaga

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
)

// Name is the definition's name, stored with every saga instance.
const Name = "order-fulfilment"

// Step names, in order.
const (
	StepPayment   = "payment"
	StepInventory = "inventory"
	StepShipping  = "shipping"
)

// CustomerCancelled is the reason to give Orchestrator.Compensate for a
// customer's cancellation; the compensations then carry cause
// customer_cancelled.
const CustomerCancelled = string(order.ReasonCustomerCancelled)

// DefaultStepTimeout bounds the wait for each reply when Config leaves it 0.
const DefaultStepTimeout = 30 * time.Second

// Config tunes the definition.
type Config struct {
	// StepTimeout bounds the wait for the reply to each action and
	// compensation (0: DefaultStepTimeout).
	StepTimeout time.Duration
	// Retries is how often a timed-out action is sent again before the
	// saga compensates (participants are idempotent per order).
	Retries int
}

// Data is the saga's data: what the commands need, and what the replies
// told.
type Data struct {
	OrderID     string        `json:"orderId"`
	UserID      string        `json:"userId"`
	Items       []schema.Line `json:"items"`
	AmountMinor int64         `json:"amountMinor"`
	Currency    string        `json:"currency"`
	Method      string        `json:"method"`
	Address     order.Address `json:"address"`
	// Completed counts the steps whose action succeeded; the first step
	// not completed is the one a compensation undoes the order for.
	Completed      int    `json:"completed"`
	PaymentID      string `json:"paymentId,omitempty"`
	ReservationID  string `json:"reservationId,omitempty"`
	ShipmentID     string `json:"shipmentId,omitempty"`
	Carrier        string `json:"carrier,omitempty"`
	TrackingNumber string `json:"trackingNumber,omitempty"`
}

// DataOf returns the saga data of a placed order.
func DataOf(p order.Placed) Data {
	items := make([]schema.Line, len(p.Items))
	for i, it := range p.Items {
		items[i] = schema.Line{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	return Data{OrderID: p.OrderID, UserID: p.UserID, Items: items, AmountMinor: p.TotalMinor,
		Currency: p.Currency, Method: p.PaymentMethod, Address: p.ShippingAddress}
}

func dataOf(s *saga.State) (Data, error) {
	var d Data
	if err := s.UnmarshalData(&d); err != nil {
		return d, err
	}
	if d.OrderID == "" {
		return d, fmt.Errorf("saga %s: data without orderId", s.ID)
	}
	return d, nil
}

// CauseOf is the cause the compensations of s carry, and the order's
// cancellation reason: customer_cancelled for a customer's cancellation,
// else that of the first step not completed (payment_failed,
// out_of_stock, shipping_failed).
func CauseOf(s *saga.State) schema.Cause {
	if s.Reason == CustomerCancelled {
		return schema.CauseCustomerCancelled
	}
	d, _ := dataOf(s)
	switch d.Completed {
	case 0:
		return schema.CausePaymentFailed
	case 1:
		return schema.CauseOutOfStock
	}
	return schema.CauseShippingFailed
}

// command returns an Action or Compensation that builds a command of typ
// on topic, keyed by the order id, from the saga's data.
func command(topic, typ string, build func(d Data, s *saga.State) any) func(context.Context, *saga.State) (saga.Command, error) {
	return func(_ context.Context, s *saga.State) (saga.Command, error) {
		d, err := dataOf(s)
		if err != nil {
			return saga.Command{}, err
		}
		return saga.Command{Topic: topic, Key: d.OrderID, Type: typ, Version: schema.CommandVersion, Data: build(d, s)}, nil
	}
}

// onSuccess returns an OnSuccess that decodes the reply's result into the
// data with set and counts the step as completed.
func onSuccess(set func(d *Data, r saga.Reply) error) func(*saga.State, saga.Reply) error {
	return func(s *saga.State, r saga.Reply) error {
		d, err := dataOf(s)
		if err != nil {
			return err
		}
		if err := set(&d, r); err != nil {
			return err
		}
		d.Completed = s.Step + 1
		return s.SetData(d)
	}
}

// Definition returns the order saga; onTransition (the order service's
// Transition) records its outcomes on the order.
func Definition(cfg Config, onTransition func(ctx context.Context, tx *sqldb.Tx, s *saga.State, e saga.HistoryEntry) error) saga.Definition {
	timeout := cfg.StepTimeout
	if timeout <= 0 {
		timeout = DefaultStepTimeout
	}
	retries := max(cfg.Retries, 0)
	return saga.Definition{
		Name:         Name,
		OnTransition: onTransition,
		Steps: []saga.Step{
			{
				Name: StepPayment, Timeout: timeout, Retries: retries,
				Action: command(kafka.TopicCommandsPayment, schema.TypePaymentProcess, func(d Data, _ *saga.State) any {
					return schema.ProcessPayment{OrderID: d.OrderID, UserID: d.UserID, AmountMinor: d.AmountMinor, Currency: d.Currency, Method: d.Method}
				}),
				Compensation: command(kafka.TopicCommandsPayment, schema.TypePaymentRefund, func(d Data, s *saga.State) any {
					return schema.RefundPayment{OrderID: d.OrderID, UserID: d.UserID, Cause: CauseOf(s)}
				}),
				OnSuccess: onSuccess(func(d *Data, r saga.Reply) error {
					var res struct {
						PaymentID string `json:"paymentId"`
					}
					if len(r.Result) > 0 {
						if err := r.UnmarshalResult(&res); err != nil {
							return err
						}
					}
					d.PaymentID = res.PaymentID
					return nil
				}),
			},
			{
				Name: StepInventory, Timeout: timeout, Retries: retries,
				Action: command(kafka.TopicCommandsInventory, schema.TypeInventoryReserve, func(d Data, _ *saga.State) any {
					return schema.ReserveStock{OrderID: d.OrderID, UserID: d.UserID, Items: d.Items}
				}),
				Compensation: command(kafka.TopicCommandsInventory, schema.TypeInventoryRelease, func(d Data, s *saga.State) any {
					return schema.ReleaseStock{OrderID: d.OrderID, UserID: d.UserID, Cause: CauseOf(s)}
				}),
				OnSuccess: onSuccess(func(d *Data, r saga.Reply) error {
					var res struct {
						ReservationID string `json:"reservationId"`
					}
					if len(r.Result) > 0 {
						if err := r.UnmarshalResult(&res); err != nil {
							return err
						}
					}
					d.ReservationID = res.ReservationID
					return nil
				}),
			},
			{
				Name: StepShipping, Timeout: timeout, Retries: retries,
				Action: command(kafka.TopicCommandsShipping, schema.TypeShippingCreate, func(d Data, _ *saga.State) any {
					return schema.CreateShipment{OrderID: d.OrderID, UserID: d.UserID, Address: d.Address}
				}),
				Compensation: command(kafka.TopicCommandsShipping, schema.TypeShippingCancel, func(d Data, s *saga.State) any {
					return schema.CancelShipment{OrderID: d.OrderID, UserID: d.UserID, Cause: CauseOf(s)}
				}),
				OnSuccess: onSuccess(func(d *Data, r saga.Reply) error {
					var res struct {
						ShipmentID     string `json:"shipmentId"`
						Carrier        string `json:"carrier"`
						TrackingNumber string `json:"trackingNumber"`
					}
					if err := r.UnmarshalResult(&res); err != nil {
						return err
					}
					if res.Carrier == "" || res.TrackingNumber == "" {
						return errors.New("shipment without carrier or tracking number")
					}
					d.ShipmentID, d.Carrier, d.TrackingNumber = res.ShipmentID, res.Carrier, res.TrackingNumber
					return nil
				}),
			},
		},
	}
}

// Change is a change of the order a saga transition asks for.
type Change func(o *order.Order, at time.Time) ([]order.Event, error)

// OrderChange maps one history entry of saga s to the change of its order:
// the success of an action marks the order paid, reserved or shipped; the
// end of the compensations cancels it with CauseOf(s) as the reason.
// ok is false for every other entry.
func OrderChange(s *saga.State, e saga.HistoryEntry) (Change, bool, error) {
	switch {
	case e.Event == saga.EventSucceeded && e.Phase == saga.PhaseAction:
		d, err := dataOf(s)
		if err != nil {
			return nil, false, err
		}
		switch e.StepName {
		case StepPayment:
			return func(o *order.Order, at time.Time) ([]order.Event, error) { return o.MarkPaid(d.PaymentID, at) }, true, nil
		case StepInventory:
			return func(o *order.Order, at time.Time) ([]order.Event, error) { return o.MarkReserved(d.ReservationID, at) }, true, nil
		case StepShipping:
			return func(o *order.Order, at time.Time) ([]order.Event, error) {
				return o.MarkShipped(d.Carrier, d.TrackingNumber, at)
			}, true, nil
		}
		return nil, false, fmt.Errorf("ordersaga: unknown step %q", e.StepName)
	case e.Event == saga.EventCompensated:
		reason := order.Reason(CauseOf(s))
		return func(o *order.Order, at time.Time) ([]order.Event, error) { return o.Cancel(reason, at) }, true, nil
	}
	return nil, false, nil
}
