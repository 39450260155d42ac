package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/riggerdev/rigger/templates"
)

// External actions (scaffolder.externalActions) are served out of process
// by plugin workers written with any Temporal SDK. The run schedules one
// as an activity whose type is the action id (acme:greet), on the action's
// own task queue; no Rigger worker registers it. Rigger checks the
// rendered input against the input schema before scheduling it and the
// plugin's result against the output schema after (ScaffoldCheckSchema, a
// local activity, so the verdict is recorded in history).
//
// The plugin receives one argument, PluginInput, as plain JSON (Rigger's
// payload encryption is not applied to it: a plugin holds no Rigger key)
// and returns either {"output": {...}} or the output object itself.

// PluginInput is the one argument of an external action's activity. It
// holds no secret, credential or Rigger token.
type PluginInput struct {
	// Input is the step's rendered input, valid against the action's
	// input schema.
	Input map[string]any `json:"input"`
	Run   PluginRun      `json:"run"`
}

// PluginRun says which run calls the plugin.
type PluginRun struct {
	TaskID      string `json:"taskId"`
	StepID      string `json:"stepId"`
	TemplateRef string `json:"templateRef,omitempty"`
	// User is the entity ref of the user who started the run.
	User   string `json:"user,omitempty"`
	DryRun bool   `json:"dryRun"`
}

// PluginOutput reads a plugin's result: {"output": {...}} when that is its
// only key, else the object itself.
func PluginOutput(result map[string]any) map[string]any {
	if len(result) == 1 {
		if out, ok := result["output"].(map[string]any); ok {
			return out
		}
	}
	return result
}

// ScaffoldCheckSchema is the local activity that checks a value against an
// external action's schema (worker.CheckSchema implements it).
const ScaffoldCheckSchema = "rigger.scaffold.check-schema"

// SchemaCheck asks whether Value matches Schema; Where is "input" or
// "output" and prefixes the problems' paths. Run and InputHash are the
// run's grant and the hash it signs: the checking worker verifies them.
type SchemaCheck struct {
	Action    string          `json:"action"`
	StepID    string          `json:"stepId"`
	Where     string          `json:"where"`
	Schema    json.RawMessage `json:"schema"`
	Value     map[string]any  `json:"value"`
	Run       *RunGrant       `json:"run,omitempty"`
	InputHash string          `json:"inputHash,omitempty"`
}

// SchemaVerdict lists what does not match, one "path: message" per
// problem; empty when the value matches. A matching output comes with the
// worker's mark of the completed step (later steps render over marked
// outputs only).
type SchemaVerdict struct {
	Problems []string `json:"problems,omitempty"`
	Mark     string   `json:"mark,omitempty"`
}

// Where a SchemaCheck looks.
const (
	CheckInput  = "input"
	CheckOutput = "output"
)

// ExternalAction is an action a plugin worker serves, as the registry
// needs it (cmd/rigger builds it from scaffolder.externalActions).
type ExternalAction struct {
	ID          string
	Description string
	// Input and Output are JSON Schemas (draft-07) as JSON.
	Input, Output    json.RawMessage
	TaskQueue        string
	Timeout          time.Duration
	HeartbeatTimeout time.Duration
	// Retry zero fields take the compile defaults.
	Retry      templates.RetryPolicy
	DryRunSafe bool
}

// externalID is the shape of an external action's id: namespace:verb,
// more :parts allowed (acme:greet, acme:db:create).
var externalID = regexp.MustCompile(`^[a-z][a-z0-9-]*(:[a-z][a-z0-9-]*)+$`)

// ReservedNamespaces are the id namespaces of Rigger's own actions: a
// plugin's action must not look like one (nor clash with one added later).
var ReservedNamespaces = []string{"rigger", "debug", "fs", "fetch", "catalog", "publish", "github", "aws", "terraform"}

// ValidExternalID reports whether id has the shape of an action id.
func ValidExternalID(id string) bool { return externalID.MatchString(id) }

