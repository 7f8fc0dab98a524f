package tracing

import (
	"context"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// HeaderTraceparent is the W3C trace-context header, on HTTP requests and
// on every Kafka record the platform produces.
const HeaderTraceparent = "traceparent"

// Tracer returns tp's tracer for the instrumentation scope name (the
// package path of the instrumented code), or nil when tp is nil or a noop
// provider: the caller then skips instrumentation altogether.
func Tracer(tp trace.TracerProvider, name string) trace.Tracer {
	switch tp.(type) {
	case nil, noop.TracerProvider, *noop.TracerProvider:
		return nil
	}
	return tp.Tracer(name)
}

// ContextFromHeader returns ctx with the remote span context of
// traceparent (a W3C traceparent header value) as parent of the spans
// started from it; ctx unchanged when traceparent is empty or invalid.
func ContextFromHeader(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, oneHeader{HeaderTraceparent: traceparent})
}

// Traceparent returns the W3C traceparent header value of the span context
// in ctx (the current span's, or a remote one), and false when ctx carries
// no valid span context.
func Traceparent(ctx context.Context) (string, bool) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return "", false
	}
	h := oneHeader{}
	propagation.TraceContext{}.Inject(ctx, h)
	v := h[HeaderTraceparent]
	return v, v != ""
}

// oneHeader is a propagation.TextMapCarrier over a map; only traceparent
// is read (tracestate is not carried on the bus).
type oneHeader map[string]string

func (h oneHeader) Get(key string) string { return h[key] }
func (h oneHeader) Set(key, value string) { h[key] = value }
func (h oneHeader) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}
