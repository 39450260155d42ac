// Package metrics is what a Rigger process tells Prometheus: HTTP requests
// by route and status, tasks by template and outcome, steps by action and
// outcome, catalog refreshes, docs builds, and the Temporal SDK's own
// metrics. Each process makes one Metrics and hands it to the parts that
// record (a nil *Metrics records nothing, so tests and tools need none);
// Serve exposes it on its own listener (server.metricsListen), apart from
// the API: scrapes need no token and the API's routes stay behind auth.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds one process's metrics.
type Metrics struct {
	reg            *prometheus.Registry
	httpDuration   *prometheus.HistogramVec
	tasksStarted   *prometheus.CounterVec
	tasksEnded     *prometheus.CounterVec
	stepDuration   *prometheus.HistogramVec
	refreshSeconds *prometheus.HistogramVec
	refreshEntites *prometheus.CounterVec
	docsBuilds     *prometheus.HistogramVec
	sdk            *sdkCollector
}

// Outcome labels.
const (
	OK     = "ok"
	Failed = "failed"
)

// New makes a process's metrics, with the Go runtime's and the process's
// own (memory, CPU, file descriptors).
func New() *Metrics {
	slow := []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rigger_http_request_duration_seconds", Help: "API and UI requests by route pattern, method and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
		tasksStarted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rigger_tasks_started_total", Help: "Scaffolder tasks created, by template.",
		}, []string{"template"}),
		tasksEnded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rigger_tasks_ended_total", Help: "Scaffolder runs that ended, by template and outcome (completed, failed, cancelled).",
		}, []string{"template", "outcome"}),
		stepDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rigger_step_duration_seconds", Help: "Scaffolder steps run by this worker, by action and outcome (ok, failed).",
			Buckets: append([]float64{.001, .005, .01, .025}, slow...),
		}, []string{"action", "outcome"}),
		refreshSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rigger_catalog_refresh_duration_seconds", Help: "Catalog location refreshes, by outcome (ok, failed).",
			Buckets: append([]float64{.01, .025}, slow...),
		}, []string{"outcome"}),
		refreshEntites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rigger_catalog_refresh_entities_total", Help: "Entities catalog refreshes wrote, by change (inserted, updated, unchanged, removed).",
		}, []string{"change"}),
		docsBuilds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rigger_docs_build_duration_seconds", Help: "Docs site builds, by outcome (ok, unchanged, failed).",
			Buckets: append([]float64{.01, .025}, slow...),
		}, []string{"outcome"}),
		sdk: newSDKCollector(),
	}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpDuration, m.tasksStarted, m.tasksEnded, m.stepDuration, m.refreshSeconds, m.refreshEntites, m.docsBuilds, m.sdk)
	return m
}

// Handler serves the metrics in Prometheus' text format (and OpenMetrics
// when a scraper asks).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{EnableOpenMetrics: true, ErrorHandling: promhttp.ContinueOnError})
}

// HTTPRequest records one request: route is the matched pattern
// (/api/catalog/entities/by-name/:kind/:namespace/:name), never the path,
// so the series stay few; "" (nothing matched) counts as "unmatched".
func (m *Metrics) HTTPRequest(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.httpDuration.WithLabelValues(route, methodLabel(method), strconv.Itoa(status)).Observe(d.Seconds())
}

// methodLabel keeps the method label to HTTP's methods: any token a client
// sends is a method to net/http, and each would be a new series.
func methodLabel(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return m
	}
	return "other"
}

// TaskStarted counts a created task of template (a template ref).
func (m *Metrics) TaskStarted(template string) {
	if m != nil {
		m.tasksStarted.WithLabelValues(template).Inc()
	}
}

// TaskEnded counts a run of template that ended with outcome.
func (m *Metrics) TaskEnded(template, outcome string) {
	if m != nil {
		m.tasksEnded.WithLabelValues(template, outcome).Inc()
	}
}

// Step records one step's run of action.
func (m *Metrics) Step(action string, err error, d time.Duration) {
	if m != nil {
		m.stepDuration.WithLabelValues(action, outcome(err)).Observe(d.Seconds())
	}
}

// Refresh records one location refresh and what it did with its entities.
func (m *Metrics) Refresh(err error, d time.Duration, inserted, updated, unchanged, removed int) {
	if m == nil {
		return
	}
	m.refreshSeconds.WithLabelValues(outcome(err)).Observe(d.Seconds())
	for change, n := range map[string]int{"inserted": inserted, "updated": updated, "unchanged": unchanged, "removed": removed} {
		m.refreshEntites.WithLabelValues(change).Add(float64(n))
	}
}

// Docs build outcomes besides OK and Failed.
const Unchanged = "unchanged"

// DocsBuild records one docs build: OK (a site was stored), Unchanged (its
// source had not changed) or Failed.
func (m *Metrics) DocsBuild(outcome string, d time.Duration) {
	if m != nil {
		m.docsBuilds.WithLabelValues(outcome).Observe(d.Seconds())
	}
}

func outcome(err error) string {
	if err != nil {
		return Failed
	}
	return OK
}

// Serve serves the metrics at /metrics on addr until ctx ends; it returns
// once the listener is bound (an address that cannot be bound is an
// error), and the address it bound.
func (m *Metrics) Serve(ctx context.Context, addr string, logger *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("server.metricsListen: cannot listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener stopped", "error", err)
		}
	}()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	return ln.Addr().String(), nil
}
