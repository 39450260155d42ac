package contract

import (
	"time"

	"github.com/riggerdev/rigger/templates"
)

// ScaffoldWorkflow is the scaffolder workflow's registered name: the only
// workflow whose activities the scaffolder's activities serve.
const ScaffoldWorkflow = "rigger.scaffold"

// RunGrant is the API server's signature over what a run may do
// (internal/runsign): every scaffolder activity verifies it before it
// does anything, so a run started straight through Temporal with a forged
// input is refused.
type RunGrant struct {
	Claims    []byte `json:"claims"`    // runsign.Claims as JSON, as signed
	Signature []byte `json:"signature"` // Ed25519 over Claims
}

// ScaffoldRender renders one step of a Plan (its if, each and input) against
// the run so far. It runs as a local activity so the rendered result is
// recorded in history: replay never depends on the expression engine.
const ScaffoldRender = "rigger.scaffold.render"

// ScaffoldRenderOutput renders the template's output once the steps are done.
const ScaffoldRenderOutput = "rigger.scaffold.renderOutput"

// ScaffoldRunLocalStep renders one step and runs its action, for every
// each item, in one local activity (steps whose action is Local).
const ScaffoldRunLocalStep = "rigger.scaffold.runLocalStep"

// LocalStepInput is one local step: what to render and the action's
// invariant input fields.
type LocalStepInput struct {
	Render RenderInput `json:"render"`
	Action string      `json:"action"`
	Base   ActionInput `json:"base"` // TaskID, StepID, base URL, flags; Input is filled per item
}

// LocalStepOutput is what a local step did.
type LocalStepOutput struct {
	Skip   bool           `json:"skip"`
	Output map[string]any `json:"output,omitempty"` // the last item's
	Logs   []string       `json:"logs,omitempty"`
	// Mark marks the step's outcome: its output, or that it was skipped
	// (runsign.Marker.MarkStep); a retry resumes only marked outcomes.
	Mark string `json:"mark,omitempty"`
}

// ScaffoldForgetSecrets deletes a task's stored secrets (input: the task
// id, the run's grant and its input hash) once the task can no longer use
// them.
const ScaffoldForgetSecrets = "rigger.scaffold.forgetSecrets"

// ScaffoldRecordOutcome writes a run's end — completed, failed or
// cancelled — to the audit log, as the run's user (a local activity; input
// TaskOutcome).
const ScaffoldRecordOutcome = "rigger.scaffold.recordOutcome"

// TaskOutcome is how a run ended, for the audit log. The grant and input
// hash prove the run is one the API server signed (the event's actor is
// the grant's user, not anything the input says).
type TaskOutcome struct {
	TaskID string `json:"taskId"`
	// Outcome is completed, failed or cancelled.
	Outcome string `json:"outcome"`
	// Step is the step that failed or was cancelled ("" for the output).
	Step string `json:"step,omitempty"`
	// Error is the failure's message (already redacted like the task's log).
	Error     string    `json:"error,omitempty"`
	Run       *RunGrant `json:"run,omitempty"`
	InputHash string    `json:"inputHash,omitempty"`
}

// SecretRef is how a secret appears in rendered input while it travels
// through workflow history: a reference the action activity replaces with
// the value just before the action runs. The NUL bytes keep it from
// colliding with text a user could write, and nonce — random per task —
// keeps text from elsewhere (a catalog entity a step fetched, say) from
// forging one: only references carrying the task's nonce are resolved.
func SecretRef(nonce, name string) string { return SecretRefPrefix + nonce + ":" + name + "\x00" }

// SecretRefPrefix starts every secret reference.
const SecretRefPrefix = "\x00rigger-secret:"

// ActionActivity is the activity name of a scaffolder action.
func ActionActivity(action string) string { return "rigger.action." + action }

