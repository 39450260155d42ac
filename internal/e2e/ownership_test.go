package e2e

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/riggerdev/rigger/workflows"
)

const ownershipTemplates = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: waits
spec:
  owner: group:default/team-a
  type: service
  steps:
    - id: wait
      name: Wait
      action: debug:wait
      input: {minutes: 30}
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: fails
spec:
  owner: group:default/team-a
  type: service
  steps:
    - id: write
      name: Write
      action: fs:write
      input: {path: ../outside, content: x}
`

// TestTaskOwnershipCancelRetry: with two service tokens, Bob cannot cancel
// or retry Alice's tasks (403, or 404 where tasks are private), and the
// task is left as it was; Alice can cancel hers, and a token with
// scaffolder.admin can retry anyone's.
func TestTaskOwnershipCancelRetry(t *testing.T) {
	needBinary(t)
	_, addr := startTemporalOnly(t, t.TempDir())
	sw := startTeam(t, addr, ownershipTemplates)
	w, alice, bob, admin := sw.worker, aliceToken, bobToken, adminToken
	api := sw.server.api + "/api/scaffolder/v2/tasks"

	create := func(template string) string {
		t.Helper()
		var created struct{ ID string }
		deadline := time.Now().Add(60 * time.Second)
		for {
			code := doJSONAs(t, alice, "POST", api, map[string]any{"templateRef": "template:default/" + template}, &created)
			if code == http.StatusCreated {
				return created.ID
			}
			if time.Now().After(deadline) {
				t.Fatalf("create %s as alice: %d", template, code)
			}
			time.Sleep(100 * time.Millisecond) // the template is not ingested yet
		}
	}
	status := func(id string) string {
		t.Helper()
		var tr taskResp
		doJSONAs(t, alice, "GET", api+"/"+id, nil, &tr)
		return tr.Status
	}
	waitStatus := func(id, want string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for status(id) != want {
			if time.Now().After(deadline) {
				t.Fatalf("task %s is %s, want %s", id, status(id), want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	denied := func(code int) bool { return code == http.StatusForbidden || code == http.StatusNotFound }

	waiting := create("waits")
	failed := create("fails")
	waitStatus(waiting, "processing")
	waitStatus(failed, "failed")

	if code := doJSONAs(t, bob, "POST", api+"/"+waiting+"/cancel", nil, nil); !denied(code) {
		t.Errorf("bob cancels alice's task: %d, want 403 or 404", code)
	}
	if code := doJSONAs(t, bob, "POST", api+"/"+failed+"/retry", nil, nil); !denied(code) {
		t.Errorf("bob retries alice's task: %d, want 403 or 404", code)
	}
	if got := status(waiting); got != "processing" {
		t.Errorf("after bob's cancel the task is %s", got)
	}
	if got := status(failed); got != "failed" {
		t.Errorf("after bob's retry the task is %s", got)
	}

	if code := doJSONAs(t, alice, "POST", api+"/"+waiting+"/cancel", nil, nil); code != http.StatusOK {
		t.Errorf("alice cancels her task: %d", code)
	}
	waitStatus(waiting, "cancelled")
	if code := doJSONAs(t, admin, "POST", api+"/"+failed+"/retry", nil, nil); code >= 300 {
		t.Errorf("an admin retries alice's task: %d", code)
	}
	// The retry runs the failing step again (and it fails again).
	ran := map[string]any{"msg": "action executed", "task_id": failed, "step_id": "write"}
	deadline := time.Now().Add(30 * time.Second)
	for countLogs(w.stderr.String(), ran) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the admin's retry did not run the step again (%d runs)", countLogs(w.stderr.String(), ran))
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitStatus(failed, "failed")

	// The failed run's state comes from whatever worker ran it: someone
	// who can run a worker in the namespace reruns Alice's signed input
	// from a workflow of their own that fails with a state naming Bob as
	// the user. The task stays Alice's: Bob's retry is refused.
	tc, err := client.Dial(client.Options{HostPort: addr, Namespace: "default", Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	ctx := context.Background()
	first, err := tc.GetWorkflowHistory(ctx, failed, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT).Next()
	if err != nil {
		t.Fatal(err)
	}
	signedIn := converter.NewRawValue(first.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0])
	forged := workflows.ScaffoldState{Status: "failed", Attempt: 2, TaskID: failed, TemplateRef: "template:default/fails", UserRef: "service:bob",
		Steps: []workflows.StepState{{ID: "write", Name: "Write", Action: "fs:write", Status: workflows.StepFailed, Error: "boom"}}}
	aw := sdkworker.New(tc, "attacker-owner", sdkworker.Options{})
	aw.RegisterWorkflowWithOptions(func(ctx workflow.Context, in converter.RawValue) (*workflows.ScaffoldState, error) {
		return nil, temporal.NewNonRetryableApplicationError("step write (fs:write) failed: boom", workflows.StepFailedType, nil, forged)
	}, workflow.RegisterOptions{Name: workflows.ScaffoldName})
	if err := aw.Start(); err != nil {
		t.Fatal(err)
	}
	defer aw.Stop()
	r, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: failed, TaskQueue: "attacker-owner"}, workflows.ScaffoldName, signedIn)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Get(ctx, nil); err == nil {
		t.Fatal("the forged run did not fail")
	}
	var e apiError
	if code := doJSONAs(t, bob, "POST", api+"/"+failed+"/retry", nil, &e); code != http.StatusForbidden || !strings.Contains(e.Error.Message, "belongs to service:alice") {
		t.Errorf("bob retries alice's task whose state a forged run says is bob's: %d %+v, want 403 naming alice", code, e)
	}
}
