package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/searchattr"
	"github.com/riggerdev/rigger/templates"
)

// ScaffoldName is the registered name of the scaffolder workflow.
const ScaffoldName = "rigger.scaffold"

// Query and signal names of a scaffolder run.
const (
	ScaffoldStateQuery   = "state"
	ScaffoldCancelSignal = "cancel"
)

// Step statuses, as Backstage names them.
const (
	StepOpen       = "open"
	StepProcessing = "processing"
	StepCompleted  = "completed"
	StepFailed     = "failed"
	StepSkipped    = "skipped"
	StepCancelled  = "cancelled"
)

// StepState is one step's live state.
type StepState struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Action    string     `json:"action"`
	Status    string     `json:"status"`
	StartedAt *time.Time `json:"startedAt,omitempty"`
	EndedAt   *time.Time `json:"endedAt,omitempty"`
	Error     string     `json:"error,omitempty"`
}

// LogEvent is one line of a run's log.
type LogEvent struct {
	Seq    int       `json:"seq"`
	Time   time.Time `json:"createdAt"`
	StepID string    `json:"stepId,omitempty"`
	Type   string    `json:"type"` // log | completion
	Text   string    `json:"message"`
}

// ScaffoldState is what the state query returns.
type ScaffoldState struct {
	Status string         `json:"status"`
	Steps  []StepState    `json:"steps"`
	Log    []LogEvent     `json:"log"`
	Output map[string]any `json:"output,omitempty"`
}

// ScaffoldInput starts a run.
type ScaffoldInput struct {
	TaskID string         `json:"taskId"`
	Plan   templates.Plan `json:"plan"`
}

// maxLogEvents bounds the log kept in workflow state.
const maxLogEvents = 5000

// Scaffold interprets a compiled Plan: for each step it renders if/each/input
// in a local activity (recorded in history), runs the step's action activity
// on its task queue with its timeout and retry policy — or, for debug:wait, a
// durable timer that holds no worker — and records the output for later
// steps. A failed step fails the run with that step's error; the cancel
// signal stops it between or during steps.
func Scaffold(ctx workflow.Context, in ScaffoldInput) (map[string]any, error) {
	st := &ScaffoldState{Status: "processing"}
	for _, s := range in.Plan.Steps {
		st.Steps = append(st.Steps, StepState{ID: s.ID, Name: s.Name, Action: s.Action, Status: StepOpen})
	}
	if err := workflow.SetQueryHandler(ctx, ScaffoldStateQuery, func() (*ScaffoldState, error) { return st, nil }); err != nil {
		return nil, err
	}
	log := func(stepID, typ, text string) {
		if len(st.Log) >= maxLogEvents {
			return
		}
		st.Log = append(st.Log, LogEvent{Seq: len(st.Log) + 1, Time: workflow.Now(ctx), StepID: stepID, Type: typ, Text: text})
	}

	ctx, cancel := workflow.WithCancel(ctx)
	cancelled := false
	workflow.Go(ctx, func(gctx workflow.Context) {
		workflow.GetSignalChannel(gctx, ScaffoldCancelSignal).Receive(gctx, nil)
		cancelled = true
		cancel()
	})

	sc := contract.ScaffoldContext{TaskID: in.TaskID, Parameters: in.Plan.Parameters, Steps: map[string]map[string]any{}, UserRef: in.Plan.UserRef}
	localCtx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	_, _, statusKey := searchattr.Keys()
	setStatus := func(status string) {
		st.Status = status
		// Listing by status in the API and the Temporal UI reads this; a
		// cluster without the attribute registered only loses the listing.
		if err := workflow.UpsertTypedSearchAttributes(ctx, statusKey.ValueSet(status)); err != nil {
			workflow.GetLogger(ctx).Warn("upsert RiggerStatus", "error", err)
		}
	}
	fail := func(i int, err error) (map[string]any, error) {
		now := workflow.Now(ctx)
		if cancelled {
			st.Steps[i].Status = StepCancelled
			setStatus("cancelled")
			log(st.Steps[i].ID, "completion", "run cancelled")
			return nil, temporal.NewCanceledError("cancelled by user")
		}
		msg := rootMessage(err)
		st.Steps[i].Status, st.Steps[i].EndedAt, st.Steps[i].Error = StepFailed, &now, msg
		setStatus("failed")
		log(st.Steps[i].ID, "completion", fmt.Sprintf("step %s failed: %s", st.Steps[i].ID, msg))
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("step %s (%s) failed: %s", st.Steps[i].ID, st.Steps[i].Action, msg), "StepFailed", nil)
	}

	for i, step := range in.Plan.Steps {
		now := workflow.Now(ctx)
		st.Steps[i].Status, st.Steps[i].StartedAt = StepProcessing, &now
		log(step.ID, "log", fmt.Sprintf("Beginning step %s", step.Name))

		var rendered contract.RenderOutput
		err := workflow.ExecuteLocalActivity(localCtx, contract.ScaffoldRender, contract.RenderInput{
			Context: sc, StepID: step.ID, If: step.If, Each: step.Each, Input: step.Input,
		}).Get(ctx, &rendered)
		if err != nil {
			return fail(i, err)
		}
		if rendered.Skip {
			end := workflow.Now(ctx)
			st.Steps[i].Status, st.Steps[i].EndedAt = StepSkipped, &end
			log(step.ID, "log", fmt.Sprintf("Skipping step %s: its if condition is false", step.ID))
			continue
		}
		var output map[string]any
		for _, item := range rendered.Items {
			out, err := runAction(ctx, in.TaskID, in.Plan.Template.BaseURL, step, item)
			if err != nil {
				return fail(i, err)
			}
			for _, l := range out.Logs {
				log(step.ID, "log", l)
			}
			output = out.Output
		}
		if output == nil {
			output = map[string]any{}
		}
		sc.Steps[step.ID] = output // expressions see it as steps.<id>.output
		end := workflow.Now(ctx)
		st.Steps[i].Status, st.Steps[i].EndedAt = StepCompleted, &end
		log(step.ID, "log", fmt.Sprintf("Finished step %s", step.Name))
	}

	var output map[string]any
	if len(in.Plan.Output) > 0 {
		if err := workflow.ExecuteLocalActivity(localCtx, contract.ScaffoldRenderOutput, contract.RenderOutputInput{Context: sc, Output: in.Plan.Output}).Get(ctx, &output); err != nil {
			setStatus("failed")
			log("", "completion", "rendering the output failed: "+rootMessage(err))
			return nil, err
		}
	}
	st.Output = output
	setStatus("completed")
	log("", "completion", "Run completed successfully")
	return output, nil
}