// ScaffoldContext is what expressions see (secrets never travel through
// history: the worker holds them).
type ScaffoldContext struct {
	TaskID     string                    `json:"taskId"`
	Parameters map[string]any            `json:"parameters"`
	Steps      map[string]map[string]any `json:"steps"`
	UserRef    string                    `json:"userRef,omitempty"`
	UserEntity map[string]any            `json:"userEntity,omitempty"`
	// Secrets names the task's secrets; expressions see each as a
	// reference (SecretRef), never as its value.
	Secrets     []string `json:"secrets,omitempty"`
	SecretNonce string   `json:"secretNonce,omitempty"`
	// Marks are the workers' marks of Steps (runsign.Marker.MarkStep):
	// a step renders only over outputs a worker produced for the task.
	Marks map[string]string `json:"marks,omitempty"`
}

// RenderInput is one step to render.
type RenderInput struct {
	Context ScaffoldContext `json:"context"`
	StepID  string          `json:"stepId"`
	If      any             `json:"if"`
	Each    any             `json:"each"`
	Input   any             `json:"input"`
	// Run is the run's grant; InputHash is the hash of the run's input
	// (runsign.InputHash, computed by the workflow), which must be the
	// signed one.
	Run       *RunGrant `json:"run,omitempty"`
	InputHash string    `json:"inputHash,omitempty"`
	// Action is the step's action: each item's mark names it.
	Action string `json:"action,omitempty"`
}

// RenderedItem is one execution of a step (one per each item, or one).
type RenderedItem struct {
	Input   map[string]any `json:"input"`
	EachKey string         `json:"eachKey,omitempty"`
	// Mark is the rendering worker's mark (runsign.Marker.MarkItem) over
	// this run, step, item and action and the input: an action activity
	// runs only input a worker rendered for the run that schedules it.
	Mark string `json:"mark,omitempty"`
}

// RenderOutput says whether the step runs and with which inputs.
type RenderOutput struct {
	Skip  bool           `json:"skip"`
	Items []RenderedItem `json:"items"`
	// Mark marks the step's outcome when no action runs (it is skipped,
	// or each names no item): runsign.Marker.MarkStep.
	Mark string `json:"mark,omitempty"`
}

// RenderOutputInput renders the template's output section.
type RenderOutputInput struct {
	Context ScaffoldContext `json:"context"`
	Output  map[string]any  `json:"output"`
	// Run and InputHash: as in RenderInput.
	Run       *RunGrant `json:"run,omitempty"`
	InputHash string    `json:"inputHash,omitempty"`
}

// ActionInput is what an action activity receives.
type ActionInput struct {
	TaskID string         `json:"taskId"`
	StepID string         `json:"stepId"`
	Input  map[string]any `json:"input"`
	// TemplateBaseURL is where the template was read from; relative skeleton
	// urls resolve against it.
	TemplateBaseURL string `json:"templateBaseUrl,omitempty"`
	// DryRun asks the action for its dry-run behaviour.
	DryRun bool `json:"dryRun,omitempty"`
	// Secrets says the task has secrets: the activity resolves secret
	// references in Input from the worker's secret store.
	Secrets     bool   `json:"secrets,omitempty"`
	SecretNonce string `json:"secretNonce,omitempty"`
	// UserRef is the user the task runs for.
	UserRef string `json:"userRef,omitempty"`
	// Run is the run's grant: the activity acts for the user, on the task
	// and with the template base it signs, never the fields above.
	Run *RunGrant `json:"run,omitempty"`
	// Item, EachKey and Mark are the rendered item's index, each key and
	// mark (RenderedItem): the activity refuses input without a valid mark.
	Item    int    `json:"item,omitempty"`
	EachKey string `json:"eachKey,omitempty"`
	Mark    string `json:"mark,omitempty"`
}

