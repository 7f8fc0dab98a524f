package httpapi

import (
	"fmt"
	"net/http"

	"github.com/causeway-dev/causeway/internal/catalog"
)

// ProductView is a catalog product as GET /v1/products shows it.
type ProductView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Prices maps a currency to the unit price in minor units.
	Prices map[string]int64 `json:"prices"`
	// Stock is the available stock: live from the inventory service when
	// the server has a stock source (StockSource "inventory", see
	// WithStock), else the catalog's initial stock (StockSource "catalog").
	Stock       int64  `json:"stock"`
	StockSource string `json:"stockSource"`
}

func productView(p catalog.Product) ProductView {
	return ProductView{ID: p.ID, Name: p.Name, Prices: p.Prices, Stock: p.Stock, StockSource: "catalog"}
}

// withStock overlays the live available stock, when there is a source.
func (s *Server) withStock(r *http.Request, views ...ProductView) ([]ProductView, error) {
	if s.stock == nil {
		return views, nil
	}
	avail, err := s.stock(r.Context())
	if err != nil {
		return nil, fmt.Errorf("stock: %w", err)
	}
	for i := range views {
		views[i].Stock, views[i].StockSource = avail[views[i].ID], "inventory"
	}
	return views, nil
}

func (s *Server) listProducts(w http.ResponseWriter, r *http.Request) {
	ps := s.cat.Products()
	out := make([]ProductView, len(ps))
	for i, p := range ps {
		out[i] = productView(p)
	}
	out, err := s.withStock(r, out...)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"products": out, "currencies": s.cat.Currencies()})
}

func (s *Server) getProduct(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p, ok := s.cat.Product(id)
	if !ok {
		writeError(w, r, s.log, fmt.Errorf("%w: product %q", ErrNotFound, clip(id)))
		return
	}
	out, err := s.withStock(r, productView(p))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, out[0])
}
