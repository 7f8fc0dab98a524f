package loadgen

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Path is one saga path the load generator can exercise.
type Path struct {
	// Name is the path's name in --mix: ok, declined, soldout, xx, flaky.
	Name string
	// Method is the paymentMethod sent.
	Method string
	// Product is the product ordered ("" = p-1 … p-20 in turn).
	Product string
	// Country is the shipping country sent.
	Country string
	// Status and Reason are the expected terminal outcome.
	Status, Reason string
}

// Paths are the known paths, by name.
var Paths = map[string]Path{
	"ok":       {Name: "ok", Method: "card_ok", Country: "US", Status: "shipped"},
	"declined": {Name: "declined", Method: "card_declined", Country: "US", Status: "cancelled", Reason: "payment_failed"},
	"soldout":  {Name: "soldout", Method: "card_ok", Product: "p-sold-out", Country: "US", Status: "cancelled", Reason: "out_of_stock"},
	"xx":       {Name: "xx", Method: "card_ok", Country: "XX", Status: "cancelled", Reason: "shipping_failed"},
	"flaky":    {Name: "flaky", Method: "card_flaky", Country: "US", Status: "shipped"},
}

// DefaultMix is the default --mix.
const DefaultMix = "ok=90,declined=3,soldout=2,xx=2,flaky=3"

// Weight is one entry of a mix.
type Weight struct {
	Path   Path
	Weight int
}

// Mix is a weighted set of paths. Next deals them in a fixed, smooth
// interleaving (smooth weighted round robin), so that any window of sum
// orders holds each path exactly its weight's share.
type Mix struct {
	weights []Weight
	current []int
	total   int
}

// ParseMix parses "name=weight,…" (names of Paths, weights ≥ 0, at least
// one positive).
func ParseMix(s string) (*Mix, error) {
	m := &Mix{}
	var errs []error
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, w, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		p, known := Paths[name]
		n, err := strconv.Atoi(strings.TrimSpace(w))
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%q: want name=weight", part))
		case !known:
			errs = append(errs, fmt.Errorf("%q: unknown path (known: ok, declined, soldout, xx, flaky)", name))
		case err != nil || n < 0:
			errs = append(errs, fmt.Errorf("%q: weight must be a whole number ≥ 0", part))
		case seen[name]:
			errs = append(errs, fmt.Errorf("%q: given twice", name))
		default:
			seen[name] = true
			if n > 0 {
				m.weights = append(m.weights, Weight{p, n})
				m.total += n
			}
		}
	}
	if len(errs) == 0 && m.total == 0 {
		errs = append(errs, errors.New("no path with a positive weight"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("mix %q: %w", s, err)
	}
	m.current = make([]int, len(m.weights))
	return m, nil
}

// Weights returns the mix's entries with a positive weight.
func (m *Mix) Weights() []Weight { return slices.Clone(m.weights) }

// String returns the mix as ParseMix reads it.
func (m *Mix) String() string {
	parts := make([]string, len(m.weights))
	for i, w := range m.weights {
		parts[i] = fmt.Sprintf("%s=%d", w.Path.Name, w.Weight)
	}
	return strings.Join(parts, ",")
}

// Next returns the next path. It is not safe for concurrent use.
func (m *Mix) Next() Path {
	best := 0
	for i, w := range m.weights {
		m.current[i] += w.Weight
		if m.current[i] > m.current[best] {
			best = i
		}
	}
	m.current[best] -= m.total
	return m.weights[best].Path
}