// ActionOutput is what an action returns: its output values and log lines
// (already redacted).
type ActionOutput struct {
	Output map[string]any `json:"output,omitempty"`
	Logs   []string       `json:"logs,omitempty"`
	// StartRefresh asks the workflow to start the refresh loop of a
	// location the action registered (catalog:register).
	StartRefresh *StartRefresh `json:"startRefresh,omitempty"`
	// OutputMark marks Output as this step's (runsign.Marker.MarkStep).
	OutputMark string `json:"outputMark,omitempty"`
}

// StartRefresh names a location whose refresh loop should run.
type StartRefresh struct {
	LocationID string        `json:"locationId"`
	Interval   time.Duration `json:"interval"`
}

// Built-in actions the workflow itself runs (no activity).
const (
	// ActionWait is a durable timer: no worker is held while it waits.
	ActionWait = "debug:wait"
)

// MaxWait bounds debug:wait.
const MaxWait = 24 * time.Hour

// DryRunFile is one file of a dry run: a template's own files going in,
// the workspace coming out.
type DryRunFile struct {
	Path       string `json:"path"`
	Data       []byte `json:"data"`
	Executable bool   `json:"executable,omitempty"`
}

// ActionApproval waits, holding no worker, for a person the policy allows
// (scaffolder.task.approve) to approve or reject the run through the API.
const ActionApproval = "rigger:approval"

// Approval bounds: how long a step waits when its input does not say, and
// at most.
const (
	// DefaultApprovalWait matches the default lifetime of a task's
	// workspace and secrets (scaffolder.workspaceTTL, secretTTL): a longer
	// wait needs them raised too.
	DefaultApprovalWait = 24 * time.Hour
	MaxApprovalWait     = templates.MaxApprovalTimeout
)

// Decision is a decision on an approval step, made through the API for
// one attempt of one task.
type Decision struct {
	TaskID string `json:"taskId"`
	StepID string `json:"stepId"`
	// RequestID names the one wait decided on (ApprovalState.RequestID):
	// a step with each waits once per item, and a decision counts only
	// for the request its maker was shown.
	RequestID string    `json:"requestId"`
	Attempt   int       `json:"attempt"`
	Approved  bool      `json:"approved"`
	By        string    `json:"by"`
	Comment   string    `json:"comment,omitempty"`
	At        time.Time `json:"at"`
}

// DecisionPurpose separates the API server's signatures over decisions
// from its run grants (runsign.Signer.SignPurpose).
const DecisionPurpose = "rigger.approval-decision.v1"

// SignedDecision is a Decision as JSON and the API server's signature over
// it for DecisionPurpose: the signal an approval step waits for. Anyone
// who can signal workflows in the namespace can send one; only a signed one
// decides.
type SignedDecision struct {
	Decision  []byte `json:"decision"`
	Signature []byte `json:"signature"`
}

// ScaffoldCheckDecision verifies a SignedDecision for the run (a local
// activity: the workflow cannot hold keys) and returns a DecisionResult.
const ScaffoldCheckDecision = "rigger.scaffold.checkDecision"

// DecisionResult is a verified Decision and, for an approval, the step's
// output with the worker's mark over it (later steps render over marked
// outputs only).
type DecisionResult struct {
	Decision   Decision       `json:"decision"`
	Output     map[string]any `json:"output,omitempty"`
	OutputMark string         `json:"outputMark,omitempty"`
}

// ApprovalOutput is an approved step's output: {approved, by, comment}.
func ApprovalOutput(d Decision) map[string]any {
	out := map[string]any{"approved": true, "by": d.By}
	if d.Comment != "" {
		out["comment"] = d.Comment
	}
	return out
}

// CheckDecisionInput is ScaffoldCheckDecision's input.
type CheckDecisionInput struct {
	Signal SignedDecision `json:"signal"`
	// StepID and RequestID are the wait the run is in: a decision on any
	// other is refused.
	StepID    string    `json:"stepId,omitempty"`
	RequestID string    `json:"requestId,omitempty"`
	Run       *RunGrant `json:"run,omitempty"`
	InputHash string    `json:"inputHash,omitempty"`
}
