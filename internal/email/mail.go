package email

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/internal/order"
)

// ErrNotFound is returned for a mail that does not exist.
var ErrNotFound = errors.New("email: not found")

// AddressDomain is the domain of the derived recipient addresses.
const AddressDomain = "example.test"

// Kind is what a mail is about.
type Kind string

// Kinds of mail, one per order at most.
const (
	KindReceived  Kind = "order_received"
	KindShipped   Kind = "order_shipped"
	KindCancelled Kind = "order_cancelled"
)

// Valid reports whether k is one of the kinds.
func (k Kind) Valid() bool {
	switch k {
	case KindReceived, KindShipped, KindCancelled:
		return true
	}
	return false
}

// Line is one order line as a mail shows it.
type Line struct {
	ProductID      string `json:"productId"`
	Quantity       int    `json:"quantity"`
	UnitPriceMinor int64  `json:"unitPriceMinor"`
}

// Order is what the service knows of an order from order.placed.
type Order struct {
	OrderID    string
	UserID     string
	Name       string // the shipping address's name
	Currency   string
	TotalMinor int64
	Lines      []Line
}

// Known reports whether order.placed was seen for the order.
func (o Order) Known() bool { return o.Currency != "" }

// OrderFromPlaced extracts what the mails need from order.placed.
func OrderFromPlaced(p order.Placed) Order {
	o := Order{OrderID: p.OrderID, UserID: p.UserID, Name: p.ShippingAddress.Name, Currency: p.Currency, TotalMinor: p.TotalMinor}
	for _, it := range p.Items {
		o.Lines = append(o.Lines, Line{ProductID: it.ProductID, Quantity: it.Quantity, UnitPriceMinor: it.UnitPriceMinor})
	}
	return o
}

// Step is the order step a mail is about: its kind plus the details of
// that step.
type Step struct {
	Kind Kind
	// Carrier and TrackingNumber, for KindShipped.
	Carrier, TrackingNumber string
	// Reason, for KindCancelled.
	Reason order.Reason
	// At is when the step happened.
	At time.Time
}

// StepOf returns the mail step of an order event, or false for events that
// send no mail.
func StepOf(e order.Event) (orderID string, s Step, ok bool) {
	switch e := e.(type) {
	case order.Placed:
		return e.OrderID, Step{Kind: KindReceived, At: e.PlacedAt}, true
	case order.Shipped:
		return e.OrderID, Step{Kind: KindShipped, Carrier: e.Carrier, TrackingNumber: e.TrackingNumber, At: e.ShippedAt}, true
	case order.Cancelled:
		return e.OrderID, Step{Kind: KindCancelled, Reason: e.Reason, At: e.CancelledAt}, true
	}
	return "", Step{}, false
}

// Message is a stored mail.
type Message struct {
	ID            string    `json:"id"`
	OrderID       string    `json:"orderId"`
	UserID        string    `json:"userId"`
	To            string    `json:"to"`
	Subject       string    `json:"subject"`
	TextBody      string    `json:"textBody"`
	HTMLBody      string    `json:"htmlBody"`
	Kind          Kind      `json:"kind"`
	CreatedAt     time.Time `json:"createdAt"`
	CorrelationID string    `json:"correlationId"`
	CausationID   string    `json:"causationId"`
	// SendStatus is SendNone (sending off when it was stored),
	// SendPending, SendSent or SendFailed.
	SendStatus SendStatus `json:"sendStatus"`
	// SentAt is when the SMTP server accepted it (SendSent only).
	SentAt *time.Time `json:"sentAt,omitempty"`
}

// SendStatus is where a mail is in SMTP delivery.
type SendStatus string

// Send statuses.
const (
	SendNone    SendStatus = "not_sent"
	SendPending SendStatus = "pending"
	SendSent    SendStatus = "sent"
	SendFailed  SendStatus = "failed"
)

// Address is the derived recipient address of a user:
// <userId>@example.test, with every byte outside [A-Za-z0-9._-] replaced
// by '_' so that the local part is always a valid dot-atom-ish token.
func Address(userID string) string {
	var b strings.Builder
	for i := 0; i < len(userID); i++ {
		c := userID[i]
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	local := strings.Trim(b.String(), ".")
	if local == "" {
		local = "unknown"
	}
	return local + "@" + AddressDomain
}

// MessageID is the id of the mail of one order and kind: "mail-" and 24
// hex digits of a hash of both, so a redelivery computes the same id.
func MessageID(orderID string, k Kind) string {
	sum := sha256.Sum256([]byte(orderID + "\x00" + string(k)))
	return "mail-" + hex.EncodeToString(sum[:12])
}

// ReasonText says a cancellation reason in plain words, completing "We
// cancelled your order because …".
func ReasonText(r order.Reason) string {
	switch r {
	case order.ReasonPaymentFailed:
		return "your payment was declined"
	case order.ReasonOutOfStock:
		return "one or more of the items you ordered are out of stock"
	case order.ReasonShippingFailed:
		return "we cannot ship to the country of your shipping address"
	case order.ReasonCustomerCancelled:
		return "you asked us to cancel it"
	}
	return "of a problem on our side"
}

// MoneyText says what happens to the customer's money after a
// cancellation for reason r.
func MoneyText(r order.Reason) string {
	switch r {
	case order.ReasonPaymentFailed:
		return "Nothing was charged."
	case order.ReasonOutOfStock, order.ReasonShippingFailed:
		return "The amount you paid has been refunded to your payment method."
	case order.ReasonCustomerCancelled:
		return "If you were charged, the amount is refunded to your payment method."
	}
	return "If you were charged, the amount is refunded to your payment method."
}

// zeroDecimal lists ISO 4217 currencies without minor units.
var zeroDecimal = map[string]bool{"JPY": true, "KRW": true, "VND": true, "CLP": true, "ISK": true, "UGX": true, "XOF": true, "XAF": true}

// FormatMoney formats an amount in minor units, e.g. 2598 USD → "25.98 USD".
func FormatMoney(minor int64, currency string) string {
	if zeroDecimal[currency] {
		return strconv.FormatInt(minor, 10) + " " + currency
	}
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, minor/100, minor%100, currency)
}
