package httpapi

import (
	"fmt"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/causeway-dev/causeway/tracing"
)

// tracerName is the instrumentation scope of the API's spans.
const tracerName = "github.com/causeway-dev/causeway/internal/httpapi"

// WithTracerProvider makes the server start a server span per request,
// named after its route ("POST /v1/orders"; the method alone for a request
// no route matches), a child of the request's W3C traceparent header when
// it has a valid one. Handlers run in the span's context: the order
// service writes it into the outbox rows of the events a request raises,
// so the trace goes on across Kafka. nil or a noop provider, the default,
// turns tracing off.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(s *Server) { s.tracer = tracing.Tracer(tp, tracerName) })
}

// serveTraced serves r inside a server span.
func (s *Server) serveTraced(w http.ResponseWriter, r *http.Request) {
	ctx := tracing.ContextFromHeader(r.Context(), r.Header.Get(tracing.HeaderTraceparent))
	ctx, span := s.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			semconv.HTTPRequestMethodKey.String(r.Method),
			semconv.URLPath(clip(r.URL.Path)),
		))
	r = r.WithContext(ctx)
	tw := &trackingWriter{ResponseWriter: w}
	defer func() {
		if r.Pattern != "" {
			span.SetName(r.Pattern)
			span.SetAttributes(semconv.HTTPRoute(r.Pattern))
		}
		if p := recover(); p != nil {
			span.SetStatus(codes.Error, fmt.Sprint("panic: ", p))
			span.End()
			panic(p)
		}
		code := tw.code
		if code == 0 {
			code = http.StatusOK
		}
		span.SetAttributes(semconv.HTTPResponseStatusCode(code))
		if code >= 500 {
			span.SetStatus(codes.Error, http.StatusText(code))
		}
		span.End()
	}()
	s.serve(tw, r)
}

// spanAttributes adds attributes to the request's span (a no-op when
// tracing is off).
func spanAttributes(r *http.Request, kv ...attribute.KeyValue) {
	if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
		span.SetAttributes(kv...)
	}
}
