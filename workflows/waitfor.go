package workflows

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/templates"
)

// ScaffoldEventSignal carries a contract.SignedEvent (a verified webhook
// delivery or a callback) to the rigger:wait-for step the run waits on.
const ScaffoldEventSignal = "event"

// WaitState is what a rigger:wait-for step waits for, and what came.
type WaitState struct {
	RequestID string `json:"requestId"`
	// For is callback, pull-request or workflow-run; What says it in words.
	For         string    `json:"for"`
	What        string    `json:"what"`
	Message     string    `json:"message,omitempty"`
	RequestedAt time.Time `json:"requestedAt"`
	Deadline    time.Time `json:"deadline"`
	// CallbackPath is where the callback is posted (its token inside).
	CallbackPath string `json:"callbackPath,omitempty"`
	// Outcome is "", received or timed-out.
	Outcome    string     `json:"outcome,omitempty"`
	ReceivedAt *time.Time `json:"receivedAt,omitempty"`
}

// WaitedType is the error type of a wait that ended without what it
// waited for (timed out, a pull request closed unmerged): not retried.
const WaitedType = "WaitEnded"

// waitSpec is a rendered rigger:wait-for input.
type waitSpec struct {
	kind, key, what, until string
	timeout                time.Duration
}

// parseWaitFor reads a rendered rigger:wait-for input.
func parseWaitFor(in map[string]any, taskID, requestID string) (waitSpec, error) {
	var w waitSpec
	w.kind, _ = in["for"].(string)
	timeout := contract.DefaultWaitFor
	if s, ok := in["timeout"].(string); ok && s != "" {
		d, err := templates.ParseWaitDuration(s)
		if err != nil || d <= 0 || d > contract.MaxWaitFor {
			return w, fmt.Errorf("rigger:wait-for: timeout %q must be between 1s and %d days (48h, 14d, 2w)", s, contract.MaxWaitFor/(24*time.Hour))
		}
		timeout = d
	}
	w.timeout = timeout
	switch w.kind {
	case contract.WaitCallback:
		w.key, w.what = "callback:"+taskID+":"+requestID, "a call to its callback URL"
		return w, nil
	case contract.WaitPullRequest, contract.WaitWorkflowRun:
	default:
		return w, fmt.Errorf("rigger:wait-for: for must be callback, pull-request or workflow-run, not %q", w.kind)
	}
	repo, err := templates.ParseRepoURL(fmt.Sprint(in["repoUrl"]))
	if err != nil {
		return w, fmt.Errorf("rigger:wait-for: repoUrl: %w", err)
	}
	slug := strings.ToLower(repo.Host + "/" + repo.Owner + "/" + repo.Repo)
	if w.kind == contract.WaitPullRequest {
		n, err := positiveInt(in["pullRequest"])
		if err != nil {
			return w, fmt.Errorf("rigger:wait-for: pullRequest: %w", err)
		}
		w.until, _ = in["until"].(string)
		if w.until == "" {
			w.until = "merged"
		}
		if w.until != "merged" && w.until != "closed" {
			return w, fmt.Errorf("rigger:wait-for: until must be merged or closed, not %q", w.until)
		}
		w.key = WaitKeyPullRequest(slug, n)
		w.what = fmt.Sprintf("pull request #%d of %s to be %s", n, slug, w.until)
		return w, nil
	}
	wf, _ := in["workflow"].(string)
	branch, _ := in["branch"].(string)
	if wf == "" || strings.ContainsAny(wf, "/\\") {
		return w, fmt.Errorf("rigger:wait-for: workflow must be a workflow file name such as ci.yml, not %q", wf)
	}
	w.key = WaitKeyWorkflowRun(slug, wf, branch)
	w.what = fmt.Sprintf("a run of workflow %s of %s", wf, slug)
	if branch != "" {
		w.what += " on branch " + branch
	}
	w.what += " to complete"
	return w, nil
}

// WaitKeyPullRequest is the routing key of a wait on a pull request
// (repo is host/owner/name, lower case).
func WaitKeyPullRequest(repo string, number int) string {
	return "github:" + repo + ":pull:" + strconv.Itoa(number)
}

// WaitKeyWorkflowRun is the routing key of a wait on a workflow's runs
// (branch "" matches runs on any branch).
func WaitKeyWorkflowRun(repo, workflowFile, branch string) string {
	return "github:" + repo + ":workflow:" + strings.ToLower(workflowFile) + ":" + branch
}

