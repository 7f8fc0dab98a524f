package catalog_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/internal/catalog"
)

func TestDefault(t *testing.T) {
	c := catalog.Default()
	if got, want := len(c.Products()), 21; got != want {
		t.Fatalf("products = %d, want %d", got, want)
	}
	p, ok := c.Product("p-sold-out")
	if !ok || p.Stock != 0 {
		t.Fatalf("p-sold-out = %+v, %v; want stock 0", p, ok)
	}
	if price, ok := c.Price("p-1", "USD"); !ok || price != 499 {
		t.Fatalf("p-1 USD = %d, %v; want 499", price, ok)
	}
	if c.SupportsCurrency("XYZ") || !c.SupportsCurrency("EUR") {
		t.Fatal("currency support wrong")
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name, json string
		wantErr    bool
	}{
		{"ok", `{"products":[{"id":"a","name":"A","prices":{"USD":100},"stock":5}]}`, false},
		{"empty", `{"products":[]}`, true},
		{"unknown field", `{"products":[],"x":1}`, true},
		{"negative stock", `{"products":[{"id":"a","prices":{"USD":100},"stock":-1}]}`, true},
		{"bad currency", `{"products":[{"id":"a","prices":{"usd":100},"stock":1}]}`, true},
		{"zero price", `{"products":[{"id":"a","prices":{"USD":0},"stock":1}]}`, true},
		{"dup", `{"products":[{"id":"a","prices":{"USD":1},"stock":1},{"id":"a","prices":{"USD":1},"stock":1}]}`, true},
		{"mixed currencies", `{"products":[{"id":"a","prices":{"USD":1},"stock":1},{"id":"b","prices":{"EUR":1},"stock":1}]}`, true},
		{"not json", `{`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := catalog.Load(strings.NewReader(tt.json))
			if got := err != nil; got != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, catalog.ErrInvalid) {
				t.Fatalf("err %v is not ErrInvalid", err)
			}
		})
	}
}
