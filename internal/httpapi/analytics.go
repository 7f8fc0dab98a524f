package httpapi

import (
	"context"
	"net/http"

	"github.com/causeway-dev/causeway/internal/analytics"
)

// WithAnalytics serves GET /v1/analytics/summary from summary (normally
// (*analytics.Reader).Summary). Without it the route does not exist (404).
func WithAnalytics(summary func(ctx context.Context) (analytics.Summary, error)) Option {
	return optionFunc(func(s *Server) { s.summary = summary })
}

// analyticsSummary serves GET /v1/analytics/summary.
func (s *Server) analyticsSummary(w http.ResponseWriter, r *http.Request) {
	sum, err := s.summary(r.Context())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, sum)
}
