package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/causeway-dev/causeway/trace"
)

// Tracer builds the causation tree of one flow; *trace.Tracer implements
// it. Trace is called concurrently and honours ctx.
type Tracer interface {
	Trace(ctx context.Context, correlationID string) (*trace.Flow, error)
}

var _ Tracer = (*trace.Tracer)(nil)

// TraceTimeout bounds one GET /v1/trace/{correlationId} (a scan of the
// topics); past it the answer is 503.
const TraceTimeout = 30 * time.Second

// WithTrace serves GET /v1/trace/{correlationId} (scope orders:read) from
// t: 200 with the flow as JSON (trace.Flow), 400 for an id no event can
// carry (trace.ValidateID), 404 when no event of the flow is found.
// Without it the route does not exist (404).
func WithTrace(t Tracer) Option {
	return optionFunc(func(s *Server) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.traceFlow(t, w, r) })
		s.extra = append(s.extra, route{"GET /v1/trace/{correlationId}", Needs(ScopeOrdersRead), h})
	})
}

// traceFlow serves GET /v1/trace/{correlationId}.
func (s *Server) traceFlow(t Tracer, w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("correlationId")
	if err := trace.ValidateID(id); err != nil {
		writeError(w, r, s.log, fmt.Errorf("%w: correlation id: %v", ErrBadRequest, err))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), TraceTimeout)
	defer cancel()
	f, err := t.Trace(ctx, id)
	switch {
	case errors.Is(err, trace.ErrInvalidID):
		err = fmt.Errorf("%w: correlation id: %v", ErrBadRequest, err)
	case errors.Is(err, trace.ErrNotFound):
		err = fmt.Errorf("%w: no events with correlation id %q", ErrNotFound, id)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}
