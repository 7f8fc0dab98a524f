package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/spf13/pflag"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Trace exporters of --trace-exporter.
const (
	TraceExporterNone   = "none"
	TraceExporterStdout = "stdout"
	TraceExporterOTLP   = "otlp"
)

// TracingConfig selects where the OpenTelemetry spans of `up` and `serve`
// go. Tracing is off by default (TraceExporterNone): the components then
// get a noop provider and create no spans.
type TracingConfig struct {
	// Exporter is TraceExporterNone, TraceExporterStdout (one JSON object
	// per span on standard output) or TraceExporterOTLP (OTLP over HTTP).
	Exporter string
	// OTLPEndpoint is the collector's URL (http://host:4318 or https://…;
	// the path defaults to /v1/traces). Empty: the exporter's default,
	// OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT or https://localhost:4318.
	OTLPEndpoint string
	// SampleRatio is the fraction of new traces sampled (0–1); a span with
	// a parent (a traced request, a record's traceparent) follows the
	// parent's decision.
	SampleRatio float64

	// processor, when set (tests), receives every span instead of an
	// exporter; Exporter is then ignored.
	processor sdktrace.SpanProcessor
	// stdout is where the stdout exporter writes (the command's output;
	// nil: os.Stdout).
	stdout io.Writer
}

// DefaultTracingConfig is tracing off, every trace sampled once on.
func DefaultTracingConfig() TracingConfig {
	return TracingConfig{Exporter: TraceExporterNone, SampleRatio: 1}
}

// addTracingFlags adds --trace-exporter, --otlp-endpoint and
// --trace-sample-ratio.
func addTracingFlags(f *pflag.FlagSet, c *TracingConfig) {
	f.StringVar(&c.Exporter, "trace-exporter", c.Exporter, "OpenTelemetry spans: none (off), stdout (JSON lines on standard output) or otlp (OTLP/HTTP to --otlp-endpoint)")
	f.StringVar(&c.OTLPEndpoint, "otlp-endpoint", c.OTLPEndpoint, "OTLP/HTTP collector URL, e.g. http://127.0.0.1:4318 (path default /v1/traces; empty: $OTEL_EXPORTER_OTLP_ENDPOINT or https://localhost:4318)")
	f.Float64Var(&c.SampleRatio, "trace-sample-ratio", c.SampleRatio, "fraction of new traces sampled, 0–1 (spans with a parent follow its decision)")
}

// Validate reports every problem of c, joined.
func (c TracingConfig) Validate() error {
	var errs []error
	switch c.Exporter {
	case TraceExporterNone, TraceExporterStdout, TraceExporterOTLP:
	default:
		errs = append(errs, fmt.Errorf("--trace-exporter %q: want none, stdout or otlp", c.Exporter))
	}
	if c.OTLPEndpoint != "" {
		if _, err := otlpURL(c.OTLPEndpoint); err != nil {
			errs = append(errs, fmt.Errorf("--otlp-endpoint: %w", err))
		}
	}
	if !(c.SampleRatio >= 0 && c.SampleRatio <= 1) {
		errs = append(errs, fmt.Errorf("--trace-sample-ratio %v: want a number from 0 to 1", c.SampleRatio))
	}
	return errors.Join(errs...)
}

// otlpURL checks an --otlp-endpoint and gives it the default path.
func otlpURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q: want an http:// or https:// URL with a host", s)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}

// tracers hands each service of the process its TracerProvider: one per
// service (resource service.name = "<service>-service", so a backend
// shows which service a span is from), all sharing one exporter. A nil
// *tracers is tracing off.
type tracers struct {
	cfg       TracingConfig
	exp       sdktrace.SpanExporter // nil with a test processor
	instance  string
	mu        sync.Mutex // guards providers
	providers map[string]*sdktrace.TracerProvider
}

// newTracers returns nil when tracing is off.
func newTracers(ctx context.Context, c TracingConfig, instance string) (*tracers, error) {
	t := &tracers{cfg: c, instance: instance, providers: map[string]*sdktrace.TracerProvider{}}
	switch {
	case c.processor != nil:
	case c.Exporter == TraceExporterStdout:
		w := c.stdout
		if w == nil {
			w = os.Stdout
		}
		exp, err := stdouttrace.New(stdouttrace.WithWriter(w))
		if err != nil {
			return nil, fmt.Errorf("trace exporter: %w", err)
		}
		t.exp = exp
	case c.Exporter == TraceExporterOTLP:
		var opts []otlptracehttp.Option
		if c.OTLPEndpoint != "" {
			u, err := otlpURL(c.OTLPEndpoint)
			if err != nil {
				return nil, fmt.Errorf("--otlp-endpoint: %w", err)
			}
			opts = append(opts, otlptracehttp.WithEndpointURL(u))
		}
		exp, err := otlptracehttp.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("trace exporter: %w", err)
		}
		t.exp = exp
	default:
		return nil, nil
	}
	return t, nil
}

// Provider returns service's TracerProvider, a noop one when tracing is
// off.
func (t *tracers) Provider(service string) trace.TracerProvider {
	if t == nil {
		return noop.NewTracerProvider()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if tp, ok := t.providers[service]; ok {
		return tp
	}
	name := service
	if !strings.HasSuffix(name, "-service") {
		name += "-service"
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		semconv.ServiceName(name), semconv.ServiceInstanceID(t.instance)))
	if err != nil {
		res = resource.NewSchemaless(semconv.ServiceName(name))
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(t.cfg.SampleRatio))),
	}
	if t.cfg.processor != nil {
		opts = append(opts, sdktrace.WithSpanProcessor(t.cfg.processor))
	} else {
		opts = append(opts, sdktrace.WithBatcher(sharedExporter{t.exp}))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	t.providers[service] = tp
	return tp
}

// Shutdown flushes every provider's spans, then closes the exporter.
func (t *tracers) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for _, tp := range t.providers {
		errs = append(errs, tp.Shutdown(ctx))
	}
	if t.exp != nil {
		errs = append(errs, t.exp.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// sharedExporter lets several providers' batchers share one exporter:
// their Shutdown does not close it (tracers.Shutdown does, last).
type sharedExporter struct{ sdktrace.SpanExporter }

// Shutdown does nothing; see tracers.Shutdown.
func (sharedExporter) Shutdown(context.Context) error { return nil }
