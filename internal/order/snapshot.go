package order

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// SnapshotType tags the snapshot format written by Snapshot. A snapshot
// with another tag is not read (FromSnapshot returns ErrSnapshot), and the
// Repository falls back to folding all events.
const SnapshotType = "order/v1"

// snapshotV1 is the "order/v1" snapshot format. Change it only together
// with a new SnapshotType.
type snapshotV1 struct {
	ID                 string    `json:"id"`
	UserID             string    `json:"userId"`
	Status             Status    `json:"status"`
	CancellationReason Reason    `json:"cancellationReason,omitempty"`
	Items              []Item    `json:"items"`
	TotalMinor         int64     `json:"totalMinor"`
	Currency           string    `json:"currency"`
	PaymentMethod      string    `json:"paymentMethod"`
	ShippingAddress    Address   `json:"shippingAddress"`
	PaymentID          string    `json:"paymentId,omitempty"`
	ReservationID      string    `json:"reservationId,omitempty"`
	Carrier            string    `json:"carrier,omitempty"`
	TrackingNumber     string    `json:"trackingNumber,omitempty"`
	Version            int64     `json:"version"`
	PlacedAt           time.Time `json:"placedAt"`
	PaidAt             time.Time `json:"paidAt"`
	ReservedAt         time.Time `json:"reservedAt"`
	ShippedAt          time.Time `json:"shippedAt"`
	CancelledAt        time.Time `json:"cancelledAt"`
	UpdatedAt          time.Time `json:"updatedAt"`
}

// Snapshot serialises the order's state (pending changes included in the
// state and Version, but not kept as pending) and returns it with its type
// tag, SnapshotType.
func (o *Order) Snapshot() (typ string, data []byte, err error) {
	data, err = json.Marshal(snapshotV1{
		ID: o.ID, UserID: o.UserID, Status: o.Status, CancellationReason: o.CancellationReason,
		Items: o.Items, TotalMinor: o.TotalMinor, Currency: o.Currency, PaymentMethod: o.PaymentMethod,
		ShippingAddress: o.ShippingAddress, PaymentID: o.PaymentID, ReservationID: o.ReservationID,
		Carrier: o.Carrier, TrackingNumber: o.TrackingNumber, Version: o.Version,
		PlacedAt: o.PlacedAt, PaidAt: o.PaidAt, ReservedAt: o.ReservedAt, ShippedAt: o.ShippedAt,
		CancelledAt: o.CancelledAt, UpdatedAt: o.UpdatedAt,
	})
	if err != nil {
		return "", nil, fmt.Errorf("order: snapshot: %w", err)
	}
	return SnapshotType, data, nil
}

// FromSnapshot restores an order from Snapshot's output. An unknown typ,
// malformed data or unknown fields give an error matching ErrSnapshot.
func FromSnapshot(typ string, data []byte) (*Order, error) {
	if typ != SnapshotType {
		return nil, fmt.Errorf("%w: type %.40q, want %q", ErrSnapshot, typ, SnapshotType)
	}
	var s snapshotV1
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	if s.Version < 0 {
		return nil, fmt.Errorf("%w: negative version %d", ErrSnapshot, s.Version)
	}
	return &Order{
		ID: s.ID, UserID: s.UserID, Status: s.Status, CancellationReason: s.CancellationReason,
		Items: slices.Clone(s.Items), TotalMinor: s.TotalMinor, Currency: s.Currency, PaymentMethod: s.PaymentMethod,
		ShippingAddress: s.ShippingAddress, PaymentID: s.PaymentID, ReservationID: s.ReservationID,
		Carrier: s.Carrier, TrackingNumber: s.TrackingNumber, Version: s.Version,
		PlacedAt: s.PlacedAt, PaidAt: s.PaidAt, ReservedAt: s.ReservedAt, ShippedAt: s.ShippedAt,
		CancelledAt: s.CancelledAt, UpdatedAt: s.UpdatedAt,
	}, nil
}
