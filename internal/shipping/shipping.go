package shipping

import (
	"crypto/sha256"
	"encoding/hex"
	"hash/fnv"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/internal/schema"
)

// UnsupportedCountry is the country no carrier ships to (API.md trigger).
const UnsupportedCountry = "XX"

// Carriers are the simulated carriers; an order's carrier is chosen by a
// hash of its id.
var Carriers = []string{"DHL", "UPS", "FedEx"}

// Status is the state of an order's shipment.
type Status string

// Statuses. Pending: no shipment yet. Failed and Cancelled are final.
const (
	StatusPending   Status = "pending"
	StatusCreated   Status = "created"
	StatusFailed    Status = "failed"
	StatusCancelled Status = "cancelled"
)

// Fact is an event that arrived, as the row remembers it.
type Fact struct {
	EventID       string
	CorrelationID string
}

// Known reports whether the fact arrived.
func (f Fact) Known() bool { return f.EventID != "" }

// Order is what the service knows about one order.
type Order struct {
	OrderID string
	UserID  string
	// Country is the shipping address's country; empty until order.placed
	// arrived.
	Country string
	// Reserved is the stock.reserved, once it arrived.
	Reserved Fact
	// Undo is the order.cancelled, once it arrived, with its reason.
	Undo      Fact
	UndoCause schema.Cause
	Status    Status
	// ShipmentID, Carrier and TrackingNumber are set once created.
	ShipmentID, Carrier, TrackingNumber string
}

// Step is what to do with an order now.
type Step int

// Steps.
const (
	// StepNone: nothing (wait, or done).
	StepNone Step = iota
	// StepShip: create the shipment (Ship decides whether it can be).
	StepShip
	// StepCancelShipment: cancel the created shipment.
	StepCancelShipment
	// StepDrop: the order was cancelled before it shipped; never ship it.
	StepDrop
)

// Next decides the step from what is known:
//
//	pending + cancelled                     → drop
//	pending + address known + reserved      → ship
//	created + cancelled                     → cancel the shipment
//	anything else                           → nothing
func Next(o Order) Step {
	switch o.Status {
	case StatusPending:
		switch {
		case o.Undo.Known():
			return StepDrop
		case o.Country != "" && o.Reserved.Known():
			return StepShip
		}
	case StatusCreated:
		if o.Undo.Known() {
			return StepCancelShipment
		}
	}
	return StepNone
}

// Ship creates o's shipment: the new state and shipment.created, or, for
// an unsupported country, shipment.failed.
func Ship(o Order, at time.Time) (Order, any) {
	if strings.EqualFold(o.Country, UnsupportedCountry) {
		o.Status = StatusFailed
		return o, schema.ShipmentFailed{OrderID: o.OrderID, UserID: o.UserID, Reason: schema.ReasonUnsupportedCountry, Country: o.Country, FailedAt: at}
	}
	o.Status = StatusCreated
	o.ShipmentID = "shp-" + o.OrderID
	o.Carrier = CarrierOf(o.OrderID)
	o.TrackingNumber = TrackingNumber(o.OrderID)
	return o, schema.ShipmentCreated{OrderID: o.OrderID, UserID: o.UserID, ShipmentID: o.ShipmentID, Carrier: o.Carrier,
		TrackingNumber: o.TrackingNumber, Country: o.Country, CreatedAt: at}
}

// CancelShipment cancels o's created shipment.
func CancelShipment(o Order, at time.Time) (Order, any) {
	o.Status = StatusCancelled
	return o, schema.ShipmentCancelled{OrderID: o.OrderID, UserID: o.UserID, ShipmentID: o.ShipmentID, Cause: o.UndoCause, CancelledAt: at}
}

// CarrierOf picks the carrier of an order, deterministically.
func CarrierOf(orderID string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(orderID))
	return Carriers[h.Sum32()%uint32(len(Carriers))]
}

// TrackingNumber is the order's deterministic tracking number: "CW" and
// 20 upper-case hex digits of a hash of the order id.
func TrackingNumber(orderID string) string {
	sum := sha256.Sum256([]byte(orderID))
	return "CW" + strings.ToUpper(hex.EncodeToString(sum[:10]))
}
