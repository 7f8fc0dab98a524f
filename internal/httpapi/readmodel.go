package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/internal/readmodel"
)

// ReadModel is the read service as the API needs it; *readmodel.Service
// implements it. Methods are called concurrently and honour ctx.
type ReadModel interface {
	// Consistent waits (bounded) until projection has applied the write
	// of token; stale reports that it ran out of time. A malformed token
	// is readmodel.ErrBadToken.
	Consistent(ctx context.Context, projection, token string) (stale bool, err error)
	Order(ctx context.Context, id string) (readmodel.Order, error)
	UserOrders(ctx context.Context, userID, cursor string, limit int) (readmodel.UserOrdersPage, error)
	ProductSales(ctx context.Context) ([]readmodel.ProductSale, error)
}

var _ ReadModel = (*readmodel.Service)(nil)

// Read-your-writes: where a query takes the consistencyToken of a
// command's answer, and the header that marks a stale answer.
const (
	ConsistentWithParam  = "consistentWith"
	ConsistentWithHeader = "X-Consistent-With"
	StaleHeader          = "X-Causeway-Stale"
	SourceHeader         = "X-Causeway-Source"
)

// WithReadModel serves GET /v1/orders/{id} (without ?at=) from the read
// model, and adds GET /v1/users/{userId}/orders and
// GET /v1/analytics/products. Without it GET /v1/orders/{id} folds the
// order's events from the event store and the other two routes do not
// exist.
//
// GET /v1/orders/{id}: an order the read model has not applied yet (its
// order.placed is still on its way) but the event store knows is answered
// from the event store, marked "stale": true, "source": "event-store" (and
// the headers X-Causeway-Stale: true, X-Causeway-Source: event-store); an
// order neither knows is 404.
//
// Both queries take a consistencyToken (?consistentWith=TOKEN or the
// X-Consistent-With header) and wait up to the read service's bound
// (2s) until the read model has applied that write; past it they answer
// what the read model has, with "stale": true and X-Causeway-Stale: true.
// A malformed token is 400.
func WithReadModel(rm ReadModel) Option {
	return optionFunc(func(s *Server) { s.readModel = rm })
}

// readRoutes registers the routes of WithReadModel.
func (s *Server) readRoutes(read Access) {
	s.handle("GET /v1/users/{userId}/orders", read, s.userOrders)
	s.handle("GET /v1/analytics/products", read, s.productSales)
}

// consistencyToken returns the token of r: the query parameter or the
// header (both given must agree).
func consistencyToken(r *http.Request) (string, error) {
	q := r.URL.Query()[ConsistentWithParam]
	h := r.Header.Values(ConsistentWithHeader)
	if len(q) > 1 || len(h) > 1 {
		return "", fmt.Errorf("%w: give at most one consistency token", ErrBadRequest)
	}
	var tok string
	if len(q) == 1 {
		tok = q[0]
		if tok == "" {
			return "", fmt.Errorf("%w: %s is empty", ErrBadRequest, ConsistentWithParam)
		}
	}
	if len(h) == 1 {
		if tok != "" && h[0] != tok {
			return "", fmt.Errorf("%w: %s and %s differ", ErrBadRequest, ConsistentWithParam, ConsistentWithHeader)
		}
		tok = h[0]
	}
	return tok, nil
}

// consistent waits for r's token on projection.
func (s *Server) consistent(r *http.Request, projection string) (bool, error) {
	tok, err := consistencyToken(r)
	if err != nil {
		return false, err
	}
	return s.readModel.Consistent(r.Context(), projection, tok)
}

func markStale(w http.ResponseWriter, stale bool) {
	if stale {
		w.Header().Set(StaleHeader, "true")
	}
}

// eventStoreOrder is the event-sourced view answered while the read model
// has not applied the order yet.
type eventStoreOrder struct {
	ordersvc.OrderView
	Source string `json:"source"`
	Stale  bool   `json:"stale"`
}

// getOrderRead serves GET /v1/orders/{id} from the read model.
func (s *Server) getOrderRead(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	stale, err := s.consistent(r, readmodel.OrderViewName)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	o, err := s.readModel.Order(r.Context(), id)
	if errors.Is(err, readmodel.ErrNotFound) {
		v, err := s.orders.Get(r.Context(), id)
		if err != nil {
			writeError(w, r, s.log, err) // 404 when the event store does not know it either
			return
		}
		markStale(w, true)
		w.Header().Set(SourceHeader, "event-store")
		writeJSON(w, http.StatusOK, eventStoreOrder{OrderView: v, Source: "event-store", Stale: true})
		return
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	o.Stale = stale
	markStale(w, stale)
	w.Header().Set(SourceHeader, "read-model")
	writeJSON(w, http.StatusOK, o)
}

// userOrders serves GET /v1/users/{userId}/orders?cursor=&limit=.
func (s *Server) userOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if len(q["cursor"]) > 1 || len(q["limit"]) > 1 {
		writeError(w, r, s.log, fmt.Errorf("%w: give cursor and limit at most once", ErrBadRequest))
		return
	}
	limit, err := readmodel.ParseLimit(q.Get("limit"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	stale, err := s.consistent(r, readmodel.UserOrdersName)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	page, err := s.readModel.UserOrders(r.Context(), r.PathValue("userId"), q.Get("cursor"), limit)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	page.Stale = stale
	markStale(w, stale)
	writeJSON(w, http.StatusOK, page)
}

// ProductSalesResponse is the body of GET /v1/analytics/products.
type ProductSalesResponse struct {
	Products []readmodel.ProductSale `json:"products"`
}

// productSales serves GET /v1/analytics/products: units and revenue per
// product of shipped orders, from the read model.
func (s *Server) productSales(w http.ResponseWriter, r *http.Request) {
	ps, err := s.readModel.ProductSales(r.Context())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, ProductSalesResponse{Products: ps})
}