func positiveInt(v any) (int, error) {
	var n int
	switch x := v.(type) {
	case float64:
		n = int(x)
		if float64(n) != x {
			return 0, fmt.Errorf("%v is not a whole number", x)
		}
	case int:
		n = x
	case int64:
		n = int(x)
	case string:
		var err error
		if n, err = strconv.Atoi(strings.TrimSpace(x)); err != nil {
			return 0, fmt.Errorf("%q is not a number", x)
		}
	default:
		return 0, fmt.Errorf("want a number, got %T", v)
	}
	if n <= 0 {
		return 0, fmt.Errorf("%d is not a positive number", n)
	}
	return n, nil
}

// awaitEvent runs a rigger:wait-for step: it records the wait (so a
// webhook finds the run), then waits on a durable timer and the event
// signal, holding no worker; only an event the API server signed for this
// wait ends it.
func awaitEvent(ctx workflow.Context, in ScaffoldInput, step templates.PlanStep, item int, input map[string]any) (contract.ActionOutput, error) {
	a, _ := ctx.Value(approvalsKey{}).(*approvals)
	if a == nil || a.events == nil {
		return contract.ActionOutput{}, temporal.NewNonRetryableApplicationError("rigger:wait-for runs only in a scaffolder run", WaitedType, nil)
	}
	idx := a.stepIndex(step.ID)
	now := workflow.Now(ctx)
	requestID := fmt.Sprintf("%s.%d.%d", step.ID, item, now.UnixMilli())
	spec, err := parseWaitFor(input, in.TaskID, requestID)
	if err != nil || idx < 0 {
		if err == nil {
			err = fmt.Errorf("step %s is not in the run", step.ID)
		}
		return contract.ActionOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), WaitedType, nil)
	}
	msg, _ := input["message"].(string)
	if len(msg) > maxApprovalMessage {
		msg = msg[:maxApprovalMessage] + "\n… (cut)"
	}
	ws := &WaitState{RequestID: requestID, For: spec.kind, What: spec.what, Message: msg, RequestedAt: now, Deadline: now.Add(spec.timeout)}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5, InitialInterval: time.Second},
	})
	hash := in.InputHash()
	var reg contract.RegisterWaitOutput
	if err := workflow.ExecuteLocalActivity(lctx, contract.ScaffoldRegisterWait, contract.RegisterWaitInput{
		StepID: step.ID, RequestID: requestID, Key: spec.key, Deadline: ws.Deadline, Callback: spec.kind == contract.WaitCallback,
		Run: in.Run, InputHash: hash}).Get(ctx, &reg); err != nil {
		return contract.ActionOutput{}, err
	}
	ws.CallbackPath = reg.CallbackPath
	a.st.Steps[idx].Wait = ws
	line := fmt.Sprintf("Waiting for %s (until %s)", spec.what, ws.Deadline.UTC().Format(time.RFC3339))
	if ws.CallbackPath != "" {
		line += "; POST a JSON body to it (the URL is on the task page, and in the task's steps[].wait.callbackPath)"
	}
	a.log(step.ID, "log", line)
	defer func() {
		// The routing entry also expires at the deadline; dropping it now
		// keeps the table small. A failure here changes nothing.
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		dctx = workflow.WithLocalActivityOptions(dctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second,
			RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 2}})
		_ = workflow.ExecuteLocalActivity(dctx, contract.ScaffoldEndWait, contract.EndWaitInput{RequestID: requestID, Run: in.Run, InputHash: hash}).Get(dctx, nil)
	}()

	return signalWait(ctx, in, a.events, spec.timeout, func(checkCtx workflow.Context, signal contract.SignedEvent) (bool, contract.ActionOutput, error) {
		var res contract.EventResult
		err := workflow.ExecuteLocalActivity(checkCtx, contract.ScaffoldCheckEvent, contract.CheckEventInput{
			Signal: signal, StepID: step.ID, RequestID: requestID, Key: spec.key, Run: in.Run, InputHash: hash}).Get(ctx, &res)
		if err != nil {
			a.log(step.ID, "log", "Ignored an event: "+rootMessage(err))
			return false, contract.ActionOutput{}, nil
		}
		if s, _ := res.Event.Data["startedAt"].(string); s != "" {
			if at, perr := time.Parse(time.RFC3339, s); perr == nil && at.Before(ws.RequestedAt) {
				a.log(step.ID, "log", fmt.Sprintf("Ignored an event of %s, before this wait began", s))
				return false, contract.ActionOutput{}, nil
			}
		}
		at := workflow.Now(ctx)
		ws.Outcome, ws.ReceivedAt = "received", &at
		out, err := eventOutcome(res, spec.until)
		return true, out, err
	}, func() error {
		ws.Outcome = TimedOut
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s did not happen within %s", strings.ToUpper(spec.what[:1])+spec.what[1:], spec.timeout), WaitedType, nil)
	})
}

