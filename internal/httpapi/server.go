package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/analytics"
	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/ordersvc"
)

// Orders is the order service as the API needs it; *ordersvc.Service
// implements it. Methods are called concurrently and honour ctx.
type Orders interface {
	Place(ctx context.Context, req ordersvc.PlaceRequest, idempotencyKey string) (ordersvc.PlaceResult, error)
	Cancel(ctx context.Context, id string) (ordersvc.CancelResult, error)
	Get(ctx context.Context, id string) (ordersvc.OrderView, error)
	GetAt(ctx context.Context, id string, at time.Time) (ordersvc.OrderView, error)
	Events(ctx context.Context, id string) ([]event.Envelope, error)
}

var _ Orders = (*ordersvc.Service)(nil)

// Option configures a Server.
type Option interface{ apply(*Server) }

type optionFunc func(*Server)

func (f optionFunc) apply(s *Server) { f(s) }

// WithLogger sets the logger for failed requests and panics (default:
// discard).
func WithLogger(l *slog.Logger) Option { return optionFunc(func(s *Server) { s.log = l }) }

// WithReadiness sets the check behind GET /readyz: nil error means ready.
// Without it the server is ready as soon as it serves.
func WithReadiness(check func(ctx context.Context) error) Option {
	return optionFunc(func(s *Server) { s.ready = check })
}

// WithStock makes GET /v1/products show live available stock: stock
// returns the available quantity per product id (a product it does not
// list has 0). Without it the catalog's initial stock is shown.
func WithStock(stock func(ctx context.Context) (map[string]int64, error)) Option {
	return optionFunc(func(s *Server) { s.stock = stock })
}

// Server is the HTTP API. It is an http.Handler, safe for concurrent use.
type Server struct {
	orders Orders
	cat    *catalog.Catalog
	log    *slog.Logger
	ready  func(ctx context.Context) error
	stock  func(ctx context.Context) (map[string]int64, error)
	mux    *http.ServeMux

	mailbox   Mailbox                                              // WithMailbox
	summary   func(ctx context.Context) (analytics.Summary, error) // WithAnalytics
	extra     []route                                              // WithRoute
	dlq       DeadLetters                                          // WithDLQ
	readModel ReadModel                                            // WithReadModel

	tracer trace.Tracer // WithTracerProvider; nil: tracing off

	tokens  *TokenSet         // nil: auth off
	authSet bool              // WithAuth or WithoutAuth was given
	access  map[string]Access // pattern → what it requires; see handle
}

// route is a pattern served by a handler, with its declared access.
type route struct {
	pattern string
	access  Access
	h       http.Handler
}

// WithRoute serves pattern (a ServeMux pattern) with h, requiring access:
// how cmd/causeway mounts /metrics (Public()) and routes of other
// packages. New panics if access is the zero Access or the pattern is
// already taken, as ServeMux does for conflicting patterns.
func WithRoute(pattern string, access Access, h http.Handler) Option {
	return optionFunc(func(s *Server) { s.extra = append(s.extra, route{pattern, access, h}) })
}

