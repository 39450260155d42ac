package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// longStepTemplate's fetch step is a quick (local) action that renders
// 1,500 skeleton files of 5,000 loop iterations each: half a minute of work
// or more, each file well inside its own render budget.
const longStepTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: long-quick-step
spec:
  owner: group:default/team-a
  type: service
  steps:
    - id: fetch
      name: Render a slow skeleton
      action: fetch:template
      input:
        url: ./skeleton
        targetPath: app
    - id: after
      name: After
      action: debug:log
      input:
        message: never reached
`

// getTask reads a task with a short client timeout: the task must answer
// while a step runs.
func getTask(t *testing.T, api, id string, within time.Duration) (taskResp, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", api+"/api/scaffolder/v2/tasks/"+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	var tr taskResp
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return tr, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return tr, fmt.Errorf("GET task: status %d", resp.StatusCode)
	}
	return tr, json.NewDecoder(resp.Body).Decode(&tr)
}

// While a quick step runs for a long time the task stays readable (the
// state query) and cancellable (the cancel signal): neither waits for the
// step.
func TestLongQuickStepReadableAndCancellable(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	skel := filepath.Join(dir, "skeleton")
	if err := os.MkdirAll(skel, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range 1500 {
		body := fmt.Sprintf("file %d\n{%% for i in range(5000) %%}${{ i }}{%% endfor %%}\n", i)
		if err := os.WriteFile(filepath.Join(skel, fmt.Sprintf("f%04d.txt", i)), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "template.yaml"), []byte(longStepTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	// A skeleton this heavy needs a larger rendering budget than the
	// default: the platform team raised it.
	p, _ := startDevWithConfig(t, fmt.Sprintf("catalog:\n  locations:\n    - type: file\n      target: %s\nscaffolder:\n  limits: {renderTimeout: 5m, maxIterations: 100000000, maxOutputBytes: 536870912}\n", filepath.Join(dir, "template.yaml")))
	waitTotal(t, p.api, "kind=template", 1)

	var c struct{ ID string }
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/long-quick-step", "values": map[string]any{}}, &c); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	// The task must answer every read within 2 s (1 s is the promise; the
	// margin is for a busy machine), from its start on.
	const answerWithin = 2 * time.Second
	deadline := time.Now().Add(60 * time.Second)
	for {
		tr, err := getTask(t, p.api, c.ID, answerWithin)
		if err != nil {
			t.Fatalf("reading the task while its step starts: %v", err)
		}
		if tr.Status != "processing" {
			t.Fatalf("the task ended before it could be cancelled: %+v", tr)
		}
		if tr.Steps[0].Status == "processing" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("step fetch never started: %+v", tr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Keep reading for a few seconds of the step.
	for range 6 {
		tr, err := getTask(t, p.api, c.ID, answerWithin)
		if err != nil {
			t.Fatalf("reading the task during the long step: %v", err)
		}
		if tr.Status != "processing" || tr.Steps[0].Status != "processing" {
			t.Fatalf("the step ended too soon for this test: %+v", tr)
		}
		time.Sleep(500 * time.Millisecond)
	}
	var e apiError
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks/"+c.ID+"/cancel", nil, &e); code != http.StatusOK {
		t.Fatalf("cancel during the long step: %d %+v", code, e)
	}
	// The cancel takes effect while the step would still be running.
	deadline = time.Now().Add(5 * time.Second)
	for {
		tr, err := getTask(t, p.api, c.ID, answerWithin)
		if err != nil {
			t.Fatalf("reading the task after the cancel: %v", err)
		}
		if tr.Status == "cancelled" {
			if tr.Steps[0].Status != "cancelled" || tr.Steps[1].Status != "open" {
				t.Fatalf("cancelled task: %+v", tr)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cancel did not take effect within 5s: %+v", tr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(eventText(t, p.api, c.ID), "never reached") {
		t.Fatal("a step after the cancelled one ran")
	}
}
