package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/riggerdev/rigger/internal/audit"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/activities/step"
	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/netguard"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/runsign"
	"github.com/riggerdev/rigger/internal/tracing"
)

// RunTrust decides whether this worker serves a scaffolder run's
// activities. Anyone who can start workflows in the namespace can start
// rigger.scaffold with any input, so nothing in that input is trusted: the
// run must carry a grant the API server signed (scaffolder.runSigningKey)
// for the workflow that schedules the activity, over the very input the
// workflow runs, naming a template base this worker itself reads templates
// from. The activities then act for the user, on the task and with the
// base the grant names.
type RunTrust struct {
	// Verifier checks grants; nil refuses every run.
	Verifier *runsign.Verifier
	// Sources are where a template's base may point.
	Sources TemplateSources
	// Marker marks what this worker rendered for a run and each step's
	// outcome, and checks those marks: an action activity runs only input
	// a worker rendered for the run that schedules it. Every worker (and
	// the API server, which checks a retry's resume state) derives the
	// same key. Nil refuses every action activity.
	Marker *runsign.Marker
	// Live, when set, wins over Sources: a configuration reload swaps it
	// (a dry run's RunTrust has none: only its own base).
	Live *Swapped[TemplateSources]
}

// TemplateSources are the places a run's template base may name: this
// worker's own template sources, never whatever a workflow input says.
type TemplateSources struct {
	// Dirs hold the files of scaffolder.templates and of static file
	// locations, and the local repositories of static git locations: a
	// file base (or a local git base) must be inside one.
	Dirs []string
	// Hosts are the hosts an http(s) or git base may name
	// (scaffolder.allowedHosts and catalog.reading.allow).
	Hosts netguard.Policy
	// Bases are accepted as they are (a dry run's own folder).
	Bases []string
}

// RunRefusedType is the error type of a refused run (never retried).
const RunRefusedType = "RunRefused"

func refuse(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), RunRefusedType, nil)
}

// Check refuses a base that is not one of the sources.
func (t TemplateSources) Check(base string) error {
	if base == "" || slices.Contains(t.Bases, base) {
		return nil
	}
	bad := func(why string) error {
		return fmt.Errorf("template base %q is not a location this worker reads templates from: %s", base, why)
	}
	inDirs := func(p string) error {
		if !filepath.IsAbs(p) {
			return bad("not an absolute path")
		}
		p = filepath.Clean(p)
		for _, d := range t.Dirs {
			if rel, err := filepath.Rel(d, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return nil
			}
		}
		return bad("outside scaffolder.templates and the static file locations")
	}
	host := func(raw string) error {
		u, err := url.Parse(raw)
		if err != nil {
			return bad(err.Error())
		}
		if err := t.Hosts.CheckURL(u); err != nil {
			return bad(err.Error())
		}
		return nil
	}
	switch {
	case strings.HasPrefix(base, "file://"):
		u, err := url.Parse(base)
		if err != nil || u.Host != "" {
			return bad("not a local file URL")
		}
		return inDirs(filepath.FromSlash(u.Path))
	case strings.HasPrefix(base, "git:"):
		repo, _, _ := strings.Cut(strings.TrimPrefix(base, "git:"), "#")
		if p, ok := strings.CutPrefix(repo, "file://"); ok {
			return inDirs(filepath.FromSlash(p))
		}
		if strings.HasPrefix(repo, "/") {
			return inDirs(repo)
		}
		return host(repo)
	case strings.HasPrefix(base, "https://"), strings.HasPrefix(base, "http://"):
		return host(base)
	}
	return bad("unknown scheme")
}

