package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/templates"
)

// A quick step whose local activity runs out of its short time runs again
// as a regular activity: the local activity never holds the run for long.
func TestScaffoldLongLocalStepRunsAsActivity(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Scaffold, workflow.RegisterOptions{Name: ScaffoldName})
	var calls []string
	env.RegisterActivityWithOptions(func(ctx context.Context, in contract.RenderInput) (contract.RenderOutput, error) {
		return contract.RenderOutput{Items: []contract.RenderedItem{{Input: map[string]any{"message": "slow"}}}}, nil
	}, activity.RegisterOptions{Name: contract.ScaffoldRender})
	localRuns := 0
	env.RegisterActivityWithOptions(func(ctx context.Context, in contract.LocalStepInput) (contract.LocalStepOutput, error) {
		localRuns++
		<-ctx.Done()
		return contract.LocalStepOutput{}, ctx.Err()
	}, activity.RegisterOptions{Name: contract.ScaffoldRunLocalStep})
	env.RegisterActivityWithOptions(func(_ context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
		calls = append(calls, in.StepID)
		return contract.ActionOutput{Logs: []string{"ran as an activity"}}, nil
	}, activity.RegisterOptions{Name: contract.ActionActivity("debug:log")})
	p := plan(templates.PlanStep{ID: "slow", Name: "Slow", Action: "debug:log", Local: true, Input: map[string]any{"message": "slow"}})
	p.Steps[0].Retry.MaximumAttempts = 3
	p.Output = nil
	env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "lf", Plan: p})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if localRuns != 1 || strings.Join(calls, ",") != "slow" {
		t.Fatalf("local runs %d, activity runs %v", localRuns, calls)
	}
	st := state(t, env)
	var log []string
	for _, l := range st.Log {
		log = append(log, l.Text)
	}
	joined := strings.Join(log, "\n")
	if !strings.Contains(joined, "running it as an activity") || !strings.Contains(joined, "ran as an activity") || st.Steps[0].Status != StepCompleted {
		t.Fatalf("state %+v\n%s", st.Steps, joined)
	}
}

// TestLongLocalStepTellsADeadline: a local step that ran out of its time
// runs again as an activity whether the SDK reported the timeout or the
// step itself returned ctx.Err() first (as the error itself, or as
// history gives it back on a replay: an application error converted by
// the SDK's own failure converter), unless the step's own timeout is no
// longer than the local limit; other errors follow the retry policy.
func TestLongLocalStepTellsADeadline(t *testing.T) {
	fc := temporal.GetDefaultFailureConverter()
	replayed := fc.FailureToError(fc.ErrorToFailure(context.DeadlineExceeded))
	var app *temporal.ApplicationError
	if !errors.As(replayed, &app) {
		t.Fatalf("the SDK converts context.DeadlineExceeded to %T, not an application error", replayed)
	}
	once := templates.PlanStep{ID: "s"}
	once.Retry.MaximumAttempts = 1
	short := once
	short.Timeout = 500 * time.Millisecond
	for _, c := range []struct {
		name string
		step templates.PlanStep
		err  error
		want bool
	}{
		{"timeout", once, temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, nil), true},
		{"ctx.Err() returned first", once, fmt.Errorf("activity error: %w", context.DeadlineExceeded), true},
		{"ctx.Err() read back from history", once, fmt.Errorf("activity error: %w", replayed), true},
		{"a deadline within the step's own short timeout", short, context.DeadlineExceeded, false},
		{"another error, one attempt", once, temporal.NewApplicationError("boom", "Boom"), false},
		{"cancelled", once, context.Canceled, false},
	} {
		if got := longLocalStep(c.step, c.err, func() bool { return true }); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	// A run from before the change fails the step there, as it did.
	if longLocalStep(once, context.DeadlineExceeded, func() bool { return false }) {
		t.Error("a run before the change counts the step's own deadline report")
	}
}
