package workflows

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/runsign"
	"github.com/riggerdev/rigger/templates"
)

// approvalEnv is a scaffold test env whose decision check verifies the
// real signature (the worker's check also verifies the run's grant; its
// own tests cover that).
func approvalEnv(t *testing.T) (*scaffoldEnv, *runsign.Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	signer := runsign.NewSigner(priv)
	v := runsign.NewVerifier(signer.PublicKey())
	e := newScaffoldEnv(t, "")
	e.env.RegisterActivityWithOptions(func(_ context.Context, in contract.CheckDecisionInput) (contract.DecisionResult, error) {
		if err := v.VerifyPurpose(contract.DecisionPurpose, in.Signal.Decision, in.Signal.Signature); err != nil {
			return contract.DecisionResult{}, temporal.NewNonRetryableApplicationError("the decision was not made through the API: "+err.Error(), "RunRefused", nil)
		}
		var res contract.DecisionResult
		err := json.Unmarshal(in.Signal.Decision, &res.Decision)
		if res.Decision.Approved {
			res.Output = contract.ApprovalOutput(res.Decision)
		}
		return res, err
	}, activity.RegisterOptions{Name: contract.ScaffoldCheckDecision})
	return e, signer
}

func signed(t *testing.T, s *runsign.Signer, d contract.Decision) contract.SignedDecision {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return contract.SignedDecision{Decision: b, Signature: s.SignPurpose(contract.DecisionPurpose, b)}
}

func approvalPlan(input map[string]any) templates.Plan {
	return plan(
		templates.PlanStep{ID: "a", Name: "A", Input: map[string]any{"message": "before"}},
		templates.PlanStep{ID: "ok", Name: "Approve", Action: contract.ActionApproval, Input: input},
		templates.PlanStep{ID: "b", Name: "B", Input: map[string]any{"message": "after ${{ steps.ok.output.by }}"}},
	)
}

func logText(st ScaffoldState) string {
	var b strings.Builder
	for _, l := range st.Log {
		b.WriteString(l.Text + "\n")
	}
	return b.String()
}

func TestApprovalApproved(t *testing.T) {
	e, signer := approvalEnv(t)
	e.env.RegisterDelayedCallback(func() {
		st := state(t, e.env)
		if a := st.Steps[1].Approval; a == nil || a.Message != "ship it?" || a.Decision != "" || st.Steps[1].Status != StepProcessing {
			t.Errorf("while waiting: step %+v approval %+v", st.Steps[1], a)
		}
		if len(e.calls) != 1 {
			t.Errorf("calls while waiting: %v", e.calls)
		}
		req := st.Steps[1].Approval.RequestID
		if !strings.HasPrefix(req, "ok.0.") {
			t.Errorf("request id %q", req)
		}
		// Something that is no decision at all, a forged decision, one for
		// another step and one on another request: all ignored.
		e.env.SignalWorkflow(ScaffoldApprovalSignal, "x")
		forged := signed(t, signer, contract.Decision{TaskID: "ap1", StepID: "ok", RequestID: req, Attempt: 1, Approved: true, By: "user:default/mallory"})
		forged.Signature[0] ^= 1
		e.env.SignalWorkflow(ScaffoldApprovalSignal, forged)
		e.env.SignalWorkflow(ScaffoldApprovalSignal, signed(t, signer, contract.Decision{TaskID: "ap1", StepID: "a", RequestID: req, Attempt: 1, Approved: true, By: "user:default/eve"}))
		e.env.SignalWorkflow(ScaffoldApprovalSignal, signed(t, signer, contract.Decision{TaskID: "ap1", StepID: "ok", RequestID: "ok.1.0", Attempt: 1, Approved: true, By: "user:default/eve"}))
		e.env.SignalWorkflow(ScaffoldApprovalSignal, signed(t, signer, contract.Decision{TaskID: "ap1", StepID: "ok", RequestID: req, Attempt: 1, Approved: true, By: "user:default/bob", Comment: "looks good"}))
	}, 3*time.Hour)
	e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "ap1", Plan: approvalPlan(map[string]any{"message": "ship it?", "timeout": "48h"})})
	if err := e.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(e.calls, ",") != "a:before,b:after user:default/bob" {
		t.Fatalf("calls %v", e.calls)
	}
	st := state(t, e.env)
	a := st.Steps[1].Approval
	if st.Steps[1].Status != StepCompleted || a.Decision != Approved || a.DecidedBy != "user:default/bob" || a.Comment != "looks good" ||
		a.Deadline.Sub(a.RequestedAt) != 48*time.Hour {
		t.Fatalf("step %+v approval %+v", st.Steps[1], a)
	}
	log := logText(st)
	for _, want := range []string{"Waiting for approval", "Ignored a decision: the decision was not made through the API", "Ignored a decision for step a",
		"Ignored a decision on an earlier request of step ok (ok.1.0", "Approved by user:default/bob: looks good"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "mallory") || strings.Contains(log, "Approved by user:default/eve") {
		t.Errorf("the forged decision's author is in the log:\n%s", log)
	}
}