// AddExternal adds an action a plugin worker serves (unless
// scaffolder.disabledActions names it: then it is disabled like a
// built-in one). It refuses an id that is malformed, names a built-in
// action (enabled or disabled) or an external action already added, a
// queue of Rigger's own, and schemas that do not compile: plugin code
// must never stand in for Rigger's. Call it before the registry is shared
// (only SetDisabled may run alongside lookups).
func (r *Registry) AddExternal(a ExternalAction) error {
	builtin, isBuiltin := r.all[a.ID]
	isBuiltin = isBuiltin && builtin.External == nil
	switch {
	case !ValidExternalID(a.ID):
		return fmt.Errorf("external action %q: the id must look like namespace:verb (lower case, e.g. acme:greet)", a.ID)
	case r.declared(a.ID):
		return fmt.Errorf("external action %q is declared twice", a.ID)
	case isBuiltin && r.off(a.ID):
		return fmt.Errorf("external action %q would shadow the built-in action %s (disabled here, but still Rigger's)", a.ID, a.ID)
	case isBuiltin:
		return fmt.Errorf("external action %q would shadow the built-in action %s", a.ID, a.ID)
	}
	if ns, _, _ := strings.Cut(a.ID, ":"); slices.Contains(ReservedNamespaces, ns) {
		return fmt.Errorf("external action %q: the namespace %s: is Rigger's (reserved: %s); name it after your organisation, e.g. acme:%s",
			a.ID, ns, strings.Join(ReservedNamespaces, ", "), strings.TrimPrefix(a.ID, ns+":"))
	}
	if a.TaskQueue == "" || IsRiggerQueue(a.TaskQueue) {
		return fmt.Errorf("external action %q: taskQueue %q must be the plugin's own queue, not one of Rigger's (%s, or any rigger-*)", a.ID, a.TaskQueue, strings.Join([]string{QueueDefault, QueueGitHub, QueueAWS, QueueTerraform}, ", "))
	}
	for _, s := range []struct {
		name   string
		schema json.RawMessage
	}{{"inputSchema", a.Input}, {"outputSchema", a.Output}} {
		if err := templates.CheckSchema(s.schema, "actions/"+a.ID+"/"+s.name); err != nil {
			return fmt.Errorf("external action %q: %s: %w", a.ID, s.name, err)
		}
	}
	r.all[a.ID] = templates.ActionInfo{
		Name: a.ID, TaskQueue: a.TaskQueue, DefaultTimeout: a.Timeout, DefaultRetry: a.Retry,
		InputSchema: bytes.Clone(a.Input), DryRunSafe: a.DryRunSafe,
		External: &templates.ExternalStep{InputSchema: bytes.Clone(a.Input), OutputSchema: bytes.Clone(a.Output), HeartbeatTimeout: a.HeartbeatTimeout},
	}
	r.external[a.ID] = &ActionDoc{Description: a.Description, Input: bytes.Clone(a.Input), Output: bytes.Clone(a.Output)}
	return nil
}

// IsRiggerQueue reports whether queue is (or could become) one of Rigger's
// own task queues: those listed and every rigger-* name.
func IsRiggerQueue(queue string) bool {
	return strings.HasPrefix(queue, "rigger-")
}

// Docs returns an action's documentation: a built-in action's ActionDocs,
// an external action's description and schemas.
func (r *Registry) Docs(name string) (ActionDoc, bool) {
	if d := r.external[name]; d != nil {
		if r.off(name) {
			return ActionDoc{}, false
		}
		doc := *d
		doc.Input, doc.Output = bytes.Clone(d.Input), bytes.Clone(d.Output)
		return doc, true
	}
	return ActionDocs(name)
}

// declared reports whether AddExternal was given id (even disabled).
func (r *Registry) declared(id string) bool {
	_, ok := r.external[id]
	return ok
}

// External reports whether name is an external action that is on.
func (r *Registry) External(name string) bool { return r.external[name] != nil && !r.off(name) }
