package httpapi

import "github.com/causeway-dev/causeway/internal/dashboard"

// WithDashboard serves the dashboard d:
//
//	GET /                       the page (public: a static shell without data)
//	GET /dashboard/static/{f}   its script and style sheet (public)
//	GET /v1/dashboard/state     topology, throughput, lag, DLQ depth, sagas, latency (orders:read)
//	GET /v1/dashboard/orders    recent orders with their status (orders:read)
//	GET /v1/dashboard/stream    both, as server-sent events (orders:read)
//
// The page fetches its data with the token kept in the browser's
// sessionStorage (none needed with auth off); the DLQ panel needs admin.
func WithDashboard(d *dashboard.Dashboard) Option {
	return optionFunc(func(s *Server) {
		read := Needs(ScopeOrdersRead)
		s.extra = append(s.extra,
			route{"GET /{$}", Public(), d.Page()},
			route{"GET " + dashboard.StaticPrefix + "{file}", Public(), d.Static()},
			route{"GET /v1/dashboard/state", read, d.StateHandler()},
			route{"GET /v1/dashboard/orders", read, d.OrdersHandler()},
			route{"GET /v1/dashboard/stream", read, d.StreamHandler()},
		)
	})
}
