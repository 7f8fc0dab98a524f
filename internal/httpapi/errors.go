package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/causeway-dev/causeway/dlq"
	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/internal/email"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/internal/readmodel"
	"github.com/causeway-dev/causeway/sqldb"
)

// statusFor is the one place that maps an error to an HTTP status. An
// error it does not know is a 500; every error a client can cause must be
// listed here.
func statusFor(err error) int {
	var ve *ValidationError
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrBadRequest), errors.Is(err, ordersvc.ErrBadIdempotencyKey), errors.Is(err, email.ErrInvalidQuery),
		errors.Is(err, dlq.ErrInvalidFilter), errors.Is(err, dlq.ErrInvalidID),
		errors.Is(err, readmodel.ErrBadToken), errors.Is(err, readmodel.ErrBadCursor):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrURITooLong):
		return http.StatusRequestURITooLong
	case errors.Is(err, ErrUnsupportedMediaType):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.As(err, &ve), errors.Is(err, order.ErrInvalid),
		errors.Is(err, dlq.ErrReasonRequired), errors.Is(err, dlq.ErrNoSelection):
		return http.StatusUnprocessableEntity
	case errors.Is(err, ErrNotFound), errors.Is(err, order.ErrNotFound), errors.Is(err, email.ErrNotFound),
		errors.Is(err, dlq.ErrNotFound), errors.Is(err, dlq.ErrJobNotFound), errors.Is(err, readmodel.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrConflict),
		errors.Is(err, order.ErrIllegalTransition),
		errors.Is(err, order.ErrExists),
		errors.Is(err, order.ErrTooManyConflicts),
		errors.Is(err, eventstore.ErrConflict),
		errors.Is(err, ordersvc.ErrIdempotencyMismatch),
		errors.Is(err, dlq.ErrLoopGuard):
		return http.StatusConflict
	case errors.Is(err, ErrUnavailable),
		sqldb.IsUnavailable(err),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// writeError answers err as problem+json with statusFor's status. A 5xx
// is logged, and a 500 never shows the error's text to the client.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status := statusFor(err)
	p := Problem{Status: status, Instance: r.URL.Path}
	switch status {
	case http.StatusInternalServerError:
		p.Detail = "internal error; it has been logged"
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case http.StatusServiceUnavailable:
		p.Detail = "the service cannot answer now; retry later"
		w.Header().Set("Retry-After", "1")
		log.WarnContext(r.Context(), "request unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	default:
		p.Detail = err.Error()
	}
	if status == http.StatusUnprocessableEntity {
		p.Title = "Invalid request"
		p.Detail = "the request has invalid values; see errors"
		p.Errors = fieldErrors(err)
	}
	writeProblem(w, p)
}

// fieldErrors lists the problems of a *ValidationError or an
// *order.ValidationError.
func fieldErrors(err error) []FieldError {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Problems
	}
	var oe *order.ValidationError
	if errors.As(err, &oe) {
		out := make([]FieldError, len(oe.Problems))
		for i, p := range oe.Problems {
			out[i] = FieldError{Field: p.Field, Detail: p.Problem}
		}
		return out
	}
	return []FieldError{{Field: "", Detail: err.Error()}}
}
