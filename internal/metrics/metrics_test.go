package metrics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func TestRecorded(t *testing.T) {
	m := New()
	m.HTTPRequest("/api/catalog/entities", "GET", 200, 3*time.Millisecond)
	m.HTTPRequest("", "GET", 404, time.Millisecond)
	m.HTTPRequest("", "M000001", 404, time.Millisecond)
	m.HTTPRequest("", "M000002", 404, time.Millisecond)
	m.TaskStarted("template:default/a")
	m.TaskEnded("template:default/a", "failed")
	m.Step("fs:write", nil, time.Millisecond)
	m.Step("fs:write", errors.New("no"), time.Millisecond)
	m.Refresh(nil, time.Second, 2, 1, 5, 0)
	m.DocsBuild(Unchanged, 10*time.Millisecond)
	text := scrape(t, m)
	for _, want := range []string{
		`rigger_http_request_duration_seconds_count{method="GET",route="/api/catalog/entities",status="200"} 1`,
		`rigger_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 1`,
		`rigger_http_request_duration_seconds_count{method="other",route="unmatched",status="404"} 2`,
		`rigger_tasks_started_total{template="template:default/a"} 1`,
		`rigger_tasks_ended_total{outcome="failed",template="template:default/a"} 1`,
		`rigger_step_duration_seconds_count{action="fs:write",outcome="ok"} 1`,
		`rigger_step_duration_seconds_count{action="fs:write",outcome="failed"} 1`,
		`rigger_catalog_refresh_entities_total{change="unchanged"} 5`,
		`rigger_catalog_refresh_entities_total{change="inserted"} 2`,
		`rigger_docs_build_duration_seconds_count{outcome="unchanged"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

// The SDK tags one name with different tag sets; the family is exposed
// with the union of its tags, and the scrape stays valid.
func TestTemporalHandler(t *testing.T) {
	m := New()
	h := m.Temporal().WithTags(map[string]string{"namespace": "default"})
	h.WithTags(map[string]string{"task_queue": "q"}).Counter("temporal_request").Inc(2)
	h.Counter("temporal_request").Inc(1)
	h.WithTags(map[string]string{"task_queue": "q"}).Counter("temporal_request").Inc(1)
	h.Gauge("temporal_num_pollers").Update(4)
	h.Timer("temporal_request_latency").Record(20 * time.Millisecond)
	h.Timer("temporal_request_latency").Record(2 * time.Second)
	text := scrape(t, m)
	for _, want := range []string{
		`temporal_request{namespace="default",task_queue="q"} 3`,
		`temporal_request{namespace="default",task_queue=""} 1`,
		`temporal_num_pollers{namespace="default"} 4`,
		`temporal_request_latency_seconds_bucket{namespace="default",le="0.025"} 1`,
		`temporal_request_latency_seconds_bucket{namespace="default",le="2.5"} 2`,
		`temporal_request_latency_seconds_count{namespace="default"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %q\n%s", want, text)
		}
	}
	if strings.Contains(text, "error") {
		t.Errorf("scrape reports an error:\n%s", text)
	}
}

// A nil *Metrics records nothing and gives the SDK a no-op handler.
func TestNil(t *testing.T) {
	var m *Metrics
	m.HTTPRequest("/x", "GET", 200, time.Millisecond)
	m.TaskStarted("t")
	m.TaskEnded("t", "completed")
	m.Step("a", nil, time.Millisecond)
	m.Refresh(nil, time.Millisecond, 0, 0, 0, 0)
	m.DocsBuild(OK, time.Millisecond)
	m.Temporal().Counter("x").Inc(1)
}

func TestServe(t *testing.T) {
	m := New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	addr, err := m.Serve(ctx, "127.0.0.1:0", logger)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "process_") && !strings.Contains(string(body), "go_") {
		t.Fatalf("GET /metrics: %d", res.StatusCode)
	}
	if res, err := http.Get("http://" + addr + "/other"); err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET /other: %d, want 404", res.StatusCode)
		}
	}
	if _, err := m.Serve(ctx, addr, logger); err == nil || !strings.Contains(err.Error(), "server.metricsListen") {
		t.Errorf("a taken address: %v", err)
	}
}
