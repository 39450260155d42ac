package contract

import (
	"time"

	"github.com/riggerdev/rigger/templates"
)

// ActionWaitFor waits, holding no worker, for an event from outside: a
// GitHub pull request merged or closed, a GitHub Actions workflow run
// completed (both delivered to POST /api/webhooks/github), or a call of a
// one-time signed callback URL the step prints
// (POST /api/scaffolder/v2/callbacks/<token>).
const ActionWaitFor = "rigger:wait-for"

// Wait-for bounds.
const (
	DefaultWaitFor = 7 * 24 * time.Hour
	MaxWaitFor     = templates.MaxWaitForTimeout
)

// What a rigger:wait-for step waits for (its input's "for").
const (
	WaitCallback    = "callback"
	WaitPullRequest = "pull-request"
	WaitWorkflowRun = "workflow-run"
)

// ScaffoldRegisterWait records the step's wait (a local activity of the
// workflow worker: it writes the routing table webhooks read) and, for a
// callback, mints its one-time token.
const ScaffoldRegisterWait = "rigger.scaffold.registerWait"

// ScaffoldEndWait drops the step's wait once it is over.
const ScaffoldEndWait = "rigger.scaffold.endWait"

// ScaffoldCheckEvent verifies an event signal for the run's wait and
// returns the step's marked output.
const ScaffoldCheckEvent = "rigger.scaffold.checkEvent"

// RegisterWaitInput is ScaffoldRegisterWait's input.
type RegisterWaitInput struct {
	StepID    string    `json:"stepId"`
	RequestID string    `json:"requestId"`
	Key       string    `json:"key"`
	Deadline  time.Time `json:"deadline"`
	Callback  bool      `json:"callback,omitempty"`
	Run       *RunGrant `json:"run,omitempty"`
	InputHash string    `json:"inputHash,omitempty"`
}

// RegisterWaitOutput is what the step shows: the callback's path (its
// token inside) when it waits for one.
type RegisterWaitOutput struct {
	CallbackPath string `json:"callbackPath,omitempty"`
}

// CallbackPrefix is where callbacks are posted.
const CallbackPrefix = "/api/scaffolder/v2/callbacks/"

// EventPurpose separates the API server's signatures over events from
// its other signatures (runsign.Signer.SignPurpose).
const EventPurpose = "rigger.wait-event.v1"

// Event is what the API server received for waits on Key: a verified
// webhook delivery or a callback.
type Event struct {
	Key string `json:"key"`
	// TaskID and RequestID are set for a callback: it is for one wait.
	TaskID    string         `json:"taskId,omitempty"`
	RequestID string         `json:"requestId,omitempty"`
	Kind      string         `json:"kind"` // callback, pull-request, workflow-run
	Data      map[string]any `json:"data"`
	// Delivery names the webhook delivery (X-GitHub-Delivery).
	Delivery string    `json:"delivery,omitempty"`
	At       time.Time `json:"at"`
}

// SignedEvent is an Event as JSON and the API server's signature over it.
type SignedEvent struct {
	Event     []byte `json:"event"`
	Signature []byte `json:"signature"`
}

// CheckEventInput is ScaffoldCheckEvent's input.
type CheckEventInput struct {
	Signal    SignedEvent `json:"signal"`
	StepID    string      `json:"stepId"`
	RequestID string      `json:"requestId"`
	Key       string      `json:"key"`
	Run       *RunGrant   `json:"run,omitempty"`
	InputHash string      `json:"inputHash,omitempty"`
}

// EventResult is a verified event and the step's output, marked.
type EventResult struct {
	Event      Event          `json:"event"`
	Output     map[string]any `json:"output,omitempty"`
	OutputMark string         `json:"outputMark,omitempty"`
}

// ScaffoldKeepAlive keeps a waiting run's workspace and secrets from
// expiring (scaffolder.workspaceTTL, secretTTL): a step that waits for
// days calls it every KeepAliveEvery.
const ScaffoldKeepAlive = "rigger.scaffold.keepAlive"

// KeepAliveEvery is how often a waiting step keeps its run alive; the
// TTLs (24h by default) must be longer.
const KeepAliveEvery = 6 * time.Hour

// KeepAliveInput is ScaffoldKeepAlive's input.
type KeepAliveInput struct {
	Run       *RunGrant `json:"run,omitempty"`
	InputHash string    `json:"inputHash,omitempty"`
}

// EndWaitInput is ScaffoldEndWait's input.
type EndWaitInput struct {
	RequestID string    `json:"requestId"`
	Run       *RunGrant `json:"run,omitempty"`
	InputHash string    `json:"inputHash,omitempty"`
}
