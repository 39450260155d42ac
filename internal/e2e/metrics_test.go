package e2e

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// A rigger dev with server.metricsListen serves Prometheus metrics on that
// listener only: a run of a template shows in the task, step, HTTP,
// catalog refresh and Temporal SDK series.
func TestMetricsListener(t *testing.T) {
	needBinary(t)
	tpl := writeHelloFiles(t)
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePorts(t).api)
	p, _ := startDevWithConfig(t, fmt.Sprintf("server:\n  metricsListen: %s\n", metricsAddr)+helloFilesLocation(tpl))
	waitTotal(t, p.api, "kind=template", 1)
	if !strings.Contains(p.stdout.String(), "Metrics:         http://"+metricsAddr+"/metrics") {
		t.Errorf("the ready message does not name the metrics URL:\n%s", p.stdout.String())
	}

	var created struct{ ID string }
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/hello-files",
		"values": map[string]any{"name": "measured", "wait": 1}}, &created); code != http.StatusCreated {
		t.Fatalf("create task: %d", code)
	}
	if got := waitTask(t, p.api, created.ID); got.Status != "completed" {
		t.Fatalf("task ended %s: %+v", got.Status, got)
	}

	res, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", res.StatusCode, body)
	}
	text := string(body)
	value := func(series string) float64 {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(text)
		if m == nil {
			t.Errorf("no series %s", series)
			return 0
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	tpl1 := `template="template:default/hello-files"`
	if v := value(`rigger_tasks_started_total{` + tpl1 + `}`); v != 1 {
		t.Errorf("tasks started = %v, want 1", v)
	}
	if v := value(`rigger_tasks_ended_total{outcome="completed",` + tpl1 + `}`); v != 1 {
		t.Errorf("tasks completed = %v, want 1", v)
	}
	// debug:wait is a workflow timer, not a step a worker runs.
	for _, action := range []string{"fetch:template", "fs:write", "debug:log"} {
		if v := value(`rigger_step_duration_seconds_count{action="` + action + `",outcome="ok"}`); v != 1 {
			t.Errorf("%s steps = %v, want 1", action, v)
		}
	}
	if v := value(`rigger_http_request_duration_seconds_count{method="POST",route="/api/scaffolder/v2/tasks",status="201"}`); v != 1 {
		t.Errorf("POST /v2/tasks requests = %v, want 1", v)
	}
	if v := value(`rigger_catalog_refresh_duration_seconds_count{outcome="ok"}`); v < 1 {
		t.Errorf("catalog refreshes = %v, want at least 1", v)
	}
	if !regexp.MustCompile(`(?m)^temporal_\w+\{.*task_queue="rigger-default"`).MatchString(text) {
		t.Errorf("no Temporal SDK series for the rigger-default queue")
	}
	if !regexp.MustCompile(`(?m)^process_resident_memory_bytes `).MatchString(text) {
		t.Errorf("no process metrics")
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", text)
	}
	// The API's listener does not serve them: it has no such route.
	res, err = http.Get(p.api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if strings.Contains(string(b), "rigger_tasks_started_total") {
		t.Errorf("the API listener serves the metrics")
	}
}