// runAction runs one rendered item of a step.
func runAction(ctx workflow.Context, taskID, baseURL string, step templates.PlanStep, item contract.RenderedItem) (contract.ActionOutput, error) {
	if step.Action == contract.ActionWait {
		d, err := waitDuration(item.Input)
		if err != nil {
			return contract.ActionOutput{}, err
		}
		if err := workflow.Sleep(ctx, d); err != nil {
			return contract.ActionOutput{}, err
		}
		return contract.ActionOutput{Logs: []string{fmt.Sprintf("waited %s", d)}}, nil
	}
	retry := &temporal.RetryPolicy{
		MaximumAttempts:    step.Retry.MaximumAttempts,
		InitialInterval:    step.Retry.InitialInterval,
		BackoffCoefficient: step.Retry.BackoffCoefficient,
		MaximumInterval:    step.Retry.MaximumInterval,
	}
	timeout := step.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           step.TaskQueue,
		StartToCloseTimeout: timeout,
		RetryPolicy:         retry,
	})
	var out contract.ActionOutput
	err := workflow.ExecuteActivity(actx, contract.ActionActivity(step.Action), contract.ActionInput{TaskID: taskID, StepID: step.ID, Input: item.Input, TemplateBaseURL: baseURL}).Get(ctx, &out)
	return out, err
}

// waitDuration reads debug:wait's input: minutes, seconds, milliseconds.
func waitDuration(in map[string]any) (time.Duration, error) {
	var d time.Duration
	units := []struct {
		key  string
		unit time.Duration
	}{{"minutes", time.Minute}, {"seconds", time.Second}, {"milliseconds", time.Millisecond}}
	for _, u := range units {
		key, unit := u.key, u.unit
		switch v := in[key].(type) {
		case nil:
		case float64:
			d += time.Duration(v * float64(unit))
		case int64:
			d += time.Duration(v) * unit
		case int:
			d += time.Duration(v) * unit
		default:
			return 0, fmt.Errorf("debug:wait: %s must be a number", key)
		}
	}
	if d <= 0 || d > contract.MaxWait {
		return 0, fmt.Errorf("debug:wait: wait between 1ms and %s (minutes, seconds, milliseconds)", contract.MaxWait)
	}
	return d, nil
}

// rootMessage returns the innermost application error's message, without
// the SDK's wrapping.
func rootMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Error()
	}
	return err.Error()
}
