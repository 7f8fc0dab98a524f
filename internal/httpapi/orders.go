package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/ordersvc"
)

// HeaderIdempotencyKey makes a retried POST /v1/orders return the first
// answer.
const HeaderIdempotencyKey = "Idempotency-Key"

// HeaderIdempotentReplayed is "true" on an answer replayed for a repeated
// Idempotency-Key.
const HeaderIdempotentReplayed = "Idempotent-Replayed"

func (s *Server) placeOrder(w http.ResponseWriter, r *http.Request) {
	keys := r.Header.Values(HeaderIdempotencyKey)
	if len(keys) > 1 {
		writeError(w, r, s.log, fmt.Errorf("%w: more than one %s header", ErrBadRequest, HeaderIdempotencyKey))
		return
	}
	var key string
	if len(keys) == 1 {
		key = keys[0]
		if !ordersvc.ValidIdempotencyKey(key) {
			writeError(w, r, s.log, fmt.Errorf("%w: %s must be 1–%d printable ASCII characters", ErrBadRequest, HeaderIdempotencyKey, ordersvc.MaxKeyLen))
			return
		}
	}
	var req PlaceOrderRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if err := req.Validate(s.cat); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	res, err := s.orders.Place(r.Context(), req.toService(), key)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	spanAttributes(r, attribute.String("causeway.order.id", res.OrderID),
		semconv.MessagingMessageConversationID(res.CorrelationID))
	w.Header().Set("Location", "/v1/orders/"+url.PathEscape(res.OrderID))
	if res.Replayed {
		w.Header().Set(HeaderIdempotentReplayed, "true")
	}
	writeJSON(w, http.StatusAccepted, res)
}

// toService converts a validated request.
func (r *PlaceOrderRequest) toService() ordersvc.PlaceRequest {
	out := ordersvc.PlaceRequest{
		UserID:        r.UserID,
		Items:         make([]ordersvc.LineRequest, len(r.Items)),
		Currency:      r.Currency,
		PaymentMethod: r.PaymentMethod,
	}
	for i, it := range r.Items {
		out.Items[i] = ordersvc.LineRequest{ProductID: it.ProductID, Quantity: int(it.Quantity)}
	}
	if a := r.ShippingAddress; a != nil {
		out.ShippingAddress = order.Address{Name: a.Name, Line1: a.Line1, Line2: a.Line2, City: a.City, PostalCode: a.PostalCode, Country: a.Country}
	}
	return out
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	if ats, ok := q["at"]; ok {
		if len(ats) != 1 {
			writeError(w, r, s.log, fmt.Errorf("%w: give at most one at", ErrBadRequest))
			return
		}
		at, err := time.Parse(time.RFC3339Nano, ats[0])
		if err != nil {
			writeError(w, r, s.log, fmt.Errorf("%w: at must be an RFC 3339 time like 2026-11-25T18:05:37Z, got %q", ErrBadRequest, clip(ats[0])))
			return
		}
		v, err := s.orders.GetAt(r.Context(), id, at)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
		return
	}
	if s.readModel != nil {
		s.getOrderRead(w, r)
		return
	}
	v, err := s.orders.Get(r.Context(), id)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// EventsResponse is the body of GET /v1/orders/{id}/events.
type EventsResponse struct {
	OrderID string           `json:"orderId"`
	Events  []event.Envelope `json:"events"`
}

func (s *Server) orderEvents(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	evs, err := s.orders.Events(r.Context(), id)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, EventsResponse{OrderID: id, Events: evs})
}

func (s *Server) cancelOrder(w http.ResponseWriter, r *http.Request) {
	res, err := s.orders.Cancel(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}