// checkRun verifies a run's grant for the activity running in ctx and
// returns what it signs. hash, when checkHash, is the hash of the input
// the workflow runs (the local activities get it from the workflow; the
// regular ones cannot see the input and check the grant alone).
func (s *Scaffold) checkRun(ctx context.Context, g *contract.RunGrant, hash string, checkHash bool) (runsign.Claims, error) {
	if s.Trust == nil || s.Trust.Verifier == nil {
		return runsign.Claims{}, refuse(errors.New("this worker cannot verify scaffolder runs: set scaffolder.runSigningKey"))
	}
	if g == nil {
		return runsign.Claims{}, refuse(runsign.ErrUnsigned)
	}
	c, err := s.Trust.Verifier.Verify(g.Claims, g.Signature)
	if err != nil {
		return runsign.Claims{}, refuse(err)
	}
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		if info.WorkflowType == nil || info.WorkflowType.Name != contract.ScaffoldWorkflow || info.WorkflowExecution.ID != c.TaskID {
			return runsign.Claims{}, refuse(fmt.Errorf("%w: its grant is for task %s, not this workflow", runsign.ErrUnsigned, c.TaskID))
		}
	}
	if checkHash && (hash == "" || hash != c.InputHash) {
		return runsign.Claims{}, refuse(errors.New("run signature does not match its plan: the input was changed after the API server signed it"))
	}
	if err := s.Trust.sources().Check(c.BaseURL); err != nil {
		return runsign.Claims{}, refuse(err)
	}
	// The activity's span (when tracing) names the verified run.
	tracing.Tag(ctx, tracing.TaskID.String(c.TaskID), tracing.Template.String(c.TemplateRef))
	return c, nil
}

// ForbiddenType is the error type of an action the run's user may not run.
const ForbiddenType = "Forbidden"

// mayRun refuses an action that reads or writes rigger's own data (the
// catalog) when the run's user lacks the permission the REST route that
// does the same needs.
func mayRun(c runsign.Claims, action string) error {
	scope := permission.ActionScope(action)
	if scope == "" {
		return nil
	}
	if (permission.Subject{Ref: c.UserRef, Service: c.Service, Scopes: c.Scopes}).Allows(scope) {
		return nil
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("permission denied: %s needs the %s scope, which %s lacks (the catalog API would answer 403 too)", action, scope, c.UserRef),
		ForbiddenType, nil)
}

// DisabledType is the error type of a step whose action
// scaffolder.disabledActions switched off after its task was compiled.
const DisabledType = "ActionDisabled"

// StillEnabled refuses, for good (no retry), a step whose action the live
// scaffolder.disabledActions switches off: the task was compiled while it
// was on and reached the step after a reload (typically resuming from an
// approval or a wait). The error names the action, the step and the key.
func (s *Scaffold) StillEnabled(action, stepID, taskID string) error {
	if s.Disabled == nil || !s.Disabled.SwitchedOff(action) {
		return nil
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("action %s is disabled on this server (scaffolder.disabledActions): step %s of task %s does not run; the configuration switched it off after the task started", action, stepID, taskID),
		DisabledType, nil)
}

// trusted applies a checked run's grant: the action acts for its user,
// on its task, with its template base and dry-run flag.
func trusted(c runsign.Claims, in *contract.ActionInput) {
	in.TaskID, in.UserRef, in.TemplateBaseURL, in.DryRun = c.TaskID, c.UserRef, c.BaseURL, c.DryRun
}

// CheckedRender is Render for a run this worker trusts
// (contract.ScaffoldRender as workers register it).
func (s *Scaffold) CheckedRender(ctx context.Context, in contract.RenderInput) (contract.RenderOutput, error) {
	c, err := s.checkRun(ctx, in.Run, in.InputHash, true)
	if err != nil {
		return contract.RenderOutput{}, err
	}
	// Every step but a local one renders here first, the waits too
	// (rigger:approval, rigger:wait-for, debug:wait), which run in the
	// workflow and have no activity of their own to refuse them.
	if err := s.StillEnabled(in.Action, in.StepID, c.TaskID); err != nil {
		return contract.RenderOutput{}, err
	}
	m := s.Trust.Marker
	if m == nil {
		return contract.RenderOutput{}, errNoMarker
	}
	if err := checkOutputs(m, c.TaskID, in.Context); err != nil {
		return contract.RenderOutput{}, err
	}
	out, err := s.Render(ctx, in)
	if err != nil {
		return out, err
	}
	// Mark each item for this run, step and action: the action activity
	// runs nothing else.
	runID := runIDOf(ctx)
	for i := range out.Items {
		it := &out.Items[i]
		if it.Mark, err = m.MarkItem(runsign.Item{TaskID: c.TaskID, RunID: runID, Attempt: c.Attempt, StepID: in.StepID,
			Index: i, EachKey: it.EachKey, Action: in.Action}, it.Input); err != nil {
			return contract.RenderOutput{}, err
		}
	}
	// A step no action runs for is done here: skipped, or completed with
	// no output (each over nothing).
	switch {
	case out.Skip:
		out.Mark, err = m.MarkStep(c.TaskID, in.StepID, StepSkipped, nil)
	case len(out.Items) == 0:
		out.Mark, err = m.MarkStep(c.TaskID, in.StepID, StepCompleted, nil)
	}
	if err != nil {
		return contract.RenderOutput{}, err
	}
	return out, nil
}

