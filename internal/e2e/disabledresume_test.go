package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDisabledWhileWaiting: a task waits at its approval step; a live
// reload of rigger.yaml switches off debug:log, the action of the step
// after the approval; approved, the task fails at that step with an error
// naming the action and scaffolder.disabledActions (in the step and in
// the task's events) instead of running it. A new task of the template is
// refused at creation, as before.
func TestDisabledWhileWaiting(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	cfg := templateConfig(t, dir, fmt.Sprintf(approvalTemplate, "gated-self", true), "auth:\n  devGuestGroups: [group:default/platform]\n")
	original, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := startDevOn(t, dir, cfg, freePorts(t))
	waitTotal(t, p.api, "kind=template", 1)
	body := map[string]any{"templateRef": "template:default/gated-self", "values": map[string]any{"name": "svc"}}
	var created struct{ ID string }
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", body, &created); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	var tr approvalTask
	deadline := time.Now().Add(60 * time.Second)
	for {
		if code := doJSON(t, "GET", p.api+"/api/scaffolder/v2/tasks/"+created.ID, nil, &tr); code != http.StatusOK {
			t.Fatalf("get task: %d", code)
		}
		if tr.Approval != nil || tr.Status != "processing" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the task never waited for its approval: %+v", tr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if tr.Approval == nil || tr.Steps[0].Status != "completed" {
		t.Fatalf("waiting task: %+v", tr)
	}

	// The reload, while the task waits.
	replaceFile(t, cfg, strings.Replace(string(original), "scaffolder:\n", "scaffolder:\n  disabledActions: [debug:log]\n", 1))
	deadline = time.Now().Add(60 * time.Second)
	for !strings.Contains(p.stderr.String(), `"generation":2`) {
		if time.Now().After(deadline) {
			t.Fatalf("no reload within 60s; stderr:\n%s", tail(p.stderr.String(), 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
	var e struct{ Error struct{ Message string } }
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", body, &e); code != http.StatusBadRequest || !strings.Contains(e.Error.Message, "debug:log") {
		t.Fatalf("a new task after the reload: %d %q", code, e.Error.Message)
	}

	var out map[string]any
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks/"+created.ID+"/approve", map[string]any{"requestId": tr.Approval.RequestID, "comment": "go"}, &out); code != http.StatusOK {
		t.Fatalf("approve: %d %v", code, out)
	}
	end := waitTask(t, p.api, created.ID)
	events := eventText(t, p.api, created.ID)
	if end.Status != "failed" || len(end.Steps) != 3 || end.Steps[1].Status != "completed" || end.Steps[2].Status != "failed" {
		t.Fatalf("the approved task after the reload: %+v\n%s", end, events)
	}
	for _, want := range []string{"action debug:log is disabled", "scaffolder.disabledActions", "step after of task " + created.ID} {
		if !strings.Contains(end.Steps[2].Error, want) || !strings.Contains(events, want) {
			t.Errorf("the failed step (%q) or the events do not say %q:\n%s", end.Steps[2].Error, want, events)
		}
	}
	if strings.Contains(events, "after, approved by") {
		t.Errorf("the disabled step ran:\n%s", events)
	}
}

// callbackTemplate waits for a callback between two debug:log steps.
const callbackTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: called-back}
spec:
  owner: group:default/platform
  type: service
  steps:
    - {id: before, name: Before, action: debug:log, input: {message: before}}
    - id: called
      name: Wait for the ticket system
      action: rigger:wait-for
      input: {for: callback, timeout: 1d}
    - {id: after, name: After, action: debug:log, input: {message: "after the callback"}}
`

// TestDisabledWhileWaitingOnAWorker: rigger server and rigger worker, each
// with its own rigger.yaml; a task waits for a callback; only the
// worker's file is changed to switch debug:log off (the server, which
// does not run steps, still has it on). Called back, the task fails at
// its next debug:log step with the worker's refusal: a worker checks its
// own live set, it does not depend on the API's.
func TestDisabledWhileWaitingOnAWorker(t *testing.T) {
	needBinary(t)
	_, addr := startTemporalOnly(t, t.TempDir())
	dir := t.TempDir()
	tpl := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(tpl, []byte(callbackTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("server:\n  dataDir: %s\nscaffolder:\n  templates: [%s]\n  runSigningKey: %s\ncatalog: {examples: []}\n"+
		"auth:\n  serviceTokens:\n    - {name: sw, token: %s, scopes: [\"*\"]}\n", filepath.Join(dir, "data"), tpl, testRunSigningKey, benchToken)
	cfgW, cfgS := filepath.Join(dir, "worker.yaml"), filepath.Join(dir, "server.yaml")
	for _, f := range []string{cfgW, cfgS} {
		if err := os.WriteFile(f, []byte(base), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	w := startBin(t, riggerBin, dir, cleanEnv("RIGGER_CONFIG="+cfgW, "RIGGER_TEMPORAL_ADDRESS="+addr), "worker", "--queue", "rigger-default")
	w.waitStdout(t, "Rigger worker is ready", 60*time.Second)
	api := freePorts(t).api
	s := startBin(t, riggerBin, dir, cleanEnv("RIGGER_CONFIG="+cfgS, "RIGGER_TEMPORAL_ADDRESS="+addr), "server", "--listen", fmt.Sprintf("127.0.0.1:%d", api))
	s.api = fmt.Sprintf("http://127.0.0.1:%d", api)
	s.waitReady(t, 60*time.Second)

	// The server registers the template at start: create once it has.
	var created struct{ ID string }
	deadline := time.Now().Add(60 * time.Second)
	for {
		code := doJSONAs(t, benchToken, "POST", s.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/called-back", "values": map[string]any{}}, &created)
		if code == http.StatusCreated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("create: %d", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var tr waitTaskResp
	deadline = time.Now().Add(60 * time.Second)
	for {
		if code := doJSONAs(t, benchToken, "GET", s.api+"/api/scaffolder/v2/tasks/"+created.ID, nil, &tr); code != http.StatusOK {
			t.Fatalf("get task: %d", code)
		}
		if len(tr.Steps) > 1 && tr.Steps[1].Wait != nil || tr.Status != "processing" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the task never waited for its callback: %+v", tr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if tr.Status != "processing" || tr.Steps[0].Status != "completed" {
		t.Fatalf("waiting task: %+v", tr)
	}

	replaceFile(t, cfgW, strings.Replace(base, "scaffolder:\n", "scaffolder:\n  disabledActions: [debug:log]\n", 1))
	deadline = time.Now().Add(60 * time.Second)
	for !strings.Contains(w.stderr.String(), `"generation":2`) {
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not reload within 60s; stderr:\n%s", tail(w.stderr.String(), 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
	req, _ := http.NewRequest("POST", s.api+tr.Steps[1].Wait.CallbackPath, strings.NewReader(`{"ticket":"T-1"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		t.Fatalf("callback: %d", resp.StatusCode)
	}
	end := waitTaskAs(t, benchToken, s.api, created.ID)
	events := eventTextAs(t, benchToken, s.api, created.ID)
	if end.Status != "failed" || len(end.Steps) != 3 || end.Steps[2].Status != "failed" ||
		!strings.Contains(end.Steps[2].Error, "action debug:log is disabled") || !strings.Contains(end.Steps[2].Error, "scaffolder.disabledActions") {
		t.Fatalf("the called-back task after the worker's reload: %+v\n%s", end, events)
	}
	if strings.Contains(events, "after the callback") {
		t.Errorf("the disabled step ran:\n%s", events)
	}
}
