package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Errors lists every invalid field (422).
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError names one invalid value in a request.
type FieldError struct {
	// Field is a JSON pointer-like path, e.g. "items[0].quantity".
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// Sentinel errors of the HTTP layer.
var (
	// ErrBadRequest: malformed JSON, unknown fields, wrong types.
	ErrBadRequest = errors.New("bad request")
	// ErrTooLarge: body over the limit.
	ErrTooLarge = errors.New("request body too large")
	// ErrUnsupportedMediaType: not application/json.
	ErrUnsupportedMediaType = errors.New("unsupported media type")
	// ErrNotFound: no such resource.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request conflicts with the resource's state.
	ErrConflict = errors.New("conflict")
	// ErrURITooLong: path and query over MaxURIBytes.
	ErrURITooLong = errors.New("URI too long")
	// ErrUnavailable: the service cannot answer now (not ready, draining).
	ErrUnavailable = errors.New("service unavailable")
)

// ValidationError lists every problem of a request that parsed but holds
// invalid values (422).
type ValidationError struct {
	Problems []FieldError
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid request: %d problem(s)", len(e.Problems))
}

// Add records a problem.
func (e *ValidationError) Add(field, format string, args ...any) {
	e.Problems = append(e.Problems, FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
}

// Err returns e if it holds problems, else nil.
func (e *ValidationError) Err() error {
	if len(e.Problems) == 0 {
		return nil
	}
	return e
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeProblem(w http.ResponseWriter, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
