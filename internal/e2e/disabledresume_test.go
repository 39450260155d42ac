package e2e

import (
	"fmt"
	"net/http"
	"os"
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