// eventOutcome is a received event's step outcome: its output, or the
// failure of a pull request closed unmerged (until merged) or a workflow
// run that did not succeed.
func eventOutcome(res contract.EventResult, until string) (contract.ActionOutput, error) {
	out := contract.ActionOutput{Output: res.Output, OutputMark: res.OutputMark}
	url, _ := res.Event.Data["url"].(string)
	switch res.Event.Kind {
	case contract.WaitPullRequest:
		merged, _ := res.Event.Data["merged"].(bool)
		if until == "merged" && !merged {
			return contract.ActionOutput{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("pull request %s was closed without being merged", url), WaitedType, nil)
		}
		out.Logs = []string{fmt.Sprintf("Pull request %s was %s", url, map[bool]string{true: "merged", false: "closed"}[merged])}
	case contract.WaitWorkflowRun:
		conclusion, _ := res.Event.Data["conclusion"].(string)
		if conclusion != "success" {
			return contract.ActionOutput{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("workflow run %s completed with conclusion %q", url, conclusion), WaitedType, nil)
		}
		out.Logs = []string{fmt.Sprintf("Workflow run %s succeeded", url)}
	default:
		out.Logs = []string{"The callback was called"}
	}
	return out, nil
}

// signalWait waits, holding no worker, on a durable timer of timeout and
// on ch, keeping the run alive meanwhile. Each signal that decodes as a T
// goes to handle, with a context for its check's local activity; handle
// says whether the wait is over (false: the signal was ignored). A
// signal that does not decode is dropped (ReceiveAsync: Receive would
// block on it past the timer and a cancellation). When the timer fires,
// timedOut gives the step's error; a cancelled run ends with the
// cancellation.
func signalWait[T any](ctx workflow.Context, in ScaffoldInput, ch workflow.ReceiveChannel, timeout time.Duration,
	handle func(checkCtx workflow.Context, signal T) (bool, contract.ActionOutput, error), timedOut func() error) (contract.ActionOutput, error) {
	end := markWaiting(ctx)
	timerCtx, stopTimer := workflow.WithCancel(ctx)
	defer stopTimer()
	timer := workflow.NewTimer(timerCtx, timeout)
	checkCtx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	keep := newKeeper(timerCtx, in)
	for {
		var signal T
		var timerErr error
		fired, received, alive := false, false, false
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(timer, func(f workflow.Future) { fired, timerErr = true, f.Get(ctx, nil) })
		sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) { received = c.ReceiveAsync(&signal) })
		keep.add(sel, &alive)
		sel.Select(ctx)
		switch {
		case alive && !fired && !received:
			keep.beat(timerCtx)
		case fired && timerErr != nil: // the run was cancelled
			return contract.ActionOutput{}, timerErr
		case fired:
			return contract.ActionOutput{}, timedOut()
		case received:
			if done, out, err := handle(checkCtx, signal); done {
				if err == nil {
					end()
				}
				return out, err
			}
		}
	}
}

// waitKeepAliveChange adds keep-alives to waiting steps (runs that began
// waiting before it have none).
const waitKeepAliveChange = "wait-keep-alive"

// keeper keeps a waiting run's workspace and secrets from expiring: a
// timer every contract.KeepAliveEvery whose firing runs the keep-alive
// local activity. Its timer is nil on runs that began before it.
type keeper struct {
	in    ScaffoldInput
	timer workflow.Future
}

func newKeeper(ctx workflow.Context, in ScaffoldInput) *keeper {
	k := &keeper{in: in}
	if workflow.GetVersion(ctx, waitKeepAliveChange, workflow.DefaultVersion, 1) >= 1 {
		k.timer = workflow.NewTimer(ctx, contract.KeepAliveEvery)
	}
	return k
}

// add puts the keep-alive timer into sel; fired is set when it fires.
func (k *keeper) add(sel workflow.Selector, fired *bool) {
	if k.timer != nil {
		sel.AddFuture(k.timer, func(workflow.Future) { *fired = true })
	}
}

// beat keeps the run alive and sets the next timer. A failure is logged
// by the SDK and changes nothing else: the wait goes on.
func (k *keeper) beat(ctx workflow.Context) {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3, InitialInterval: time.Second},
	})
	_ = workflow.ExecuteLocalActivity(lctx, contract.ScaffoldKeepAlive, contract.KeepAliveInput{Run: k.in.Run, InputHash: k.in.InputHash()}).Get(ctx, nil)
	k.timer = workflow.NewTimer(ctx, contract.KeepAliveEvery)
}
