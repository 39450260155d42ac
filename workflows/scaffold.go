package workflows

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/runsign"
	"github.com/riggerdev/rigger/internal/searchattr"
	"github.com/riggerdev/rigger/templates"
)

// ScaffoldName is the registered name of the scaffolder workflow.
const ScaffoldName = "rigger.scaffold"

// Query and signal names of a scaffolder run.
const (
	ScaffoldStateQuery   = "state"
	ScaffoldCancelSignal = "cancel"
	// ScaffoldApprovalSignal carries a contract.SignedDecision to the
	// approval step the run waits on.
	ScaffoldApprovalSignal = "approval"
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
	// Approval is a rigger:approval step's request and its decision.
	Approval *ApprovalState `json:"approval,omitempty"`
	// Wait is a rigger:wait-for step's wait and what ended it.
	Wait *WaitState `json:"wait,omitempty"`
}

// LogEvent is one line of a run's log.
type LogEvent struct {
	Seq    int       `json:"seq"`
	Time   time.Time `json:"createdAt"`
	StepID string    `json:"stepId,omitempty"`
	Type   string    `json:"type"` // log | completion
	Text   string    `json:"message"`
}

// ScaffoldState is what the state query returns, what a completed run
// returns, and what a failed or cancelled run carries as its error's
// details: the API reads a finished task without replaying it.
type ScaffoldState struct {
	Status string         `json:"status"`
	Steps  []StepState    `json:"steps"`
	Log    []LogEvent     `json:"log"`
	Output map[string]any `json:"output,omitempty"`
	// Outputs are the outputs of the steps that finished, by step id; a
	// retry starts from them.
	Outputs map[string]map[string]any `json:"outputs,omitempty"`
	// Marks are the workers' marks of the steps that finished, by step id
	// (runsign.Marker.MarkStep over status and output): a retry resumes
	// only steps whose mark verifies.
	Marks map[string]string `json:"marks,omitempty"`
	// Attempt counts runs of this task: 1, then one more per retry.
	Attempt int `json:"attempt"`
	// Who ran which template, and when the task was first created: the
	// API answers from the state alone.
	TaskID      string `json:"taskId"`
	TemplateRef string `json:"templateRef,omitempty"`
	UserRef     string `json:"userRef,omitempty"`
	// Channel is the plan's: "mcp" for a run an agent started.
	Channel   string    `json:"channel,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	// Recall is the task's values as Start over may show them again
	// (ScaffoldInput.Recall).
	Recall map[string]any `json:"recall,omitempty"`
}

// ScaffoldInput starts a run.
type ScaffoldInput struct {
	TaskID string         `json:"taskId"`
	Plan   templates.Plan `json:"plan"`
	// Secrets names the secrets given with the task. Their values never
	// enter the workflow: expressions render them as references that the
	// action activity resolves from the worker's secret store.
	Secrets []string `json:"secrets,omitempty"`
	// SecretNonce is random per task; secret references carry it, so no
	// other text can pass for one.
	SecretNonce string `json:"secretNonce,omitempty"`
	// DryRun runs steps whose action is dry-run safe and skips the others.
	DryRun bool `json:"dryRun,omitempty"`
	// Recall is the task's values less the fields its template marks
	// sensitive (templates.Recall): what the task's readers see again.
	Recall map[string]any `json:"recall,omitempty"`
	// Resume is the state of a failed run: the steps that completed keep
	// their outputs and are not run again; the run starts at the first
	// step that did not complete.
	Resume *ScaffoldState `json:"resume,omitempty"`
	// Run is the API server's signature over the rest of this input and
	// what it decided (user, permissions, template base): workers refuse a
	// run without a valid one.
	Run *contract.RunGrant `json:"run,omitempty"`
}

// InputHash is the hash of in without its grant, which the grant signs.
func (in ScaffoldInput) InputHash() string {
	in.Run = nil
	h, err := runsign.InputHash(in)
	if err != nil {
		return "" // no grant matches it: the run is refused
	}
	return h
}

// DryRunResult is what a dry run of a Plan produced (worker.DryRunner).
type DryRunResult struct {
	State ScaffoldState
	// Err is the run's failure, if it failed (State then shows the step).
	Err   error
	Files []contract.DryRunFile
}

// StepFailedType is the error type of a run that failed in a step.
const StepFailedType = "StepFailed"

// The log kept in workflow state is bounded: it travels in query results
// and in the run's result.
const (
	maxLogEvents = 5000
	maxLogBytes  = 1 << 20
	logTruncated = "… later log lines were not kept (the run's log is full)"
)

// Scaffold interprets a compiled Plan: for each step it renders if/each/input
// in a local activity (recorded in history), runs the step's action activity
// on its task queue with its timeout and retry policy — or, for debug:wait, a
// durable timer that holds no worker — and records the output for later
// steps. A failed step fails the run with that step's error and the run's
// state as details; the cancel signal stops it between or during steps.
func Scaffold(ctx workflow.Context, in ScaffoldInput) (*ScaffoldState, error) {
	return scaffold(ctx, in, marksWaits)
}

// marksWaits tells whether this run marks its waits (waitingStatusChange).
// Called at the run's first wait, so a run that began waiting on a worker
// without the change replays the old path, and keeps it to its end.
func marksWaits(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, waitingStatusChange, workflow.DefaultVersion, 1) >= 1
}

// scaffold is Scaffold with the guard of waitingStatusChange given:
// replay tests pass one that ignores the run's version, to show that the
// guard is what keeps runs started without the change replaying.
func scaffold(ctx workflow.Context, in ScaffoldInput, marksWaits func(workflow.Context) bool) (*ScaffoldState, error) {
	st := &ScaffoldState{
		Status: "processing", Attempt: 1, Outputs: map[string]map[string]any{}, Marks: map[string]string{},
		TaskID: in.TaskID, TemplateRef: in.Plan.Template.Ref, UserRef: in.Plan.UserRef, Channel: in.Plan.Channel,
		CreatedAt: workflow.GetInfo(ctx).WorkflowStartTime, Recall: in.Recall,
	}
	for _, s := range in.Plan.Steps {
		st.Steps = append(st.Steps, StepState{ID: s.ID, Name: s.Name, Action: s.Action, Status: StepOpen})
	}
	versions := runVersions(ctx)
	logBytes := 0
	log := func(stepID, typ, text string) {
		// The state is a query result and the run's result: bounded in
		// count and bytes; a completion event always fits.
		logBytes += len(text)
		if typ != "completion" && (len(st.Log) >= maxLogEvents || logBytes > maxLogBytes) {
			if n := len(st.Log); n > 0 && st.Log[n-1].Text != logTruncated {
				st.Log = append(st.Log, LogEvent{Seq: n + 1, Time: workflow.Now(ctx), StepID: stepID, Type: "log", Text: logTruncated})
			}
			return
		}
		st.Log = append(st.Log, LogEvent{Seq: len(st.Log) + 1, Time: workflow.Now(ctx), StepID: stepID, Type: typ, Text: text})
	}
	first := 0
	if r := in.Resume; r != nil {
		first = resume(st, r)
		if first < len(st.Steps) {
			log(st.Steps[first].ID, "log", fmt.Sprintf("Retrying from step %s (attempt %d)", st.Steps[first].ID, st.Attempt))
		}
	}
	if err := workflow.SetQueryHandler(ctx, ScaffoldStateQuery, func() (*ScaffoldState, error) { return st, nil }); err != nil {
		return nil, err
	}

	ctx, cancel := workflow.WithCancel(ctx)
	_, _, statusKey := searchattr.Keys()
	upsertStatus := func(u temporal.SearchAttributeUpdate) {
		// Listing by status in the Temporal UI (and CLI) reads this; a
		// cluster without the attribute registered only loses the listing.
		if err := workflow.UpsertTypedSearchAttributes(ctx, u); err != nil {
			workflow.GetLogger(ctx).Warn("upsert RiggerStatus", "error", err)
		}
	}
	waiting := func(c workflow.Context) (end func()) {
		if in.DryRun || !(versions.all || marksWaits(c)) {
			return func() {}
		}
		upsertStatus(statusKey.ValueSet(searchattr.StatusWaiting))
		return func() { upsertStatus(statusKey.ValueUnset()) }
	}
	ctx = workflow.WithValue(ctx, approvalsKey{}, &approvals{st: st, ch: workflow.GetSignalChannel(ctx, ScaffoldApprovalSignal),
		events: workflow.GetSignalChannel(ctx, ScaffoldEventSignal), log: log, waiting: waiting})
	cancelled := false
	workflow.Go(ctx, func(gctx workflow.Context) {
		workflow.GetSignalChannel(gctx, ScaffoldCancelSignal).Receive(gctx, nil)
		cancelled = true
		cancel()
	})

	// Every activity checks the grant; the local ones also that it signs
	// this input. Activity inputs are not compared on replay.
	run := runRef{grant: in.Run, hash: in.InputHash()}
	sc := contract.ScaffoldContext{TaskID: in.TaskID, Parameters: in.Plan.Parameters, Steps: st.Outputs, Marks: st.Marks, UserRef: in.Plan.UserRef, UserEntity: in.Plan.UserEntity, Secrets: in.Secrets, SecretNonce: in.SecretNonce}
	localCtx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	setStatus := func(status string) {
		st.Status = status
		upsertStatus(statusKey.ValueSet(status))
	}
	// forget drops the task's stored secrets once nothing can use them (a
	// failed run keeps them for a retry; they expire on their own).
	forget := func(c workflow.Context) {
		if len(in.Secrets) == 0 || in.DryRun {
			return
		}
		fctx := workflow.WithActivityOptions(c, workflow.ActivityOptions{
			TaskQueue: contract.QueueDefault, StartToCloseTimeout: 30 * time.Second,
			RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 5},
		})
		// The grant and input hash let the worker check the run (older
		// workers read the task id alone).
		if err := workflow.ExecuteActivity(fctx, contract.ScaffoldForgetSecrets, in.TaskID, run.grant, run.hash).Get(c, nil); err != nil {
			workflow.GetLogger(ctx).Warn("forget task secrets", "error", err)
		}
	}
	// outcome records the run's end in the audit log, as the run's user
	// (dry runs are not tasks). A failure to record does not change how
	// the run ended.
	outcome := func(c workflow.Context, what, step, msg string) {
		if in.DryRun || versions.at(c, auditOutcomeChange) < 1 {
			return
		}
		lctx := workflow.WithLocalActivityOptions(c, workflow.LocalActivityOptions{
			ScheduleToCloseTimeout: 30 * time.Second, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 3},
		})
		o := contract.TaskOutcome{TaskID: in.TaskID, Outcome: what, Step: step, Error: msg, Run: run.grant, InputHash: run.hash}
		if err := workflow.ExecuteLocalActivity(lctx, contract.ScaffoldRecordOutcome, o).Get(c, nil); err != nil {
			workflow.GetLogger(ctx).Warn("record the run's outcome in the audit log", "error", err)
		}
	}
	fail := func(i int, err error) (*ScaffoldState, error) {
		now := workflow.Now(ctx)
		// A cancellation requested through Temporal (its UI or CLI) rather
		// than the API's signal ends the run as cancelled too: its secrets
		// are forgotten and it does not read as failed.
		if !cancelled && ctx.Err() != nil && temporal.IsCanceledError(err) &&
			versions.at(ctx, temporalCancelChange) >= 1 {
			cancelled = true
		}
		if cancelled {
			st.Steps[i].Status, st.Steps[i].EndedAt = StepCancelled, &now
			setStatus("cancelled")
			log(st.Steps[i].ID, "completion", "run cancelled")
			dctx, _ := workflow.NewDisconnectedContext(ctx)
			forget(dctx)
			outcome(dctx, "cancelled", st.Steps[i].ID, "")
			return nil, temporal.NewCanceledError(st)
		}
		msg := rootMessage(err)
		st.Steps[i].Status, st.Steps[i].EndedAt, st.Steps[i].Error = StepFailed, &now, msg
		setStatus("failed")
		log(st.Steps[i].ID, "completion", fmt.Sprintf("step %s failed: %s", st.Steps[i].ID, msg))
		outcome(ctx, "failed", st.Steps[i].ID, msg)
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("step %s (%s) failed: %s", st.Steps[i].ID, st.Steps[i].Action, msg), StepFailedType, nil, st)
	}

	// Runs started before local steps existed replay the old path.
	localSteps := versions.at(ctx, localStepsChange) >= 1

	for i := first; i < len(in.Plan.Steps); i++ {
		step := in.Plan.Steps[i]
		now := workflow.Now(ctx)
		st.Steps[i].Status, st.Steps[i].StartedAt = StepProcessing, &now
		log(step.ID, "log", fmt.Sprintf("Beginning step %s", step.Name))
		logf := func(l string) { log(step.ID, "log", l) }
		var res stepResult
		var err error
		if localSteps && step.Local && !(in.DryRun && !step.DryRunSafe) {
			res, err = runLocalStep(ctx, in, run, sc, step, logf)
			deadlineReports := func() bool {
				return workflow.GetVersion(ctx, localStepDeadlineReport, workflow.DefaultVersion, 1) >= 1
			}
			if err != nil && !cancelled && longLocalStep(step, err, deadlineReports) &&
				versions.at(ctx, localStepFallback) >= 1 {
				logf(fmt.Sprintf("Step %s takes longer than a quick step may (%s); running it as an activity", step.ID, localStepLimit))
				res, err = runActivityStep(ctx, localCtx, in, run, sc, step, logf)
			}
		} else {
			res, err = runActivityStep(ctx, localCtx, in, run, sc, step, logf)
		}
		if err != nil {
			return fail(i, err)
		}
		end := workflow.Now(ctx)
		if res.skip != "" {
			st.Steps[i].Status, st.Steps[i].EndedAt = StepSkipped, &end
			st.mark(step.ID, res.mark)
			log(step.ID, "log", res.skip)
			continue
		}
		if res.output == nil {
			res.output = map[string]any{}
		}
		st.Outputs[step.ID] = res.output // expressions see it as steps.<id>.output
		st.mark(step.ID, res.mark)
		st.Steps[i].Status, st.Steps[i].EndedAt = StepCompleted, &end
		log(step.ID, "log", fmt.Sprintf("Finished step %s", step.Name))
	}

	var output map[string]any
	if len(in.Plan.Output) > 0 {
		if err := workflow.ExecuteLocalActivity(localCtx, contract.ScaffoldRenderOutput, contract.RenderOutputInput{Context: sc, Output: in.Plan.Output, Run: run.grant, InputHash: run.hash}).Get(ctx, &output); err != nil {
			setStatus("failed")
			msg := "rendering the output failed: " + rootMessage(err)
			log("", "completion", msg)
			outcome(ctx, "failed", "", msg)
			return nil, temporal.NewNonRetryableApplicationError(msg, StepFailedType, nil, st)
		}
	}
	st.Output = output
	forget(ctx)
	// RiggerStatus marks runs that did not complete; writing it on every
	// completed run cost ~15% of throughput (one more visibility write).
	if versions.at(ctx, statusOnlyOnFailure) == workflow.DefaultVersion {
		setStatus("completed")
	} else {
		st.Status = "completed"
	}
	log("", "completion", "Run completed successfully")
	outcome(ctx, "completed", "", "")
	return st, nil
}

// resume copies a failed run's state into st and returns the index of the
// first step to run: the first one that neither completed nor was skipped.
func resume(st *ScaffoldState, r *ScaffoldState) int {
	st.Attempt = r.Attempt + 1
	if !r.CreatedAt.IsZero() {
		st.CreatedAt = r.CreatedAt
	}
	for _, e := range r.Log {
		if e.Type == "completion" { // that run's end is now just history
			e.Type = "log"
		}
		st.Log = append(st.Log, e)
	}
	for id, out := range r.Outputs {
		st.Outputs[id] = out
	}
	for id, m := range r.Marks {
		st.mark(id, m)
	}
	first := len(st.Steps)
	for i := range st.Steps {
		if i >= len(r.Steps) || r.Steps[i].ID != st.Steps[i].ID {
			return min(first, i)
		}
		prev := r.Steps[i]
		if first == len(st.Steps) && prev.Status != StepCompleted && prev.Status != StepSkipped {
			first = i
		}
		if i < first {
			st.Steps[i] = prev
		}
	}
	return first
}

// mark keeps a step's mark (none: the step cannot be resumed).
func (st *ScaffoldState) mark(stepID, mark string) {
	if mark == "" {
		return
	}
	if st.Marks == nil {
		st.Marks = map[string]string{}
	}
	st.Marks[stepID] = mark
}

// oneVersionChange (session 33) is one version a run records at its start
// for the changes before it that runs ask about (localStepsChange,
// localStepFallback, statusOnlyOnFailure, auditOutcomeChange,
// temporalCancelChange, and waitingStatusChange at a run's first wait): a
// run that recorded it takes each of them at version 1 without asking. Every first GetVersion of a change id adds a
// marker and a search attribute upsert (TemporalChangeVersion) to history,
// and the upsert a visibility write: three of each on every completed run
// before, one now. Runs started without it replay the markers they have.
// A later change still asks GetVersion for itself.
const oneVersionChange = "one-version"

// runVersions reads oneVersionChange for the run.
func runVersions(ctx workflow.Context) runVersion {
	return runVersion{all: workflow.GetVersion(ctx, oneVersionChange, workflow.DefaultVersion, 1) >= 1}
}

// runVersion answers the version of a change oneVersionChange covers.
type runVersion struct{ all bool }

func (v runVersion) at(ctx workflow.Context, change string) workflow.Version {
	if v.all {
		return 1
	}
	return workflow.GetVersion(ctx, change, workflow.DefaultVersion, 1)
}

// temporalCancelChange marks the change that ends a run cancelled through
// Temporal as cancelled (it ended as failed and kept its secrets).
const temporalCancelChange = "temporal-cancel"

// statusOnlyOnFailure marks the change that stopped writing RiggerStatus
// for completed runs.
const statusOnlyOnFailure = "status-only-on-failure"

// auditOutcomeChange records a run's end in the audit log (a local
// activity at the end of the run).
const auditOutcomeChange = "audit-outcome"

// waitingStatusChange (session 32) sets RiggerStatus to "waiting" while a
// step waits for a person, an outside event or a timer (rigger:approval,
// rigger:wait-for, debug:wait) and unsets it when the wait ends, so the
// runs parked on someone can be listed (RiggerStatus = 'waiting' in the
// Temporal UI or CLI). A failed or cancelled wait leaves it to the run's
// end, which sets failed or cancelled. Two search attribute upserts per
// wait: commands that runs started before it do not have.
//
// Retire the DefaultVersion branch once no run that began waiting on an
// older worker can still be open: when listing the open rigger.scaffold
// runs started before the release that brought this change returns
// nothing. Then raise marksWaits' minimum to 1 (a history without the
// marker then fails replay loudly rather than taking a wrong path) and
// move its recorded histories out of the replay test.
const waitingStatusChange = "waiting-status"

// markWaiting marks the run as waiting until the returned func is called.
// A run on the path before waitingStatusChange, or a dry run, is not
// marked. Call the func only when the wait ended well: the run's end sets
// the status of one that failed.
func markWaiting(ctx workflow.Context) (end func()) {
	if a, _ := ctx.Value(approvalsKey{}).(*approvals); a != nil && a.waiting != nil {
		return a.waiting(ctx)
	}
	return func() {}
}

// stepResult is what running a step gave: a reason it was skipped, or its
// output.
type stepResult struct {
	skip   string
	output map[string]any
	mark   string // the worker's mark of the outcome
}

func skippedByIf(step templates.PlanStep) string {
	return fmt.Sprintf("Skipping step %s: its if condition is false", step.ID)
}

// runRef is a run's grant and the hash of its input.
type runRef struct {
	grant *contract.RunGrant
	hash  string
}

// runLocalStep renders and runs a Local step in one local activity.
func runLocalStep(ctx workflow.Context, in ScaffoldInput, run runRef, sc contract.ScaffoldContext, step templates.PlanStep, logf func(string)) (stepResult, error) {
	var res contract.LocalStepOutput
	err := workflow.ExecuteLocalActivity(localStepContext(ctx, step), contract.ScaffoldRunLocalStep, contract.LocalStepInput{
		Render: contract.RenderInput{Context: sc, StepID: step.ID, If: step.If, Each: step.Each, Input: step.Input, Run: run.grant, InputHash: run.hash, Action: step.Action},
		Action: step.Action,
		Base:   actionInput(in, step),
	}).Get(ctx, &res)
	for _, l := range res.Logs { // a failing item's logs are kept too
		logf(l)
	}
	if err != nil || !res.Skip {
		return stepResult{output: res.Output, mark: res.Mark}, err
	}
	return stepResult{skip: skippedByIf(step), mark: res.Mark}, nil
}

// runActivityStep renders a step in a local activity, then runs its action
// as an activity (or timer) per item.
func runActivityStep(ctx, localCtx workflow.Context, in ScaffoldInput, run runRef, sc contract.ScaffoldContext, step templates.PlanStep, logf func(string)) (stepResult, error) {
	var rendered contract.RenderOutput
	err := workflow.ExecuteLocalActivity(localCtx, contract.ScaffoldRender, contract.RenderInput{
		Context: sc, StepID: step.ID, If: step.If, Each: step.Each, Input: step.Input, Run: run.grant, InputHash: run.hash, Action: step.Action,
	}).Get(ctx, &rendered)
	switch {
	case err != nil:
		return stepResult{}, err
	case rendered.Skip:
		return stepResult{skip: skippedByIf(step), mark: rendered.Mark}, nil
	case in.DryRun && !step.DryRunSafe && step.External != nil:
		return stepResult{skip: fmt.Sprintf("Skipping step %s in this dry run: external action %s is not called (it is not declared dryRunSafe, or this dry run cannot reach its plugin)", step.ID, step.Action)}, nil
	case in.DryRun && !step.DryRunSafe:
		return stepResult{skip: fmt.Sprintf("Skipping step %s in this dry run: action %s has side effects outside the workspace", step.ID, step.Action)}, nil
	}
	res := stepResult{mark: rendered.Mark} // each over nothing: done
	for i, item := range rendered.Items {
		var out contract.ActionOutput
		if step.External != nil {
			out, err = runExternal(ctx, in, run, step, item)
		} else {
			out, err = runAction(ctx, in, step, i, item)
		}
		if err != nil {
			return stepResult{}, err
		}
		for _, l := range out.Logs {
			logf(l)
		}
		if out.StartRefresh != nil {
			startRefreshLoop(ctx, *out.StartRefresh)
		}
		res.output, res.mark = out.Output, out.OutputMark
	}
	return res, nil
}

// localStepsChange marks the change that runs Local steps as one local
// activity (render and action together).
const localStepsChange = "local-steps"

// localStepFallback marks the change that bounds a Local step's local
// activity by localStepLimit and runs a step that needs longer (or fails
// in a way a retry may fix) again as a regular activity.
const localStepFallback = "local-step-fallback"

// localStepLimit bounds a Local step's one local activity. While a local
// activity runs it holds the run's workflow task, and the state query
// (GET /v2/tasks/:id) and the cancel signal wait for that task: a quick
// step must stay quick, or they time out.
const localStepLimit = time.Second

// localStepContext gives a local step its timeout: the step's own, at most
// localStepLimit, and one attempt (retries run as a regular activity).
func localStepContext(ctx workflow.Context, step templates.PlanStep) workflow.Context {
	timeout := step.Timeout
	if timeout <= 0 || timeout > localStepLimit {
		timeout = localStepLimit
	}
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: timeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
}

// localStepDeadlineReport marks the change that counts a local step's own
// report of its deadline (reportedItsDeadline) as running out of time;
// runs before it failed the step there.
const localStepDeadlineReport = "local-step-deadline-report"

// longLocalStep tells whether a Local step that failed with err should run
// again as a regular activity: it ran out of its local time (and its own
// timeout allows more), or it failed in a way its retry policy retries.
// deadlineReports says whether the run counts the step's own report of
// its deadline as running out of time (asked only for that error).
func longLocalStep(step templates.PlanStep, err error, deadlineReports func() bool) bool {
	if temporal.IsTimeoutError(err) || reportedItsDeadline(err) && deadlineReports() {
		return step.Timeout <= 0 || step.Timeout > localStepLimit
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) && !app.NonRetryable() {
		return step.Retry.MaximumAttempts != 1
	}
	return false
}

// reportedItsDeadline tells whether err is the activity's own report that
// its context's deadline passed: a step that returns ctx.Err() as its
// local time runs out can finish before the SDK notices the deadline, and
// then fails with that error instead of a timeout. It arrives as the
// error itself on the first run and, read back from history on a replay,
// as an application error of its Go type's name: both must decide alike.
func reportedItsDeadline(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == deadlineErrType
}

// deadlineErrType is the type an application error converted from
// context.DeadlineExceeded carries (the SDK names it after the Go type).
var deadlineErrType = reflect.TypeOf(context.DeadlineExceeded).Name()

func retryPolicy(step templates.PlanStep) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		MaximumAttempts:    step.Retry.MaximumAttempts,
		InitialInterval:    step.Retry.InitialInterval,
		BackoffCoefficient: step.Retry.BackoffCoefficient,
		MaximumInterval:    step.Retry.MaximumInterval,
	}
}

// actionInput is what an action activity gets, but the input.
func actionInput(in ScaffoldInput, step templates.PlanStep) contract.ActionInput {
	return contract.ActionInput{
		TaskID: in.TaskID, StepID: step.ID, TemplateBaseURL: in.Plan.Template.BaseURL,
		DryRun: in.DryRun, Secrets: len(in.Secrets) > 0, SecretNonce: in.SecretNonce, UserRef: in.Plan.UserRef,
		Run: in.Run,
	}
}

// startRefreshLoop starts the refresh loop of a location a step registered,
// as an abandoned child: it outlives the run. A loop already running for
// the location is left alone.
func startRefreshLoop(ctx workflow.Context, r contract.StartRefresh) {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        CatalogWorkflowID(r.LocationID),
		TaskQueue:         contract.QueueDefault,
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
	})
	f := workflow.ExecuteChildWorkflow(cctx, CatalogRefreshName, CatalogRefreshInput{LocationID: r.LocationID, Interval: r.Interval})
	if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		workflow.GetLogger(ctx).Warn("start the refresh loop of a registered location", "location", r.LocationID, "error", err)
	}
}

// runAction runs one rendered item of a step.
func runAction(ctx workflow.Context, in ScaffoldInput, step templates.PlanStep, index int, item contract.RenderedItem) (contract.ActionOutput, error) {
	if step.Action == contract.ActionApproval {
		return awaitApproval(ctx, in, step, index, item.Input)
	}
	if step.Action == contract.ActionWaitFor {
		return awaitEvent(ctx, in, step, index, item.Input)
	}
	if step.Action == contract.ActionWait {
		d, err := waitDuration(item.Input)
		if err != nil {
			return contract.ActionOutput{}, err
		}
		end := markWaiting(ctx)
		if err := workflow.Sleep(ctx, d); err != nil {
			return contract.ActionOutput{}, err
		}
		end()
		return contract.ActionOutput{Logs: []string{fmt.Sprintf("waited %s", d)}}, nil
	}
	retry := retryPolicy(step)
	timeout := step.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           step.TaskQueue,
		StartToCloseTimeout: timeout,
		// Every action activity heartbeats (activities' wrapper): a step
		// lost with its worker is retried within seconds. Activity options
		// are not compared on replay: no version marker needed.
		HeartbeatTimeout: contract.HeartbeatTimeout,
		RetryPolicy:      retry,
	})
	var out contract.ActionOutput
	ai := actionInput(in, step)
	// The item's place and its rendering worker's mark: the activity runs
	// only what a worker rendered for this run (activity inputs are not
	// compared on replay).
	ai.Input, ai.Item, ai.EachKey, ai.Mark = item.Input, index, item.EachKey, item.Mark
	err := workflow.ExecuteActivity(actx, contract.ActionActivity(step.Action), ai).Get(ctx, &out)
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
		return app.Message()
	}
	return err.Error()
}
