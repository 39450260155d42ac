package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/searchattr"
	"github.com/riggerdev/rigger/templates"
)

// recordStatuses records every RiggerStatus a run upserts, in order. An
// unset reads as an upsert without a value (the SDK's SearchAttributes
// hides unsets): "-" (Scaffold upserts no other attribute).
func (e *scaffoldEnv) recordStatuses() *[]string {
	var got []string
	_, _, key := searchattr.Keys()
	e.env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Run(func(args mock.Arguments) {
		v, ok := args.Get(0).(temporal.SearchAttributes).GetKeyword(key)
		if !ok {
			v = "-"
		}
		got = append(got, v)
	})
	return &got
}

func TestScaffoldMarksWaitingWhileAStepWaits(t *testing.T) {
	e := newScaffoldEnv(t, "")
	got := e.recordStatuses()
	e.env.RegisterDelayedCallback(func() {
		if s := strings.Join(*got, ","); s != searchattr.StatusWaiting {
			t.Errorf("RiggerStatus during the wait: upserts %q, want %q", s, searchattr.StatusWaiting)
		}
	}, 10*time.Minute)
	e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "m1", Plan: plan(
		templates.PlanStep{ID: "a", Name: "A", Input: map[string]any{"message": "before"}},
		templates.PlanStep{ID: "w", Name: "W", Action: contract.ActionWait, Input: map[string]any{"minutes": 30}},
		templates.PlanStep{ID: "w2", Name: "W2", Action: contract.ActionWait, Input: map[string]any{"minutes": 30}},
		templates.PlanStep{ID: "b", Name: "B", Input: map[string]any{"message": "after"}},
	)})
	if err := e.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	// Each wait marks the run and unmarks it when it ends; a completed run
	// is left with none.
	if s := strings.Join(*got, ","); s != "waiting,-,waiting,-" {
		t.Fatalf("RiggerStatus upserts %q, want waiting,-,waiting,-", s)
	}
	if strings.Join(e.calls, ",") != "a:before,b:after" {
		t.Fatalf("calls %v", e.calls)
	}
}

func TestScaffoldWaitingStatusEndsWithTheRun(t *testing.T) {
	t.Run("cancelled while waiting", func(t *testing.T) {
		e := newScaffoldEnv(t, "")
		got := e.recordStatuses()
		e.env.RegisterDelayedCallback(func() { e.env.SignalWorkflow(ScaffoldCancelSignal, nil) }, time.Minute)
		e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "m2", Plan: plan(
			templates.PlanStep{ID: "w", Name: "W", Action: contract.ActionWait, Input: map[string]any{"minutes": 10}},
		)})
		if s := strings.Join(*got, ","); s != "waiting,cancelled" {
			t.Fatalf("RiggerStatus upserts %q, want waiting,cancelled", s)
		}
	})
	t.Run("approval timed out", func(t *testing.T) {
		e, _ := approvalEnv(t)
		got := e.recordStatuses()
		e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "m3", Plan: approvalPlan(map[string]any{"timeout": "1h"})})
		if s := strings.Join(*got, ","); s != "waiting,failed" {
			t.Fatalf("RiggerStatus upserts %q, want waiting,failed", s)
		}
	})
	t.Run("dry run", func(t *testing.T) {
		e := newScaffoldEnv(t, "")
		got := e.recordStatuses()
		e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "m4", DryRun: true, Plan: plan(
			templates.PlanStep{ID: "w", Name: "W", Action: contract.ActionWait, DryRunSafe: true, Input: map[string]any{"minutes": 10}},
		)})
		if err := e.env.GetWorkflowError(); err != nil || len(*got) != 0 {
			t.Fatalf("a dry run upserted RiggerStatus %q (%v)", *got, err)
		}
	})
}
