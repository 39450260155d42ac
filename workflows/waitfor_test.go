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

// waitEnv is a scaffold test env whose wait activities record what they
// were asked and whose event check verifies the real signature and key
// (the worker's also verifies the run's grant; activities tests cover it).
type waitEnv struct {
	*scaffoldEnv
	signer     *runsign.Signer
	registered []contract.RegisterWaitInput
	ended      []string
	keepAlives int
}

func newWaitEnv(t *testing.T) *waitEnv {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &waitEnv{scaffoldEnv: newScaffoldEnv(t, ""), signer: runsign.NewSigner(priv)}
	v := runsign.NewVerifier(w.signer.PublicKey())
	w.env.RegisterActivityWithOptions(func(_ context.Context, in contract.RegisterWaitInput) (contract.RegisterWaitOutput, error) {
		w.registered = append(w.registered, in)
		if in.Callback {
			return contract.RegisterWaitOutput{CallbackPath: contract.CallbackPrefix + "tok"}, nil
		}
		return contract.RegisterWaitOutput{}, nil
	}, activity.RegisterOptions{Name: contract.ScaffoldRegisterWait})
	w.env.RegisterActivityWithOptions(func(_ context.Context, in contract.KeepAliveInput) error {
		w.keepAlives++
		return nil
	}, activity.RegisterOptions{Name: contract.ScaffoldKeepAlive})
	w.env.RegisterActivityWithOptions(func(_ context.Context, in contract.EndWaitInput) error {
		w.ended = append(w.ended, in.RequestID)
		return nil
	}, activity.RegisterOptions{Name: contract.ScaffoldEndWait})
	w.env.RegisterActivityWithOptions(func(_ context.Context, in contract.CheckEventInput) (contract.EventResult, error) {
		if err := v.VerifyPurpose(contract.EventPurpose, in.Signal.Event, in.Signal.Signature); err != nil {
			return contract.EventResult{}, temporal.NewNonRetryableApplicationError("the event did not come through the API: "+err.Error(), "RunRefused", nil)
		}
		var res contract.EventResult
		if err := json.Unmarshal(in.Signal.Event, &res.Event); err != nil {
			return res, err
		}
		if res.Event.Key != in.Key {
			return res, temporal.NewNonRetryableApplicationError("the event is for "+res.Event.Key, "RunRefused", nil)
		}
		res.Output = res.Event.Data
		return res, nil
	}, activity.RegisterOptions{Name: contract.ScaffoldCheckEvent})
	return w
}

func (w *waitEnv) event(t *testing.T, e contract.Event) contract.SignedEvent {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return contract.SignedEvent{Event: b, Signature: w.signer.SignPurpose(contract.EventPurpose, b)}
}

func waitPlan(input map[string]any) templates.Plan {
	return plan(
		templates.PlanStep{ID: "a", Name: "A", Input: map[string]any{"message": "before"}},
		templates.PlanStep{ID: "w", Name: "Wait", Action: contract.ActionWaitFor, Input: input},
		templates.PlanStep{ID: "b", Name: "B", Input: map[string]any{"message": "after ${{ steps.w.output.url }}"}},
	)
}

const prKey = "github:github.com/acme/payments:pull:12"

func TestWaitForPullRequestMerged(t *testing.T) {
	w := newWaitEnv(t)
	w.env.RegisterDelayedCallback(func() {
		st := state(t, w.env)
		ws := st.Steps[1].Wait
		if ws == nil || ws.For != "pull-request" || ws.Outcome != "" || st.Steps[1].Status != StepProcessing ||
			ws.What != "pull request #12 of github.com/acme/payments to be merged" || ws.Deadline.Sub(ws.RequestedAt) != 14*24*time.Hour {
			t.Errorf("while waiting: step %+v wait %+v", st.Steps[1], ws)
		}
		if len(w.registered) != 1 || w.registered[0].Key != prKey || w.registered[0].Callback {
			t.Errorf("registered %+v", w.registered)
		}
		// Not an event, a forged one, one for another pull request: ignored.
		w.env.SignalWorkflow(ScaffoldEventSignal, "x")
		forged := w.event(t, contract.Event{Key: prKey, Kind: contract.WaitPullRequest, Data: map[string]any{"merged": true, "url": "https://evil"}})
		forged.Signature[0] ^= 1
		w.env.SignalWorkflow(ScaffoldEventSignal, forged)
		w.env.SignalWorkflow(ScaffoldEventSignal, w.event(t, contract.Event{Key: "github:github.com/acme/payments:pull:13", Kind: contract.WaitPullRequest,
			Data: map[string]any{"merged": true, "url": "https://github.com/acme/payments/pull/13"}}))
		// One that happened before the wait began (a captured body).
		w.env.SignalWorkflow(ScaffoldEventSignal, w.event(t, contract.Event{Key: prKey, Kind: contract.WaitPullRequest,
			Data: map[string]any{"merged": true, "url": "https://old", "startedAt": "2000-01-01T00:00:00Z"}}))
		w.env.SignalWorkflow(ScaffoldEventSignal, w.event(t, contract.Event{Key: prKey, Kind: contract.WaitPullRequest,
			Data: map[string]any{"merged": true, "url": "https://github.com/acme/payments/pull/12", "number": 12}}))
	}, 5*24*time.Hour)
	w.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "wf1", Plan: waitPlan(map[string]any{
		"for": "pull-request", "repoUrl": "github.com?owner=Acme&repo=payments", "pullRequest": "12", "timeout": "14d"})})
	if err := w.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(w.calls, ",") != "a:before,b:after https://github.com/acme/payments/pull/12" {
		t.Fatalf("calls %v", w.calls)
	}
	st := state(t, w.env)
	if ws := st.Steps[1].Wait; st.Steps[1].Status != StepCompleted || ws.Outcome != "received" || ws.ReceivedAt == nil {
		t.Fatalf("step %+v wait %+v", st.Steps[1], ws)
	}
	if len(w.ended) != 1 || w.ended[0] != w.registered[0].RequestID {
		t.Fatalf("ended %v (registered %+v)", w.ended, w.registered)
	}
	// Five days of waiting kept the workspace and secrets alive every 6h.
	if w.keepAlives != 20 {
		t.Fatalf("keep-alives while waiting 5 days: %d, want 20", w.keepAlives)
	}
	log := logText(st)
	for _, want := range []string{"Waiting for pull request #12", "Ignored an event: the event did not come through the API", "Ignored an event: the event is for github:github.com/acme/payments:pull:13",
		"Ignored an event of 2000-01-01T00:00:00Z, before this wait began", "Pull request https://github.com/acme/payments/pull/12 was merged"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "evil") {
		t.Errorf("the forged event is in the log:\n%s", log)
	}
}

