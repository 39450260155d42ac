// Package tracing sends OpenTelemetry traces over OTLP/HTTP when
// tracing.endpoint is set (off by default). A trace follows one request
// from the API through the workflow it starts to the activities that run
// its steps: the API's span is the parent of Temporal's StartWorkflow span,
// whose context travels in the workflow's headers to the workers
// (go.temporal.io/sdk/contrib/opentelemetry's interceptor), and steps tag
// their spans with the task, template, step and action. An incoming W3C
// traceparent header continues the caller's trace.
package tracing

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// Attribute keys Rigger sets on spans.
const (
	TaskID   = attribute.Key("rigger.task_id")
	Template = attribute.Key("rigger.template")
	StepID   = attribute.Key("rigger.step_id")
	Action   = attribute.Key("rigger.action")
)

// Options configure the exporter.
type Options struct {
	// Endpoint is the OTLP/HTTP collector's base URL
	// (http://otel-collector:4318); traces go to <Endpoint>/v1/traces.
	Endpoint string
	// SampleRatio is the share of new traces kept (0..1); a request that
	// arrives with a sampled traceparent is always kept.
	SampleRatio float64
	// Service names the process (rigger-server, rigger-worker, rigger-dev).
	Service string
	// BatchTimeout bounds how long a finished span waits to be sent
	// [5s].
	BatchTimeout time.Duration
}

// Tracing is one process's tracer; the zero value (and a nil *Tracing)
// traces nothing.
type Tracing struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
}

// Propagator reads and writes W3C trace context and baggage.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// New starts the exporter; Shutdown flushes it.
func New(ctx context.Context, o Options) (*Tracing, error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tracing.endpoint %q is not an http(s) URL of an OTLP/HTTP collector (like http://otel-collector:4318)", o.Endpoint)
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(u.JoinPath("v1", "traces").String())}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	res, err := resource.New(ctx, resource.WithAttributes(attribute.String("service.name", o.Service)))
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	batch := o.BatchTimeout
	if batch <= 0 {
		batch = 5 * time.Second
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(batch)),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(o.SampleRatio))),
	)
	return &Tracing{provider: tp, tracer: tp.Tracer("github.com/riggerdev/rigger")}, nil
}

// Tracer is the tracer spans start from (a no-op one when off).
func (t *Tracing) Tracer() trace.Tracer {
	if t == nil || t.tracer == nil {
		return noop.NewTracerProvider().Tracer("")
	}
	return t.tracer
}

// Enabled says whether spans are exported.
func (t *Tracing) Enabled() bool { return t != nil && t.provider != nil }

// Interceptor is the Temporal client (and so worker) interceptor that
// carries the trace through workflows and activities; nil when off.
func (t *Tracing) Interceptor() (interceptor.Interceptor, error) {
	if !t.Enabled() {
		return nil, nil
	}
	return temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{Tracer: t.tracer, TextMapPropagator: Propagator})
}

// Shutdown sends what is buffered and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// Tag sets attributes on the span in ctx (none when off or outside one).
func Tag(ctx context.Context, kv ...attribute.KeyValue) {
	trace.SpanFromContext(ctx).SetAttributes(kv...)
}
