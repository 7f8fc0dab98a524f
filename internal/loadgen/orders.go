package loadgen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// OrderRecord is one line of the orders file: an accepted order, the path
// it was placed on and that path's expected outcome.
type OrderRecord struct {
	OrderID string `json:"orderId"`
	Path    string `json:"path"`
	// Status and Reason are the expected terminal status and
	// cancellation reason ("" = not known: any terminal outcome is fine).
	Status string `json:"status,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// WriteOrders writes recs as JSON lines.
func WriteOrders(w io.Writer, recs []OrderRecord) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteOrdersFile writes recs to path (replacing it).
func WriteOrdersFile(path string, recs []OrderRecord) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteOrders(f, recs); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadOrders reads a JSON-lines orders file. Blank lines are skipped.
func ReadOrders(r io.Reader) ([]OrderRecord, error) {
	var out []OrderRecord
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var rec OrderRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, fmt.Errorf("orders line %d: %w", line, err)
		}
		if rec.OrderID == "" {
			return nil, fmt.Errorf("orders line %d: no orderId", line)
		}
		out = append(out, rec)
	}
	return out, sc.Err()
}

// ReadOrdersFile reads the orders file at path.
func ReadOrdersFile(path string) ([]OrderRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadOrders(f)
}