func TestWaitForPullRequestClosedUnmerged(t *testing.T) {
	w := newWaitEnv(t)
	w.env.RegisterDelayedCallback(func() {
		w.env.SignalWorkflow(ScaffoldEventSignal, w.event(t, contract.Event{Key: prKey, Kind: contract.WaitPullRequest,
			Data: map[string]any{"merged": false, "url": "https://github.com/acme/payments/pull/12"}}))
	}, time.Hour)
	w.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "wf2", Plan: waitPlan(map[string]any{
		"for": "pull-request", "repoUrl": "github.com?owner=acme&repo=payments", "pullRequest": 12})})
	var app *temporal.ApplicationError
	if err := w.env.GetWorkflowError(); !errors.As(err, &app) || !strings.Contains(err.Error(), "pull request https://github.com/acme/payments/pull/12 was closed without being merged") {
		t.Fatalf("want the unmerged failure, got %v", err)
	}
	if len(w.calls) != 1 {
		t.Fatalf("calls %v", w.calls)
	}
}

func TestWaitForCallbackAndTimeout(t *testing.T) {
	w := newWaitEnv(t)
	w.env.RegisterDelayedCallback(func() {
		st := state(t, w.env)
		ws := st.Steps[1].Wait
		if ws == nil || ws.CallbackPath != contract.CallbackPrefix+"tok" || !strings.Contains(logText(st), "POST a JSON body to it (the URL is on the task page") || strings.Contains(logText(st), "/tok") {
			t.Errorf("wait %+v", ws)
		}
		key := "callback:wf3:" + ws.RequestID
		w.env.SignalWorkflow(ScaffoldEventSignal, w.event(t, contract.Event{Key: key, Kind: contract.WaitCallback, TaskID: "wf3", RequestID: ws.RequestID,
			Data: map[string]any{"payload": map[string]any{"ticket": "OPS-1"}, "url": "cb"}}))
	}, 2*24*time.Hour)
	w.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "wf3", Plan: waitPlan(map[string]any{"for": "callback", "timeout": "3d"})})
	if err := w.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if !w.registered[0].Callback || !strings.HasPrefix(w.registered[0].Key, "callback:wf3:w.0.") {
		t.Fatalf("registered %+v", w.registered)
	}

	w = newWaitEnv(t)
	w.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "wf4", Plan: waitPlan(map[string]any{"for": "callback", "timeout": "2h"})})
	var app *temporal.ApplicationError
	if err := w.env.GetWorkflowError(); !errors.As(err, &app) || !strings.Contains(err.Error(), "A call to its callback URL did not happen within 2h0m0s") {
		t.Fatalf("want a timeout, got %v", err)
	}
	var st ScaffoldState
	if err := app.Details(&st); err != nil {
		t.Fatal(err)
	}
	if ws := st.Steps[1].Wait; ws == nil || ws.Outcome != TimedOut || len(w.ended) != 1 {
		t.Fatalf("wait %+v ended %v", ws, w.ended)
	}
}

func TestWaitForBadInput(t *testing.T) {
	for _, tc := range []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"for": "deploy"}, "for must be callback, pull-request or workflow-run"},
		{map[string]any{"for": "callback", "timeout": "91d"}, "must be between 1s and 90 days"},
		{map[string]any{"for": "pull-request", "repoUrl": "github.com?owner=a&repo=b", "pullRequest": -1}, "pullRequest: -1 is not a positive number"},
		{map[string]any{"for": "pull-request", "repoUrl": "github.com", "pullRequest": 1}, "repoUrl"},
		{map[string]any{"for": "workflow-run", "repoUrl": "github.com?owner=a&repo=b", "workflow": "../ci.yml"}, "workflow file name"},
	} {
		w := newWaitEnv(t)
		w.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "wf5", Plan: waitPlan(tc.in)})
		if err := w.env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.in, err, tc.want)
		}
		if len(w.registered) != 0 {
			t.Errorf("%v: a bad wait was registered", tc.in)
		}
	}
}
