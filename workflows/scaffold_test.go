package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/templates"
)

// scaffoldEnv registers Scaffold with the real rendering activities and an
// action fake that records what it was given (and can fail on demand).
type scaffoldEnv struct {
	env   *testsuite.TestWorkflowEnvironment
	calls []string
	// outcomes are the run ends the workflow recorded (outcome:step).
	outcomes []string
}

func newScaffoldEnv(t *testing.T, failOn string) *scaffoldEnv {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	e := &scaffoldEnv{env: s.NewTestWorkflowEnvironment()}
	r, err := templates.NewRenderer(templates.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	e.env.RegisterWorkflowWithOptions(Scaffold, workflow.RegisterOptions{Name: ScaffoldName})
	// The real rendering activities (a test may import the implementations
	// that workflow code must not).
	sc := &activities.Scaffold{Renderer: r, Workspaces: activities.NewWorkspaces(t.TempDir(), 0, 0), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	e.env.RegisterActivityWithOptions(sc.Render, activity.RegisterOptions{Name: contract.ScaffoldRender})
	e.env.RegisterActivityWithOptions(sc.RenderTemplateOutput, activity.RegisterOptions{Name: contract.ScaffoldRenderOutput})
	e.env.RegisterActivityWithOptions(sc.ForgetSecrets, activity.RegisterOptions{Name: contract.ScaffoldForgetSecrets})
	e.env.RegisterActivityWithOptions(sc.RunLocalStep, activity.RegisterOptions{Name: contract.ScaffoldRunLocalStep})
	e.env.RegisterActivityWithOptions(func(_ context.Context, o contract.TaskOutcome) error {
		e.outcomes = append(e.outcomes, o.Outcome+":"+o.Step)
		return nil
	}, activity.RegisterOptions{Name: contract.ScaffoldRecordOutcome})
	e.env.RegisterActivityWithOptions(func(_ context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
		msg, _ := in.Input["message"].(string)
		e.calls = append(e.calls, in.StepID+":"+msg)
		if in.StepID == failOn {
			return contract.ActionOutput{}, errors.New("boom in " + in.StepID)
		}
		return contract.ActionOutput{Output: map[string]any{"echo": msg}, Logs: []string{"said " + msg}}, nil
	}, activity.RegisterOptions{Name: contract.ActionActivity("debug:log")})
	return e
}

func plan(steps ...templates.PlanStep) templates.Plan {
	for i := range steps {
		steps[i].TaskQueue = contract.QueueDefault
		steps[i].Retry = templates.RetryPolicy{MaximumAttempts: 1}
		if steps[i].Action == "" {
			steps[i].Action = "debug:log"
		}
	}
	return templates.Plan{Version: 1, Parameters: map[string]any{"name": "svc", "envs": []any{"dev", "prod"}, "go": false}, Steps: steps,
		Output: map[string]any{"text": []any{map[string]any{"title": "done", "content": "${{ steps.b.output.echo }}"}}}}
}

func state(t *testing.T, env *testsuite.TestWorkflowEnvironment) ScaffoldState {
	t.Helper()
	v, err := env.QueryWorkflow(ScaffoldStateQuery)
	if err != nil {
		t.Fatal(err)
	}
	var st ScaffoldState
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestScaffoldSuccessIfEachAndOutputs(t *testing.T) {
	e := newScaffoldEnv(t, "")
	e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "t1", Plan: plan(
		templates.PlanStep{ID: "a", Name: "A", Input: map[string]any{"message": "hi ${{ parameters.name }}"}},
		templates.PlanStep{ID: "b", Name: "B", Input: map[string]any{"message": "${{ steps.a.output.echo }}!"}},
		templates.PlanStep{ID: "skipped", Name: "S", If: "${{ parameters.go }}", Input: map[string]any{"message": "never"}},
		templates.PlanStep{ID: "each", Name: "E", Each: "${{ parameters.envs }}", Input: map[string]any{"message": "env ${{ each.value }}"}},
	)})
	if err := e.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := "a:hi svc,b:hi svc!,each:env dev,each:env prod"
	if got := strings.Join(e.calls, ","); got != want {
		t.Fatalf("actions ran %s, want %s", got, want)
	}
	st := state(t, e.env)
	var statuses []string
	for _, s := range st.Steps {
		statuses = append(statuses, s.ID+"="+s.Status)
	}
	if got := strings.Join(statuses, " "); got != "a=completed b=completed skipped=skipped each=completed" || st.Status != "completed" {
		t.Fatalf("state %s (%s)", got, st.Status)
	}
	var res ScaffoldState
	if err := e.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Status != "completed" || res.Outputs["a"]["echo"] != "hi svc" {
		t.Fatalf("result state %+v", res)
	}
	if raw, _ := json.Marshal(res.Output); !strings.Contains(string(raw), `"content":"hi svc!"`) {
		t.Fatalf("output %s does not render steps.b.output", raw)
	}
	if got := strings.Join(e.outcomes, ","); got != "completed:" {
		t.Fatalf("recorded outcomes %q, want the run's completion once", got)
	}
}

func TestScaffoldStepFailureFailsRun(t *testing.T) {
	e := newScaffoldEnv(t, "b")
	e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "t2", Plan: plan(
		templates.PlanStep{ID: "a", Name: "A", Input: map[string]any{"message": "1"}},
		templates.PlanStep{ID: "b", Name: "B", Input: map[string]any{"message": "2"}},
		templates.PlanStep{ID: "c", Name: "C", Input: map[string]any{"message": "3"}},
	)})
	err := e.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "step b (debug:log) failed") || !strings.Contains(err.Error(), "boom in b") {
		t.Fatalf("want the step's error, got %v", err)
	}
	if strings.Join(e.calls, ",") != "a:1,b:2" {
		t.Fatalf("steps after the failure ran: %v", e.calls)
	}
	st := state(t, e.env)
	if st.Status != "failed" || st.Steps[1].Status != StepFailed || st.Steps[2].Status != StepOpen || !strings.Contains(st.Steps[1].Error, "boom") {
		t.Fatalf("state %+v", st)
	}
	if got := strings.Join(e.outcomes, ","); got != "failed:b" {
		t.Fatalf("recorded outcomes %q, want the failure of step b once", got)
	}
}

