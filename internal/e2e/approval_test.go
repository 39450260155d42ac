package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// approvalTemplate asks for an approval between two steps; its owners
// (group:default/platform) decide. %s is its name, %t whether the task's
// creator may approve it.
const approvalTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: %s}
spec:
  owner: group:default/platform
  type: service
  parameters:
    - properties:
        name: {type: string}
  steps:
    - {id: before, name: Before, action: debug:log, input: {message: "before ${{ parameters.name }}"}}
    - id: gate
      name: Approve the deploy
      action: rigger:approval
      input:
        message: "Deploy ${{ parameters.name }}?"
        timeout: 48h
        allowSelfApproval: %t
    - {id: after, name: After, action: debug:log, input: {message: "after, approved by ${{ steps.gate.output.by }}"}}
`

type approvalTask struct {
	Status   string `json:"status"`
	Approval *struct {
		StepID    string `json:"stepId"`
		RequestID string `json:"requestId"`
		Message   string `json:"message"`
		CanDecide bool   `json:"canDecide"`
	} `json:"approval"`
	Steps []struct {
		ID, Status string
		Approval   *struct{ Decision, DecidedBy, Comment string }
	} `json:"steps"`
}

// TestApprovalStep: in rigger dev with the default policy, a run waits at
// its approval step holding no worker, across a SIGKILL and restart; a
// caller the policy does not allow gets 403 and the task's creator cannot
// approve their own run unless the step allows it; the template's owner
// approves, and the run goes on, with the decision audited.
func TestApprovalStep(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	cfg := templateConfig(t, dir, fmt.Sprintf(approvalTemplate, "gated", false)+"---\n"+fmt.Sprintf(approvalTemplate, "gated-self", true), fmt.Sprintf(`auth:
  devGuestGroups: [group:default/platform]
  serviceTokens:
    - {name: ci, token: %s, scopes: [scaffolder.run]}