// Step outcomes a mark names (as workflows names step statuses).
const (
	StepCompleted = "completed"
	StepSkipped   = "skipped"
)

// errNoMarker: a worker without the marking key cannot tell its own
// rendered items from anybody's.
var errNoMarker = refuse(errors.New("this worker cannot mark or check rendered steps: set scaffolder.secretKey (the same on every worker and the API server)"))

// checkOutputs refuses to render over an earlier step's output that no
// worker marked for the task: an action result completed by someone
// else's worker polling the queue, or a resume state nobody checked. An
// empty output (a debug:wait timer's) needs no mark.
func checkOutputs(m *runsign.Marker, taskID string, sc contract.ScaffoldContext) error {
	ids := make([]string, 0, len(sc.Steps))
	for id := range sc.Steps {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		out := sc.Steps[id]
		if len(out) == 0 {
			continue
		}
		if err := m.CheckStep(taskID, id, StepCompleted, out, sc.Marks[id]); err != nil {
			return refuse(fmt.Errorf("the output of step %s was not produced by a worker for task %s: refusing to render over it", id, taskID))
		}
	}
	return nil
}

// runIDOf is the run id of the workflow the activity in ctx serves.
func runIDOf(ctx context.Context) string {
	if !activity.IsActivity(ctx) {
		return ""
	}
	return activity.GetInfo(ctx).WorkflowExecution.RunID
}

// CheckedRenderOutput is RenderTemplateOutput for a run this worker
// trusts (contract.ScaffoldRenderOutput).
func (s *Scaffold) CheckedRenderOutput(ctx context.Context, in contract.RenderOutputInput) (map[string]any, error) {
	c, err := s.checkRun(ctx, in.Run, in.InputHash, true)
	if err != nil {
		return nil, err
	}
	if s.Trust.Marker == nil {
		return nil, errNoMarker
	}
	if err := checkOutputs(s.Trust.Marker, c.TaskID, in.Context); err != nil {
		return nil, err
	}
	return s.RenderTemplateOutput(ctx, in)
}

// CheckedRunLocalStep is RunLocalStep for a run this worker trusts
// (contract.ScaffoldRunLocalStep).
func (s *Scaffold) CheckedRunLocalStep(ctx context.Context, in contract.LocalStepInput) (contract.LocalStepOutput, error) {
	c, err := s.checkRun(ctx, in.Render.Run, in.Render.InputHash, true)
	if err != nil {
		return contract.LocalStepOutput{}, err
	}
	if err := s.StillEnabled(in.Action, in.Render.StepID, c.TaskID); err != nil {
		return contract.LocalStepOutput{}, err
	}
	if err := mayRun(c, in.Action); err != nil {
		return contract.LocalStepOutput{}, err
	}
	m := s.Trust.Marker
	if m == nil {
		return contract.LocalStepOutput{}, errNoMarker
	}
	if err := checkOutputs(m, c.TaskID, in.Render.Context); err != nil {
		return contract.LocalStepOutput{}, err
	}
	trusted(c, &in.Base)
	out, err := s.RunLocalStep(ctx, in)
	if err != nil {
		return out, err
	}
	status, output := StepCompleted, out.Output
	if out.Skip {
		status, output = StepSkipped, nil
	}
	if out.Mark, err = m.MarkStep(c.TaskID, in.Render.StepID, status, output); err != nil {
		return contract.LocalStepOutput{}, err
	}
	return out, nil
}

