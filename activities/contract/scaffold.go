package contract

import "time"

// ScaffoldRender renders one step of a Plan (its if, each and input) against
// the run so far. It runs as a local activity so the rendered result is
// recorded in history: replay never depends on the expression engine.
const ScaffoldRender = "rigger.scaffold.render"

// ScaffoldRenderOutput renders the template's output once the steps are done.
const ScaffoldRenderOutput = "rigger.scaffold.renderOutput"

// ActionActivity is the activity name of a scaffolder action.
func ActionActivity(action string) string { return "rigger.action." + action }

// ScaffoldContext is what expressions see (secrets never travel through
// history: the worker holds them).
type ScaffoldContext struct {
	TaskID     string                    `json:"taskId"`
	Parameters map[string]any            `json:"parameters"`
	Steps      map[string]map[string]any `json:"steps"`
	UserRef    string                    `json:"userRef,omitempty"`
}

// RenderInput is one step to render.
type RenderInput struct {
	Context ScaffoldContext `json:"context"`
	StepID  string          `json:"stepId"`
	If      any             `json:"if"`
	Each    any             `json:"each"`
	Input   any             `json:"input"`
}

// RenderedItem is one execution of a step (one per each item, or one).
type RenderedItem struct {
	Input   map[string]any `json:"input"`
	EachKey string         `json:"eachKey,omitempty"`
}

// RenderOutput says whether the step runs and with which inputs.
type RenderOutput struct {
	Skip  bool           `json:"skip"`
	Items []RenderedItem `json:"items"`
}

// RenderOutputInput renders the template's output section.
type RenderOutputInput struct {
	Context ScaffoldContext `json:"context"`
	Output  map[string]any  `json:"output"`
}

// ActionInput is what an action activity receives.
type ActionInput struct {
	TaskID string         `json:"taskId"`
	StepID string         `json:"stepId"`
	Input  map[string]any `json:"input"`
	// TemplateBaseURL is where the template was read from; relative skeleton
	// urls resolve against it.
	TemplateBaseURL string `json:"templateBaseUrl,omitempty"`
}

// ActionOutput is what an action returns: its output values and log lines
// (already redacted).
type ActionOutput struct {
	Output map[string]any `json:"output,omitempty"`
	Logs   []string       `json:"logs,omitempty"`
}

// Built-in actions the workflow itself runs (no activity).
const (
	// ActionWait is a durable timer: no worker is held while it waits.
	ActionWait = "debug:wait"
)

// MaxWait bounds debug:wait.
const MaxWait = 24 * time.Hour
