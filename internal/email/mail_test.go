package email_test

import (
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/internal/email"
	"github.com/causeway-dev/causeway/internal/order"
)

var at = time.Date(2026, 11, 25, 15, 30, 0, 0, time.UTC)

func TestAddress(t *testing.T) {
	tests := []struct{ user, want string }{
		{"u-42", "u-42@example.test"},
		{"Ada.Lovelace_1", "Ada.Lovelace_1@example.test"},
		{"a b@c<d>", "a_b_c_d_@example.test"},
		{"", "unknown@example.test"},
		{"...", "unknown@example.test"},
		{"ü", "__@example.test"},
	}
	for _, tt := range tests {
		if got := email.Address(tt.user); got != tt.want {
			t.Errorf("Address(%q): got %q, want %q", tt.user, got, tt.want)
		}
	}
}

func TestMessageID(t *testing.T) {
	a := email.MessageID("o-1", email.KindReceived)
	if a != email.MessageID("o-1", email.KindReceived) {
		t.Error("not deterministic")
	}
	for _, other := range []string{email.MessageID("o-1", email.KindShipped), email.MessageID("o-2", email.KindReceived)} {
		if other == a {
			t.Errorf("%s collides", other)
		}
	}
	if !strings.HasPrefix(a, "mail-") || len(a) != len("mail-")+24 {
		t.Errorf("got %q", a)
	}
}

func TestFormatMoney(t *testing.T) {
	tests := []struct {
		minor int64
		cur   string
		want  string
	}{
		{2598, "USD", "25.98 USD"},
		{5, "EUR", "0.05 EUR"},
		{0, "USD", "0.00 USD"},
		{-150, "USD", "-1.50 USD"},
		{1200, "JPY", "1200 JPY"},
	}
	for _, tt := range tests {
		if got := email.FormatMoney(tt.minor, tt.cur); got != tt.want {
			t.Errorf("FormatMoney(%d, %s): got %q, want %q", tt.minor, tt.cur, got, tt.want)
		}
	}
}

func TestStepOf(t *testing.T) {
	tests := []struct {
		e    order.Event
		kind email.Kind
		ok   bool
	}{
		{order.Placed{OrderID: "o-1"}, email.KindReceived, true},
		{order.Shipped{OrderID: "o-1", Carrier: "DHL"}, email.KindShipped, true},
		{order.Cancelled{OrderID: "o-1", Reason: order.ReasonOutOfStock}, email.KindCancelled, true},
		{order.Paid{OrderID: "o-1"}, "", false},
		{order.Reserved{OrderID: "o-1"}, "", false},
	}
	for _, tt := range tests {
		id, s, ok := email.StepOf(tt.e)
		if ok != tt.ok || s.Kind != tt.kind || (ok && id != "o-1") {
			t.Errorf("%s: got %q %+v %v, want %s %v", tt.e.EventType(), id, s, ok, tt.kind, tt.ok)
		}
	}
}

func TestRender(t *testing.T) {
	r, err := email.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	o := email.Order{OrderID: "o-1", UserID: "u-1", Name: "Ada <script>", Currency: "USD", TotalMinor: 2598,
		Lines: []email.Line{{ProductID: "p-1", Quantity: 2, UnitPriceMinor: 1299}}}
	tests := []struct {
		name     string
		o        email.Order
		step     email.Step
		subject  string
		text     []string // substrings of the text body
		html     []string // substrings of the HTML body
		notInAny []string
	}{
		{"received", o, email.Step{Kind: email.KindReceived, At: at}, "We received your order o-1",
			[]string{"Hello Ada <script>,", "2 x p-1 at 12.99 USD = 25.98 USD", "Total: 25.98 USD"},
			[]string{"Ada &lt;script&gt;", "<td>p-1</td>", "25.98 USD"}, nil},
		{"shipped", o, email.Step{Kind: email.KindShipped, Carrier: "DHL", TrackingNumber: "CW123", At: at}, "Your order o-1 has shipped",
			[]string{"Carrier: DHL", "Tracking number: CW123"}, []string{"<code>CW123</code>"}, nil},
		{"cancelled out of stock", o, email.Step{Kind: email.KindCancelled, Reason: order.ReasonOutOfStock, At: at}, "Your order o-1 was cancelled",
			[]string{"because one or more of the items you ordered are out of stock.", "has been refunded"},
			[]string{"out of stock", "has been refunded"}, []string{"out_of_stock"}},
		{"cancelled declined", o, email.Step{Kind: email.KindCancelled, Reason: order.ReasonPaymentFailed, At: at}, "Your order o-1 was cancelled",
			[]string{"because your payment was declined.", "Nothing was charged."}, []string{"Nothing was charged."}, []string{"payment_failed"}},
		{"cancelled by customer", o, email.Step{Kind: email.KindCancelled, Reason: order.ReasonCustomerCancelled, At: at}, "Your order o-1 was cancelled",
			[]string{"because you asked us to cancel it."}, nil, []string{"customer_cancelled"}},
		{"cancelled shipping", o, email.Step{Kind: email.KindCancelled, Reason: order.ReasonShippingFailed, At: at}, "Your order o-1 was cancelled",
			[]string{"cannot ship to the country"}, nil, []string{"shipping_failed"}},
		{"order never seen", email.Order{OrderID: "o-9"}, email.Step{Kind: email.KindShipped, Carrier: "UPS"}, "Your order o-9 has shipped",
			[]string{"Hello customer,", "Carrier: UPS"}, nil, []string{"Total", "<table"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Render(tt.o, tt.step)
			if err != nil {
				t.Fatal(err)
			}
			if got.Subject != tt.subject {
				t.Errorf("subject: got %q, want %q", got.Subject, tt.subject)
			}
			for _, s := range tt.text {
				if !strings.Contains(got.Text, s) {
					t.Errorf("text lacks %q:\n%s", s, got.Text)
				}
			}
			for _, s := range tt.html {
				if !strings.Contains(got.HTML, s) {
					t.Errorf("html lacks %q:\n%s", s, got.HTML)
				}
			}
			for _, s := range tt.notInAny {
				if strings.Contains(got.Text, s) || strings.Contains(got.HTML, s) {
					t.Errorf("mail contains %q", s)
				}
			}
			if strings.Contains(got.HTML, "<script>") {
				t.Error("html not escaped")
			}
		})
	}
	if _, err := r.Render(o, email.Step{Kind: "nope"}); err == nil {
		t.Error("unknown kind: no error")
	}
}
