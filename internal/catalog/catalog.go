// Package catalog holds the product catalog: product ids, names, prices per
// currency in integer minor units, and initial stock. The order service takes
// prices from it (never from the client) and the inventory service seeds its
// stock from it. The default catalog has products p-1 … p-20 with generous
// stock and p-sold-out with none; --catalog FILE replaces it with JSON of
// the same shape.
package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
)

// ErrInvalid is returned for a catalog that fails validation.
var ErrInvalid = errors.New("catalog: invalid")

// Product is one sellable product.
type Product struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Prices maps an ISO 4217 currency code to the unit price in minor
	// units (cents).
	Prices map[string]int64 `json:"prices"`
	// Stock is the initial stock.
	Stock int64 `json:"stock"`
}

// Catalog is an immutable set of products. It is safe for concurrent use.
type Catalog struct {
	products   map[string]Product
	order      []string
	currencies map[string]bool
}

var (
	idRE       = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
)

// New validates products and builds a catalog. Every product must be priced
// in the same set of currencies.
func New(products []Product) (*Catalog, error) {
	c := &Catalog{products: make(map[string]Product, len(products)), currencies: map[string]bool{}}
	var errs []error
	if len(products) == 0 {
		errs = append(errs, errors.New("no products"))
	}
	for i, p := range products {
		if !idRE.MatchString(p.ID) {
			errs = append(errs, fmt.Errorf("product %d: invalid id %q", i, p.ID))
			continue
		}
		if _, dup := c.products[p.ID]; dup {
			errs = append(errs, fmt.Errorf("product %s: duplicate id", p.ID))
			continue
		}
		if p.Stock < 0 {
			errs = append(errs, fmt.Errorf("product %s: negative stock", p.ID))
		}
		if len(p.Prices) == 0 {
			errs = append(errs, fmt.Errorf("product %s: no prices", p.ID))
		}
		for cur, price := range p.Prices {
			if !currencyRE.MatchString(cur) {
				errs = append(errs, fmt.Errorf("product %s: invalid currency %q", p.ID, cur))
			}
			if price <= 0 || price > 1_000_000_000 {
				errs = append(errs, fmt.Errorf("product %s: price %d %s out of range", p.ID, price, cur))
			}
			if i == 0 {
				c.currencies[cur] = true
			} else if !c.currencies[cur] {
				errs = append(errs, fmt.Errorf("product %s: currency %s not offered by every product", p.ID, cur))
			}
		}
		if i > 0 && len(p.Prices) != len(c.currencies) {
			errs = append(errs, fmt.Errorf("product %s: must be priced in %d currencies", p.ID, len(c.currencies)))
		}
		c.products[p.ID] = p
		c.order = append(c.order, p.ID)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	return c, nil
}

// Default returns the built-in catalog: p-1 … p-20 priced in USD, EUR and
// GBP with stock 1,000,000 each, and p-sold-out with stock 0.
func Default() *Catalog {
	ps := make([]Product, 0, 21)
	for i := 1; i <= 20; i++ {
		usd := int64(499 + (i-1)*250) // 4.99, 7.49, …
		ps = append(ps, Product{
			ID:     fmt.Sprintf("p-%d", i),
			Name:   fmt.Sprintf("Product %d", i),
			Prices: map[string]int64{"USD": usd, "EUR": usd * 92 / 100, "GBP": usd * 79 / 100},
			Stock:  1_000_000,
		})
	}
	ps = append(ps, Product{ID: "p-sold-out", Name: "Sold-out product",
		Prices: map[string]int64{"USD": 999, "EUR": 919, "GBP": 789}, Stock: 0})
	c, err := New(ps)
	if err != nil {
		panic(fmt.Sprintf("catalog: default catalog invalid: %v", err)) // a programming error
	}
	return c
}

// Load reads a catalog from JSON: {"products": [Product, …]}.
func Load(r io.Reader) (*Catalog, error) {
	var f struct {
		Products []Product `json:"products"`
	}
	dec := json.NewDecoder(io.LimitReader(r, 16<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return New(f.Products)
}

// LoadFile reads a catalog JSON file.
func LoadFile(path string) (*Catalog, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	defer fh.Close()
	return Load(fh)
}

// Product returns the product with id.
func (c *Catalog) Product(id string) (Product, bool) {
	p, ok := c.products[id]
	return p, ok
}

// Products returns all products in catalog order.
func (c *Catalog) Products() []Product {
	out := make([]Product, 0, len(c.order))
	for _, id := range c.order {
		out = append(out, c.products[id])
	}
	return out
}

// Currencies returns the supported currency codes, sorted.
func (c *Catalog) Currencies() []string {
	out := make([]string, 0, len(c.currencies))
	for cur := range c.currencies {
		out = append(out, cur)
	}
	sort.Strings(out)
	return out
}

// SupportsCurrency reports whether orders may be placed in cur.
func (c *Catalog) SupportsCurrency(cur string) bool { return c.currencies[cur] }

// Price returns the unit price of product id in cur, in minor units.
func (c *Catalog) Price(id, cur string) (int64, bool) {
	p, ok := c.products[id]
	if !ok {
		return 0, false
	}
	v, ok := p.Prices[cur]
	return v, ok
}