func TestScaffoldBadExpressionFailsClearly(t *testing.T) {
	e := newScaffoldEnv(t, "")
	e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "t3", Plan: plan(
		templates.PlanStep{ID: "a", Name: "A", Input: map[string]any{"message": "${{ parameters.name | nosuchfilter }}"}},
	)})
	if err := e.env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), "nosuchfilter") {
		t.Fatalf("want a rendering error naming the filter, got %v", err)
	}
}

func TestScaffoldWaitIsADurableTimer(t *testing.T) {
	e := newScaffoldEnv(t, "")
	e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "t4", Plan: plan(
		templates.PlanStep{ID: "w", Name: "W", Action: contract.ActionWait, Input: map[string]any{"minutes": 30}},
		templates.PlanStep{ID: "a", Name: "A", Input: map[string]any{"message": "after"}},
	)})
	if err := e.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	// The test environment skips timers; the point is that no activity ran
	// for the wait: only step a called an action.
	if strings.Join(e.calls, ",") != "a:after" {
		t.Fatalf("calls %v", e.calls)
	}
}

func TestScaffoldCancel(t *testing.T) {
	e := newScaffoldEnv(t, "")
	e.env.RegisterDelayedCallback(func() { e.env.SignalWorkflow(ScaffoldCancelSignal, nil) }, time.Minute)
	e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "t5", Plan: plan(
		templates.PlanStep{ID: "w", Name: "W", Action: contract.ActionWait, Input: map[string]any{"minutes": 10}},
		templates.PlanStep{ID: "a", Name: "A", Input: map[string]any{"message": "never"}},
	)})
	err := e.env.GetWorkflowError()
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "cancel") || len(e.calls) != 0 {
		t.Fatalf("cancel: %v, calls %v", err, e.calls)
	}
	if st := state(t, e.env); st.Status != "cancelled" || st.Steps[0].Status != StepCancelled {
		t.Fatalf("state %+v", st)
	}
}

// failedState runs plan failing in step failOn and returns the state the
// failure carries (what the API reads and a retry resumes from).
func failedState(t *testing.T, failOn string, p templates.Plan) ScaffoldState {
	t.Helper()
	e := newScaffoldEnv(t, failOn)
	e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "r1", Plan: p})
	var app *temporal.ApplicationError
	if err := e.env.GetWorkflowError(); !errors.As(err, &app) || !app.HasDetails() {
		t.Fatalf("want a failure with details, got %v", err)
	}
	var st ScaffoldState
	if err := app.Details(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestScaffoldRetryFromFailedStep(t *testing.T) {
	p := plan(
		templates.PlanStep{ID: "a", Name: "A", Input: map[string]any{"message": "first ${{ parameters.name }}"}},
		templates.PlanStep{ID: "b", Name: "B", Input: map[string]any{"message": "second"}},
		templates.PlanStep{ID: "c", Name: "C", Input: map[string]any{"message": "after ${{ steps.a.output.echo }}"}},
	)
	st := failedState(t, "b", p)
	if st.Status != "failed" || st.Steps[0].Status != StepCompleted || st.Steps[1].Status != StepFailed || st.Attempt != 1 {
		t.Fatalf("failed state %+v", st)
	}
	// The retry: same plan, resumed from that state, nothing failing now.
	e := newScaffoldEnv(t, "")
	e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "r1", Plan: p, Resume: &st})
	if err := e.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	// a did not run again; c still sees a's output from the first run.
	if got := strings.Join(e.calls, ","); got != "b:second,c:after first svc" {
		t.Fatalf("retry ran %s", got)
	}
	var res ScaffoldState
	if err := e.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Attempt != 2 || res.Status != "completed" {
		t.Fatalf("result %+v", res)
	}
	var log []string
	completions := 0
	for _, l := range res.Log {
		log = append(log, l.Text)
		if l.Type == "completion" {
			completions++
		}
	}
	joined := strings.Join(log, "\n")
	for _, want := range []string{"step b failed: boom in b", "Retrying from step b (attempt 2)", "Run completed successfully"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("log lacks %q:\n%s", want, joined)
		}
	}
	if completions != 1 {
		t.Fatalf("the log must end with exactly one completion event, got %d", completions)
	}
}

