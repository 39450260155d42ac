package workflows

import (
	"regexp"
	"testing"
	"time"

	"github.com/riggerdev/rigger/activities/contract"
)

// TestApprovalRequestIDUnguessable: the same run at the same (test) time
// names its wait differently each time: step, item, time and a random
// part, which a decision must repeat.
func TestApprovalRequestIDUnguessable(t *testing.T) {
	var ids []string
	for range 2 {
		e, signer := approvalEnv(t)
		var req string
		e.env.RegisterDelayedCallback(func() {
			req = state(t, e.env).Steps[1].Approval.RequestID
			// The id without its random part is refused.
			e.env.SignalWorkflow(ScaffoldApprovalSignal, signed(t, signer, contract.Decision{TaskID: "ap1", StepID: "ok", RequestID: req[:len(req)-25], Attempt: 1, Approved: true, By: "user:default/eve"}))
			e.env.SignalWorkflow(ScaffoldApprovalSignal, signed(t, signer, contract.Decision{TaskID: "ap1", StepID: "ok", RequestID: req, Attempt: 1, Approved: true, By: "user:default/bob"}))
		}, time.Hour)
		e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "ap1", Plan: approvalPlan(map[string]any{"message": "ship it?", "timeout": "48h"})})
		if err := e.env.GetWorkflowError(); err != nil {
			t.Fatal(err)
		}
		if got := e.calls; len(got) != 2 || got[1] != "b:after user:default/bob" {
			t.Fatalf("calls %v: want the run approved by bob's decision only", got)
		}
		ids = append(ids, req)
	}
	for _, id := range ids {
		if !regexp.MustCompile(`^ok\.0\.[0-9]+\.[0-9a-f]{24}$`).MatchString(id) {
			t.Errorf("request id %q, want step.item.millis.nonce", id)
		}
	}
	if ids[0] == ids[1] {
		t.Errorf("two runs at the same time named their waits alike: %s", ids[0])
	}
}