// CheckedForgetSecrets is ForgetSecrets for a run this worker trusts
// (contract.ScaffoldForgetSecrets): only a run signed for the task forgets
// its secrets.
func (s *Scaffold) CheckedForgetSecrets(ctx context.Context, taskID string, run *contract.RunGrant, hash string) error {
	c, err := s.checkRun(ctx, run, hash, true)
	if err != nil {
		return err
	}
	if c.TaskID != taskID {
		return refuse(fmt.Errorf("%w: its grant is for task %s, not %s", runsign.ErrUnsigned, c.TaskID, taskID))
	}
	return s.ForgetSecrets(ctx, taskID)
}

// taskOutcomeActions are the audit actions of a run's ends. A run that
// ended cancelled is scaffolder.task.cancelled: the request to cancel (an
// API call, scaffolder.task.cancel) is another event, and a cancel from
// the Temporal UI has only this one.
var taskOutcomeActions = map[string]string{
	"completed": "scaffolder.task.complete",
	"failed":    "scaffolder.task.fail",
	"cancelled": "scaffolder.task.cancelled",
}

// CheckedRecordOutcome implements contract.ScaffoldRecordOutcome for a run
// this worker trusts: the event's actor, template and attempt come from
// the signed grant, not from the input.
func (s *Scaffold) CheckedRecordOutcome(ctx context.Context, o contract.TaskOutcome) error {
	c, err := s.checkRun(ctx, o.Run, o.InputHash, true)
	if err != nil {
		return err
	}
	if c.TaskID != o.TaskID {
		return refuse(fmt.Errorf("%w: its grant is for task %s, not %s", runsign.ErrUnsigned, c.TaskID, o.TaskID))
	}
	action, ok := taskOutcomeActions[o.Outcome]
	if !ok {
		return refuse(fmt.Errorf("%q is not a run outcome (completed, failed, cancelled)", o.Outcome))
	}
	s.Metrics.TaskEnded(c.TemplateRef, o.Outcome)
	if s.Audit == nil {
		return nil
	}
	kind := audit.ActorUser
	if c.Service {
		kind = audit.ActorService
	}
	details := map[string]string{"template": c.TemplateRef, "attempt": strconv.Itoa(c.Attempt)}
	if o.Step != "" {
		details["step"] = o.Step
	}
	e := audit.Event{Actor: c.UserRef, ActorKind: kind, Action: action, Target: "task:" + c.TaskID, Decision: audit.Allow, Details: details}
	if o.Error != "" {
		e.Reason = clipText(o.Error, 1024)
	}
	s.Audit.Record(ctx, e)
	return nil
}

func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// CheckedActions are Actions for runs this worker trusts: each checks its
// run's grant and acts for the user, task and base it names.
func (s *Scaffold) CheckedActions() map[string]ActionFunc { return s.checked(s.Actions()) }

// CheckedIntegration wraps the actions of an integration package
// (activities/github, …) as CheckedActions wraps the built-in ones: the
// run's grant and the step's mark are checked, secret references are
// resolved and redacted, and the action finds the verified run and the
// task's workspace with step.From.
func (s *Scaffold) CheckedIntegration(actions map[string]ActionFunc) map[string]ActionFunc {
	out := make(map[string]ActionFunc, len(actions))
	for name, impl := range actions {
		out[name] = s.wrap(name, s.withStepEnv(impl))
	}
	return s.checked(out)
}

// withStepEnv gives an integration action its step.Env.
func (s *Scaffold) withStepEnv(impl ActionFunc) ActionFunc {
	return func(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
		c, ok := ctx.Value(claimsKey{}).(runsign.Claims)
		if !ok {
			return contract.ActionOutput{}, refuse(step.ErrNoEnv)
		}
		root, err := s.Workspaces.Open(c.TaskID)
		if err != nil {
			return contract.ActionOutput{}, err
		}
		_ = root.Close()
		env := step.Env{StepID: in.StepID, Workspace: filepath.Join(s.Workspaces.Dir, c.TaskID), DryRun: c.DryRun,
			Run: credentials.Run{TaskID: c.TaskID, TemplateRef: c.TemplateRef, UserRef: c.UserRef, Ent: c.Ent, Service: c.Service, Scopes: c.Scopes, Channel: c.Channel}}
		return impl(step.WithEnv(ctx, env), in)
	}
}

