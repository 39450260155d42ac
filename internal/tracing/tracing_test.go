package tracing

import (
	"context"
	"strings"
	"testing"
)

func TestNewRefusesWhatIsNotACollectorURL(t *testing.T) {
	for _, e := range []string{"", "otel:4318", "ftp://otel:4318", "http://", "://x"} {
		if _, err := New(context.Background(), Options{Endpoint: e, SampleRatio: 1, Service: "rigger-test"}); err == nil || !strings.Contains(err.Error(), "tracing.endpoint") {
			t.Errorf("endpoint %q: %v, want an error naming tracing.endpoint", e, err)
		}
	}
}

// Off (a nil *Tracing) traces nothing and wires no interceptor.
func TestOff(t *testing.T) {
	var tr *Tracing
	if tr.Enabled() {
		t.Fatal("a nil Tracing is enabled")
	}
	if i, err := tr.Interceptor(); i != nil || err != nil {
		t.Fatalf("interceptor when off: %v %v", i, err)
	}
	_, span := tr.Tracer().Start(context.Background(), "x")
	if span.SpanContext().IsValid() {
		t.Fatal("a span was recorded with tracing off")
	}
	span.End()
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestOnMakesAnInterceptor(t *testing.T) {
	tr, err := New(context.Background(), Options{Endpoint: "http://127.0.0.1:1", SampleRatio: 1, Service: "rigger-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	if !tr.Enabled() {
		t.Fatal("not enabled")
	}
	if i, err := tr.Interceptor(); i == nil || err != nil {
		t.Fatalf("interceptor: %v %v", i, err)
	}
	_, span := tr.Tracer().Start(context.Background(), "x")
	if !span.SpanContext().IsValid() {
		t.Fatal("no span recorded with tracing on")
	}
	span.End()
}