// New returns the API over orders and the product catalog cat.
func New(orders Orders, cat *catalog.Catalog, opts ...Option) *Server {
	s := &Server{orders: orders, cat: cat, mux: http.NewServeMux(), access: map[string]Access{}}
	for _, o := range opts {
		if o != nil {
			o.apply(s)
		}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if !s.authSet {
		// Secure by default: without an explicit choice every route but
		// the Public ones is denied (401), as WithAuth with no tokens.
		s.log.Warn("httpapi: neither WithAuth nor WithoutAuth given; every non-public route is denied")
		s.tokens = &TokenSet{}
	}
	s.routes()
	return s
}

// routes registers every route with the access it requires. The table
// is the README's "Security" table; a route must name its access here
// (handle panics on a zero Access), and a pattern registered on the mux
// without it is denied by ServeHTTP.
func (s *Server) routes() {
	read, write := Needs(ScopeOrdersRead), Needs(ScopeOrdersWrite)
	s.handle("GET /healthz", Public(), s.healthz)
	s.handle("GET /readyz", Public(), s.readyz)
	s.handle("GET /v1/products", read, s.listProducts)
	s.handle("GET /v1/products/{id}", read, s.getProduct)
	s.handle("POST /v1/orders", write, s.placeOrder)
	s.handle("GET /v1/orders/{id}", read, s.getOrder)
	s.handle("GET /v1/orders/{id}/events", read, s.orderEvents)
	s.handle("POST /v1/orders/{id}/cancel", write, s.cancelOrder)
	if s.mailbox != nil {
		s.handle("GET /v1/mailbox", read, s.listMail)
		s.handle("GET /v1/mailbox/{id}", read, s.getMail)
	}
	if s.summary != nil {
		s.handle("GET /v1/analytics/summary", read, s.analyticsSummary)
	}
	if s.readModel != nil {
		s.readRoutes(read)
	}
	if s.dlq != nil {
		admin := Needs(ScopeAdmin)
		s.handle("GET /v1/dlq", admin, s.listDLQ)
		s.handle("GET /v1/dlq/{id}", admin, s.showDLQ)
		s.handle("POST /v1/dlq/{id}/replay", admin, s.replayDLQ)
		s.handle("POST /v1/dlq/replay", admin, s.replayDLQBulk)
		s.handle("POST /v1/dlq/{id}/discard", admin, s.discardDLQ)
	}
	for _, rt := range s.extra {
		s.handle(rt.pattern, rt.access, rt.h.ServeHTTP)
	}
}

// handle registers h for pattern, requiring access.
func (s *Server) handle(pattern string, access Access, h http.HandlerFunc) {
	if !access.valid() {
		panic(fmt.Sprintf("httpapi: route %q declares no valid access", pattern))
	}
	if _, dup := s.access[pattern]; dup {
		panic(fmt.Sprintf("httpapi: route %q registered twice", pattern))
	}
	s.access[pattern] = access
	s.mux.HandleFunc(pattern, h)
}

// Routes returns every registered pattern with its access, for docs and
// tests.
func (s *Server) Routes() map[string]Access { return maps.Clone(s.access) }

// ServeHTTP routes r, answering unknown routes (404) and wrong methods
// (405) as problem+json, then refuses URIs over MaxURIBytes (414), checks
// the route's access (401, 403; see WithAuth), refuses path segments over
// MaxSegmentBytes (404: no id is that long), and runs the handler, turning
// a panic into a problem+json 500. With WithTracerProvider the request is
// served inside a server span.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.tracer != nil {
		s.serveTraced(w, r)
		return
	}
	s.serve(w, r)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	tw := &trackingWriter{ResponseWriter: w}
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v)
		}
		s.log.ErrorContext(r.Context(), "panic in handler", "method", r.Method, "path", r.URL.Path,
			"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		if !tw.wrote {
			writeProblem(tw, Problem{Status: http.StatusInternalServerError, Detail: "internal error; it has been logged", Instance: r.URL.Path})
		}
	}()
	_, pattern := s.mux.Handler(r)
	if pattern == "" {
		s.noRoute(tw, r)
		return
	}
	// Middleware around the Server (metrics.HTTPMetrics) labels by
	// r.Pattern, also for answers the mux never sees (401, 403, 414).
	r.Pattern = pattern
	if n := len(r.URL.EscapedPath()) + len(r.URL.RawQuery); n > MaxURIBytes {
		writeError(tw, r, s.log, fmt.Errorf("%w: the URI has %d bytes; at most %d", ErrURITooLong, n, MaxURIBytes))
		return
	}
	ar, err := s.authorize(tw, r, pattern)
	if err != nil {
		writeError(tw, r, s.log, err)
		return
	}
	r = ar
	if seg := longSegment(r.URL.Path); seg != "" {
		writeError(tw, r, s.log, fmt.Errorf("%w: no such resource: path segment of %d bytes (at most %d)", ErrNotFound, len(seg), MaxSegmentBytes))
		return
	}
	s.mux.ServeHTTP(tw, r)
}

// noRoute runs the mux's own answer for a request no pattern matches (404,
// 405 with Allow, or a redirect to a cleaned path) and rewrites 404 and
// 405 as problem+json.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{header: http.Header{}}
	h, _ := s.mux.Handler(r)
	h.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusNotFound:
		writeProblem(w, Problem{Status: http.StatusNotFound, Detail: "no such resource: " + clip(r.URL.Path), Instance: r.URL.Path})
	case http.StatusMethodNotAllowed:
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		writeProblem(w, Problem{Status: http.StatusMethodNotAllowed,
			Detail: fmt.Sprintf("method %s not allowed; allowed: %s", clip(r.Method), rec.header.Get("Allow")), Instance: r.URL.Path})
	default:
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body)
	}
}

// trackingWriter remembers whether the response was started, and its
// status code.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
	code  int
}

func (t *trackingWriter) WriteHeader(code int) {
	if !t.wrote {
		t.code = code
	}
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	if !t.wrote {
		t.code = http.StatusOK
	}
	t.wrote = true
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// recorder captures the mux's answer to an unrouted request.
type recorder struct {
	header http.Header
	status int
	body   []byte
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body = append(r.body, b...)
	return len(b), nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.ready != nil {
		if err := s.ready(r.Context()); err != nil {
			writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Detail: "not ready: " + err.Error(), Instance: r.URL.Path})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// Bounds of request URIs.
const (
	// MaxURIBytes bounds the escaped path plus the query (414 beyond).
	MaxURIBytes = 8 << 10
	// MaxSegmentBytes bounds one path segment (404 beyond: no resource has
	// an id that long).
	MaxSegmentBytes = 256
)

// longSegment returns the first segment of path longer than
// MaxSegmentBytes, or "".
func longSegment(path string) string {
	for seg := range strings.SplitSeq(path, "/") {
		if len(seg) > MaxSegmentBytes {
			return seg
		}
	}
	return ""
}
