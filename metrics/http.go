package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// UnmatchedRoute is the route label of requests no ServeMux pattern matched.
const UnmatchedRoute = "unmatched"

// HTTPMetrics measures HTTP requests.
//
//	causeway_http_requests_total{method,route,code}
//	causeway_http_request_duration_seconds{method,route}  histogram
//	causeway_http_requests_in_flight
//
// route is the net/http.ServeMux pattern that matched (e.g.
// "GET /v1/orders/{id}"), never the raw path, so the label's values are
// bounded by the routes; method is the request method for the standard
// methods and "other" for any other. It is safe for concurrent use.
type HTTPMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// NewHTTPMetrics returns HTTPMetrics registered with reg (nil: the caller
// registers the collectors, see Collectors).
func NewHTTPMetrics(reg prometheus.Registerer) (*HTTPMetrics, error) {
	m := &HTTPMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "causeway_http_requests_total",
			Help: "HTTP requests served, by method, ServeMux route pattern and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "causeway_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by method and ServeMux route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "causeway_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	if reg != nil {
		for _, c := range m.Collectors() {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// Collectors returns the collectors to register.
func (m *HTTPMetrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.duration, m.inFlight}
}

// Middleware measures every request next serves. next should be the
// *http.ServeMux itself (or a handler that passes the mux the same
// *http.Request): the route label is read from Request.Pattern, which the
// mux sets on the request it is given. Requests it does not match are
// labelled UnmatchedRoute.
func (m *HTTPMetrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w}
		defer func() {
			// A panicking handler still counts (net/http answers 500 or
			// drops the connection); the panic goes on.
			code := rw.code
			if code == 0 {
				code = http.StatusOK
				if p := recover(); p != nil {
					code = http.StatusInternalServerError
					defer panic(p)
				}
			}
			route := r.Pattern
			if route == "" {
				route = UnmatchedRoute
			}
			method := methodLabel(r.Method)
			m.requests.WithLabelValues(method, route, strconv.Itoa(code)).Inc()
			m.duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(rw, r)
	})
}

func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// statusWriter records the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush flushes the underlying writer if it can (server-sent events).
func (w *statusWriter) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