// claimsKey carries a checked run's claims from checked to withStepEnv.
type claimsKey struct{}

// checked wraps each action with the run checks.
func (s *Scaffold) checked(actions map[string]ActionFunc) map[string]ActionFunc {
	out := make(map[string]ActionFunc, len(actions))
	for name, fn := range actions {
		out[name] = func(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
			c, err := s.checkRun(ctx, in.Run, "", false)
			if err != nil {
				return contract.ActionOutput{}, err
			}
			if err := s.StillEnabled(name, in.StepID, c.TaskID); err != nil {
				return contract.ActionOutput{}, err
			}
			// The input must be one a worker rendered for this very run
			// (the grant alone is readable in history: anybody who can
			// start a workflow could schedule any input with it).
			m := s.Trust.Marker
			if m == nil {
				return contract.ActionOutput{}, errNoMarker
			}
			it := runsign.Item{TaskID: c.TaskID, RunID: runIDOf(ctx), Attempt: c.Attempt, StepID: in.StepID,
				Index: in.Item, EachKey: in.EachKey, Action: name}
			if err := m.CheckItem(it, in.Input, in.Mark); err != nil {
				return contract.ActionOutput{}, refuse(fmt.Errorf("action %s refused: its input was %v (step %s, item %d of task %s, run %s)",
					name, err, in.StepID, in.Item, c.TaskID, it.RunID))
			}
			if err := mayRun(c, name); err != nil {
				return contract.ActionOutput{}, err
			}
			trusted(c, &in)
			out, err := fn(context.WithValue(ctx, claimsKey{}, c), in)
			if err != nil {
				return out, err
			}
			if out.OutputMark, err = m.MarkStep(c.TaskID, in.StepID, StepCompleted, out.Output); err != nil {
				return contract.ActionOutput{}, err
			}
			return out, nil
		}
	}
	return out
}

// CheckedDecision implements contract.ScaffoldCheckDecision: the decision
// an approval step's signal carries, when the API server signed it for
// this very run (task and attempt). A decision anyone else sent is
// refused, and the step keeps waiting.
func (s *Scaffold) CheckedDecision(ctx context.Context, in contract.CheckDecisionInput) (contract.DecisionResult, error) {
	c, err := s.checkRun(ctx, in.Run, in.InputHash, true)
	if err != nil {
		return contract.DecisionResult{}, err
	}
	if err := s.Trust.Verifier.VerifyPurpose(contract.DecisionPurpose, in.Signal.Decision, in.Signal.Signature); err != nil {
		return contract.DecisionResult{}, refuse(fmt.Errorf("the decision was not made through the API: %w", err))
	}
	var d contract.Decision
	if err := json.Unmarshal(in.Signal.Decision, &d); err != nil {
		return contract.DecisionResult{}, refuse(fmt.Errorf("an unreadable decision: %w", err))
	}
	if d.TaskID != c.TaskID || d.Attempt != c.Attempt {
		return contract.DecisionResult{}, refuse(fmt.Errorf("the decision is for task %s attempt %d, not this run (task %s attempt %d)", d.TaskID, d.Attempt, c.TaskID, c.Attempt))
	}
	if d.StepID != in.StepID || d.RequestID != in.RequestID {
		return contract.DecisionResult{}, refuse(fmt.Errorf("the decision is on %s (step %s), not on the request the run waits for, %s (step %s)", d.RequestID, d.StepID, in.RequestID, in.StepID))
	}
	res := contract.DecisionResult{Decision: d}
	if d.Approved {
		if s.Trust.Marker == nil {
			return contract.DecisionResult{}, errNoMarker
		}
		res.Output = contract.ApprovalOutput(d)
		if res.OutputMark, err = s.Trust.Marker.MarkStep(c.TaskID, d.StepID, StepCompleted, res.Output); err != nil {
			return contract.DecisionResult{}, err
		}
	}
	return res, nil
}
