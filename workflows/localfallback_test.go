package workflows

import (
	"context"
	"strings"
	"testing"

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