`, runOnlyToken))
	ps := freePorts(t)
	dev := func() *proc { return startDevOn(t, dir, cfg, ps) }
	p := dev()
	waitTotal(t, p.api, "kind=template", 2)
	create := func(token string, self bool) string {
		var created struct{ ID string }
		name := "gated"
		if self {
			name = "gated-self"
		}
		body := map[string]any{"templateRef": "template:default/" + name, "values": map[string]any{"name": "svc"}}
		if code := doJSONAs(t, token, "POST", p.api+"/api/scaffolder/v2/tasks", body, &created); code != http.StatusCreated {
			t.Fatalf("create as %q: %d", token, code)
		}
		return created.ID
	}
	waiting := func(token, id string) approvalTask {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			var tr approvalTask
			if code := doJSONAs(t, token, "GET", p.api+"/api/scaffolder/v2/tasks/"+id, nil, &tr); code != http.StatusOK {
				t.Fatalf("get task %s: %d", id, code)
			}
			if tr.Approval != nil || tr.Status != "processing" {
				return tr
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %s never waited for its approval: %+v", id, tr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	decideOn := func(token, id, request, what, comment string) (int, string) {
		var out map[string]any
		code := doJSONAs(t, token, "POST", p.api+"/api/scaffolder/v2/tasks/"+id+"/"+what, map[string]any{"requestId": request, "comment": comment}, &out)
		return code, fmt.Sprint(out)
	}
	// decide decides on what the task waits for now, as a page shows it.
	decide := func(token, id, what, comment string) (int, string) {
		request := ""
		if tr := waiting(token, id); tr.Approval != nil {
			request = tr.Approval.RequestID
		}
		return decideOn(token, id, request, what, comment)
	}

	// The CI service starts the run; the dev guest (a platform member, the
	// template's owner) decides on it.
	id := create(runOnlyToken, false)
	tr := waiting("", id)
	if tr.Approval == nil || tr.Approval.StepID != "gate" || tr.Approval.Message != "Deploy svc?" || !tr.Approval.CanDecide || tr.Steps[0].Status != "completed" {
		t.Fatalf("waiting task for the template's owner: %+v", tr)
	}
	if tr := waiting(runOnlyToken, id); tr.Approval == nil || tr.Approval.CanDecide {
		t.Fatalf("the service that started it may not decide: %+v", tr.Approval)
	}
	if code, out := decideOn(runOnlyToken, id, tr.Approval.RequestID, "approve", "mine"); code != http.StatusForbidden || !strings.Contains(out, "a service token, which cannot approve") {
		t.Fatalf("approve by a service token: %d %s", code, out)
	}
	if code, out := decideOn("", id, "", "approve", ""); code != http.StatusBadRequest || !strings.Contains(out, "send the requestId") {
		t.Fatalf("approve without naming the request: %d %s", code, out)
	}
	if code, out := decideOn("", id, "gate.0.1", "approve", ""); code != http.StatusConflict || !strings.Contains(out, "no longer waits for approval gate.0.1") {
		t.Fatalf("approve another request: %d %s", code, out)
	}

	// SIGKILL while it waits; the restarted platform still waits.
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 10*time.Second)
	p = dev()
	if tr := waiting("", id); tr.Approval == nil || tr.Status != "processing" {
		t.Fatalf("after the restart: %+v", tr)
	}
	if code, out := decide("", id, "approve", "ship it"); code != http.StatusOK || !strings.Contains(out, "approved") {
		t.Fatalf("approve by the template's owner: %d %s", code, out)
	}
	if tr := waitTask(t, p.api, id); tr.Status != "completed" {
		t.Fatalf("approved task: %+v", tr)
	}
	events := eventText(t, p.api, id)
	if !strings.Contains(events, "Approved by user:default/guest: ship it") || !strings.Contains(events, "after, approved by user:default/guest") {
		t.Errorf("the approved run's log: %s", events)
	}
	if code, out := decideOn("", id, "x", "approve", ""); code != http.StatusConflict {
		t.Errorf("deciding on a finished task: %d %s", code, out)
	}

	// The guest started this one: its own approval is refused unless the
	// step allows self-approval; rejecting is a decision too, and fails it.
	own := create("", false)
	waiting("", own)
	if code, out := decide("", own, "approve", ""); code != http.StatusForbidden || !strings.Contains(out, "needs someone else's approval") {
		t.Fatalf("self-approval: %d %s", code, out)
	}
	self := create("", true)
	waiting("", self)
	if code, out := decide("", self, "reject", "not today"); code != http.StatusOK {
		t.Fatalf("reject with self-approval allowed: %d %s", code, out)
	}
	var rejected approvalTask
	deadline := time.Now().Add(60 * time.Second)
	for doJSON(t, "GET", p.api+"/api/scaffolder/v2/tasks/"+self, nil, &rejected) == http.StatusOK && rejected.Status == "processing" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if rejected.Status != "failed" || rejected.Steps[1].Approval == nil || rejected.Steps[1].Approval.Decision != "rejected" || rejected.Steps[1].Approval.DecidedBy != "user:default/guest" {
		t.Fatalf("rejected task: %+v", rejected)
	}
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks/"+own+"/cancel", nil, nil); code != http.StatusOK {
		t.Errorf("cancel the waiting task: %d", code)
	}

	// Audited: the approval and the rejection, with their step (the audit
	// log writes in batches: poll).
	type auditPage struct {
		Items []struct {
			Event struct {
				Action, Actor, Target string
				Details               map[string]string
			} `json:"event"`
		} `json:"items"`
	}
	auditEvents := func(action string) auditPage {
		var page auditPage
		deadline := time.Now().Add(10 * time.Second)
		for {
			page = auditPage{}
			if code := doJSON(t, "GET", p.api+"/api/audit/events?action="+action, nil, &page); code != http.StatusOK {
				t.Fatalf("audit events: %d", code)
			}
			if len(page.Items) > 0 || time.Now().After(deadline) {
				return page
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if a := auditEvents("scaffolder.task.approve"); len(a.Items) != 1 || a.Items[0].Event.Target != "task:"+id ||
		a.Items[0].Event.Details["step"] != "gate" || a.Items[0].Event.Details["comment"] != "ship it" {
		t.Errorf("approve audit events: %+v", a.Items)
	}
	if r := auditEvents("scaffolder.task.reject"); len(r.Items) != 1 || r.Items[0].Event.Target != "task:"+self || r.Items[0].Event.Actor != "user:default/guest" {
		t.Errorf("reject audit events: %+v", r.Items)
	}
}
