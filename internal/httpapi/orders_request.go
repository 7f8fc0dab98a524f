package httpapi

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/causeway-dev/causeway/internal/catalog"
)

// PlaceOrderRequest is the body of POST /v1/orders.
type PlaceOrderRequest struct {
	UserID          string          `json:"userId"`
	Items           []OrderItemReq  `json:"items"`
	Currency        string          `json:"currency"`
	PaymentMethod   string          `json:"paymentMethod"`
	ShippingAddress *AddressRequest `json:"shippingAddress"`
}

// OrderItemReq is one line of PlaceOrderRequest.
type OrderItemReq struct {
	ProductID string `json:"productId"`
	Quantity  int64  `json:"quantity"`
}

// AddressRequest is the shipping address of PlaceOrderRequest.
type AddressRequest struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	PostalCode string `json:"postalCode,omitempty"`
	Country    string `json:"country"`
}

// Limits of PlaceOrderRequest values.
const (
	MaxItems      = 100
	MaxQuantity   = 1000
	MaxIDLen      = 128
	MaxFieldLen   = 200
	DefaultMethod = "card_ok"
)

// PaymentMethods are the accepted paymentMethod values (test triggers).
var paymentMethods = map[string]bool{"card_ok": true, "card_declined": true, "card_flaky": true}

var (
	idPattern      = regexp.MustCompile(`^[A-Za-z0-9._:@-]+$`)
	countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)
)

// Validate checks every value against cat and returns a *ValidationError
// listing all problems, or nil. It fills in defaults (paymentMethod).
func (r *PlaceOrderRequest) Validate(cat *catalog.Catalog) error {
	var v ValidationError
	checkID(&v, "userId", r.UserID)
	if len(r.Items) == 0 {
		v.Add("items", "at least one item is required")
	}
	if len(r.Items) > MaxItems {
		v.Add("items", "at most %d items", MaxItems)
	}
	seen := map[string]bool{}
	for i, it := range r.Items {
		if i >= MaxItems {
			break
		}
		f := "items[" + strconv.Itoa(i) + "]"
		if it.ProductID == "" {
			v.Add(f+".productId", "required")
		} else if _, ok := cat.Product(it.ProductID); !ok {
			v.Add(f+".productId", "unknown product %q", clip(it.ProductID))
		} else if seen[it.ProductID] {
			v.Add(f+".productId", "product %q listed twice", it.ProductID)
		}
		seen[it.ProductID] = true
		if it.Quantity < 1 || it.Quantity > MaxQuantity {
			v.Add(f+".quantity", "must be between 1 and %d", MaxQuantity)
		}
	}
	switch {
	case r.Currency == "":
		v.Add("currency", "required")
	case !cat.SupportsCurrency(r.Currency):
		v.Add("currency", "unknown currency %q; supported: %s", clip(r.Currency), strings.Join(cat.Currencies(), ", "))
	}
	if r.PaymentMethod == "" {
		r.PaymentMethod = DefaultMethod
	}
	if !paymentMethods[r.PaymentMethod] {
		v.Add("paymentMethod", "unknown payment method %q", clip(r.PaymentMethod))
	}
	if a := r.ShippingAddress; a == nil {
		v.Add("shippingAddress", "required")
	} else {
		checkText(&v, "shippingAddress.name", a.Name, true)
		checkText(&v, "shippingAddress.line1", a.Line1, true)
		checkText(&v, "shippingAddress.line2", a.Line2, false)
		checkText(&v, "shippingAddress.city", a.City, true)
		checkText(&v, "shippingAddress.postalCode", a.PostalCode, false)
		if !countryPattern.MatchString(a.Country) {
			v.Add("shippingAddress.country", "must be an ISO 3166-1 alpha-2 code like \"US\"")
		}
	}
	return v.Err()
}

func checkID(v *ValidationError, field, s string) {
	switch {
	case s == "":
		v.Add(field, "required")
	case len(s) > MaxIDLen:
		v.Add(field, "at most %d characters", MaxIDLen)
	case !idPattern.MatchString(s):
		v.Add(field, "may contain only letters, digits and . _ : @ -")
	}
}

func checkText(v *ValidationError, field, s string, required bool) {
	switch {
	case required && strings.TrimSpace(s) == "":
		v.Add(field, "required")
	case !utf8.ValidString(s):
		v.Add(field, "must be valid UTF-8")
	case utf8.RuneCountInString(s) > MaxFieldLen:
		v.Add(field, "at most %d characters", MaxFieldLen)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		v.Add(field, "must not contain control characters")
	case strings.ContainsRune(s, utf8.RuneError):
		// encoding/json turns a lone UTF-16 surrogate escape ("\ud800")
		// into U+FFFD; refuse it rather than store a silently changed value.
		v.Add(field, "must not contain U+FFFD (a lone surrogate escape, or a replacement character)")
	}
}

// clip shortens a client value echoed in an error message.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) > 64 {
		return string([]rune(s)[:64]) + "…"
	}
	return s
}