func TestApprovalRejected(t *testing.T) {
	e, signer := approvalEnv(t)
	e.env.RegisterDelayedCallback(func() {
		req := state(t, e.env).Steps[1].Approval.RequestID
		e.env.SignalWorkflow(ScaffoldApprovalSignal, signed(t, signer, contract.Decision{TaskID: "ap2", StepID: "ok", RequestID: req, Attempt: 1, By: "user:default/bob", Comment: "not on a Friday"}))
	}, time.Hour)
	e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "ap2", Plan: approvalPlan(map[string]any{"message": "ship it?"})})
	var app *temporal.ApplicationError
	if err := e.env.GetWorkflowError(); !errors.As(err, &app) || !strings.Contains(err.Error(), "rejected by user:default/bob: not on a Friday") {
		t.Fatalf("want the rejection, got %v", err)
	}
	var st ScaffoldState
	if err := app.Details(&st); err != nil {
		t.Fatal(err)
	}
	if st.Steps[1].Status != StepFailed || st.Steps[1].Approval.Decision != Rejected || st.Status != "failed" || len(e.calls) != 1 {
		t.Fatalf("state %+v, calls %v", st.Steps[1], e.calls)
	}
}

func TestApprovalTimesOut(t *testing.T) {
	e, _ := approvalEnv(t)
	// A signal that is no decision does not hold the wait past its timeout.
	e.env.RegisterDelayedCallback(func() { e.env.SignalWorkflow(ScaffoldApprovalSignal, "x") }, time.Minute)
	e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "ap3", Plan: approvalPlan(map[string]any{"timeout": "90m"})})
	var app *temporal.ApplicationError
	if err := e.env.GetWorkflowError(); !errors.As(err, &app) || !strings.Contains(err.Error(), "no decision within 1h30m0s") {
		t.Fatalf("want a timeout, got %v", err)
	}
	var st ScaffoldState
	if err := app.Details(&st); err != nil {
		t.Fatal(err)
	}
	if a := st.Steps[1].Approval; a == nil || a.Decision != TimedOut {
		t.Fatalf("approval %+v", a)
	}
}

func TestApprovalCancelledWhileWaiting(t *testing.T) {
	e, _ := approvalEnv(t)
	e.env.RegisterDelayedCallback(func() { e.env.SignalWorkflow(ScaffoldCancelSignal, nil) }, time.Hour)
	e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "ap4", Plan: approvalPlan(nil)})
	if err := e.env.GetWorkflowError(); err == nil || !strings.Contains(strings.ToLower(err.Error()), "cancel") {
		t.Fatalf("want a cancellation, got %v", err)
	}
	if st := state(t, e.env); st.Status != "cancelled" || st.Steps[1].Status != StepCancelled || len(e.calls) != 1 {
		t.Fatalf("state %+v, calls %v", st, e.calls)
	}
}

func TestApprovalTimeoutInput(t *testing.T) {
	for _, c := range []struct {
		in   any
		want time.Duration
		bad  bool
	}{
		{nil, 24 * time.Hour, false},
		{"36h", 36 * time.Hour, false},
		{"2160h", contract.MaxApprovalWait, false},
		{"2161h", 0, true},
		{"-1h", 0, true},
		{"soon", 0, true},
		{48, 0, true},
	} {
		in := map[string]any{}
		if c.in != nil {
			in["timeout"] = c.in
		}
		got, err := approvalTimeout(in)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("timeout %v: %v, %v", c.in, got, err)
		}
	}
}

// TestApprovalNotByItsStarter: the run itself ignores a decision by the
// user it runs for unless the step allows self-approval (the API refuses
// it too; this holds even for a decision that reached the run).
func TestApprovalNotByItsStarter(t *testing.T) {
	e, signer := approvalEnv(t)
	e.env.RegisterDelayedCallback(func() {
		req := state(t, e.env).Steps[1].Approval.RequestID
		for _, by := range []string{"User:Default/Alice", "user:default/bob"} {
			e.env.SignalWorkflow(ScaffoldApprovalSignal, signed(t, signer, contract.Decision{TaskID: "ap5", StepID: "ok", RequestID: req, Attempt: 1, Approved: true, By: by}))
		}
	}, time.Hour)
	p := approvalPlan(map[string]any{"message": "ship it?"})
	p.UserRef = "user:default/alice"
	e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "ap5", Plan: p})
	if err := e.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	st := state(t, e.env)
	if a := st.Steps[1].Approval; a.DecidedBy != "user:default/bob" || !strings.Contains(logText(st), "Ignored User:Default/Alice's decision: they started the run") {
		t.Fatalf("approval %+v\n%s", a, logText(st))
	}
}