func TestScaffoldDryRunSkipsSideEffects(t *testing.T) {
	e := newScaffoldEnv(t, "")
	p := plan(
		templates.PlanStep{ID: "safe", Name: "Safe", Input: map[string]any{"message": "ok"}},
		templates.PlanStep{ID: "unsafe", Name: "Unsafe", Input: map[string]any{"message": "publish"}},
	)
	p.Steps[0].DryRunSafe = true
	e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "d1", Plan: p, DryRun: true})
	if err := e.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(e.calls, ","); got != "safe:ok" {
		t.Fatalf("dry run ran %s", got)
	}
	if st := state(t, e.env); st.Steps[1].Status != StepSkipped {
		t.Fatalf("unsafe step %+v", st.Steps[1])
	}
}

// TestScaffoldSecretsNeverEnterTheWorkflow: an expression using a secret
// renders to a reference; the value is only known to the action activity.
func TestScaffoldSecretsNeverEnterTheWorkflow(t *testing.T) {
	e := newScaffoldEnv(t, "")
	e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "s1", Secrets: []string{"token"}, SecretNonce: "n1", Plan: plan(
		templates.PlanStep{ID: "a", Name: "A", Input: map[string]any{"message": "${{ secrets.token }}"}},
	)})
	if err := e.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(e.calls) != 1 || e.calls[0] != "a:"+contract.SecretRef("n1", "token") {
		t.Fatalf("the action got %q, want the reference", e.calls)
	}
}

// TestScaffoldLocalSteps: steps whose action is Local render and run in one
// local activity with the real actions, with if, each, logs and failures
// handled as for activity steps.
func TestScaffoldLocalSteps(t *testing.T) {
	e := newScaffoldEnv(t, "")
	p := plan(
		templates.PlanStep{ID: "w", Name: "W", Action: "fs:write", Input: map[string]any{"path": "${{ parameters.name }}.txt", "content": "x"}},
		templates.PlanStep{ID: "skip", Name: "S", Action: "debug:log", If: "${{ parameters.go }}", Input: map[string]any{"message": "never"}},
		templates.PlanStep{ID: "each", Name: "E", Action: "debug:log", Each: "${{ parameters.envs }}", Input: map[string]any{"message": "env ${{ each.value }}"}},
		templates.PlanStep{ID: "bad", Name: "B", Action: "fs:write", Input: map[string]any{"path": "../../escape", "content": "x"}},
		templates.PlanStep{ID: "after", Name: "A", Input: map[string]any{"message": "never"}},
	)
	for i := range 4 {
		p.Steps[i].Local = true
	}
	p.Output = nil
	e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "l1", Plan: p})
	err := e.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "step bad (fs:write) failed") || !strings.Contains(err.Error(), "leaves the task workspace") {
		t.Fatalf("want the local step's failure, got %v", err)
	}
	if len(e.calls) != 0 {
		t.Fatalf("activity steps ran: %v", e.calls)
	}
	st := state(t, e.env)
	var got []string
	for _, s := range st.Steps {
		got = append(got, s.ID+"="+s.Status)
	}
	if strings.Join(got, " ") != "w=completed skip=skipped each=completed bad=failed after=open" {
		t.Fatalf("steps %v", got)
	}
	var log []string
	for _, l := range st.Log {
		log = append(log, l.Text)
	}
	joined := strings.Join(log, "\n")
	for _, want := range []string{"wrote svc.txt", "env dev", "env prod", "Skipping step skip"} {
		if !strings.Contains(joined, want) {
			t.Errorf("log lacks %q:\n%s", want, joined)
		}
	}
}
