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
	// Stock is the available stock. Until the inventory service exists it
	// is the catalog's initial stock (StockSource "catalog").
	Stock       int64  `json:"stock"`
	StockSource string `json:"stockSource"`
}

func productView(p catalog.Product) ProductView {
	return ProductView{ID: p.ID, Name: p.Name, Prices: p.Prices, Stock: p.Stock, StockSource: "catalog"}
}

func (s *Server) listProducts(w http.ResponseWriter, _ *http.Request) {
	ps := s.cat.Products()
	out := make([]ProductView, len(ps))
	for i, p := range ps {
		out[i] = productView(p)
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
	writeJSON(w, http.StatusOK, productView(p))
}
