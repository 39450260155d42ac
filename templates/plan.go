package templates

import (
	"encoding/json"
	"fmt"
	"time"
)

// PlanVersion is the version of the Plan format this package writes and
// reads. A Plan is the input of a running workflow, so a change to its
// meaning needs a new version, and readers must keep reading old ones for
// as long as such workflows may run.
const PlanVersion = 1

// Plan is a compiled template run: everything the Scaffold workflow needs,
// frozen when the run starts, so that editing the template never changes a
// running task. Expressions stay unrendered; they are rendered step by step
// with the outputs of earlier steps. Secrets are not part of a Plan.
type Plan struct {
	Version    int            `json:"version"`
	Template   PlanTemplate   `json:"template"`
	Parameters map[string]any `json:"parameters"` // validated, defaults applied
	UserRef    string         `json:"userRef,omitempty"`
	// UserEntity is the user's catalog entity when the catalog has one
	// (expressions read it as user.entity).
	UserEntity map[string]any `json:"userEntity,omitempty"`
	Steps      []PlanStep     `json:"steps"`
	Output     map[string]any `json:"output,omitempty"` // spec.output as written
	// Channel is the interface the run was started through: "mcp" for an
	// agent's, "" for the REST API and the UI.
	Channel string `json:"channel,omitempty"`
}

// PlanTemplate identifies the template a Plan came from.
type PlanTemplate struct {
	Ref     string `json:"ref"` // template:<namespace>/<name>
	Name    string `json:"name"`
	Title   string `json:"title,omitempty"`
	BaseURL string `json:"baseUrl,omitempty"` // where relative URLs such as ./skeleton resolve
}

// PlanStep is one step of a Plan. In JSON, Timeout is a Go duration string
// ("10m0s"); reading also accepts a number of milliseconds.
type PlanStep struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Action       string   `json:"action"`
	Input        any      `json:"input,omitempty"`
	If           any      `json:"if"`   // nil (always), bool or expression string
	Each         any      `json:"each"` // nil, expression string or list
	TaskQueue    string   `json:"taskQueue"`
	Capabilities []string `json:"capabilities,omitempty"`
	DryRunSafe   bool     `json:"dryRunSafe"`
	// Local runs the step (render and action together) as a local
	// activity of the workflow's own worker: for quick actions on the
	// default queue it saves two round trips through the server per step.
	Local   bool          `json:"local,omitempty"`
	Timeout time.Duration `json:"-"`
	Retry   RetryPolicy   `json:"retry"`
	// External is set when a plugin worker serves the action: the run
	// checks the rendered input and the plugin's output against these
	// schemas, which travel in the signed plan so every worker checks the
	// schemas the API server compiled with.
	External *ExternalStep `json:"external,omitempty"`
}

// ExternalStep is what a run needs to call an external action: its
// schemas (JSON, draft-07) and its heartbeat timeout (0: none).
type ExternalStep struct {
	InputSchema      json.RawMessage `json:"inputSchema"`
	OutputSchema     json.RawMessage `json:"outputSchema"`
	HeartbeatTimeout time.Duration   `json:"heartbeatTimeout,omitempty"`
}

// RetryPolicy is a step's activity retry policy, in Temporal's terms. In
// JSON the intervals are Go duration strings.
type RetryPolicy struct {
	MaximumAttempts    int32         `json:"maximumAttempts"`
	InitialInterval    time.Duration `json:"-"`
	BackoffCoefficient float64       `json:"backoffCoefficient"`
	MaximumInterval    time.Duration `json:"-"`
}

// jsonDuration is a time.Duration in JSON: a Go duration string when written;
// a string or a number of milliseconds when read.
type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q", s)
		}
		*d = jsonDuration(v)
		return nil
	}
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		return fmt.Errorf("a duration must be a string such as \"90s\" or a number of milliseconds")
	}
	*d = jsonDuration(time.Duration(ms * float64(time.Millisecond)))
	return nil
}

type planStepJSON struct {
	planStepAlias
	Timeout jsonDuration `json:"timeout"`
}

type planStepAlias PlanStep

func (s PlanStep) MarshalJSON() ([]byte, error) {
	return json.Marshal(planStepJSON{planStepAlias(s), jsonDuration(s.Timeout)})
}

func (s *PlanStep) UnmarshalJSON(b []byte) error {
	var j planStepJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = PlanStep(j.planStepAlias)
	s.Timeout = time.Duration(j.Timeout)
	return nil
}

type retryJSON struct {
	retryAlias
	InitialInterval jsonDuration `json:"initialInterval"`
	MaximumInterval jsonDuration `json:"maximumInterval"`
}

type retryAlias RetryPolicy

func (r RetryPolicy) MarshalJSON() ([]byte, error) {
	return json.Marshal(retryJSON{retryAlias(r), jsonDuration(r.InitialInterval), jsonDuration(r.MaximumInterval)})
}

func (r *RetryPolicy) UnmarshalJSON(b []byte) error {
	var j retryJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = RetryPolicy(j.retryAlias)
	r.InitialInterval = time.Duration(j.InitialInterval)
	r.MaximumInterval = time.Duration(j.MaximumInterval)
	return nil
}

// DecodePlan reads a Plan from JSON and checks its version. Numbers in
// parameters and inputs come back as float64.
func DecodePlan(data []byte) (*Plan, error) {
	var head struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("decode plan: %w", err)
	}
	if head.Version != PlanVersion {
		return nil, fmt.Errorf("decode plan: version %d is not supported (this build reads version %d)", head.Version, PlanVersion)
	}
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("decode plan: %w", err)
	}
	return &p, nil
}
