package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/riggerdev/rigger/internal/yamlsafe"
	"github.com/riggerdev/rigger/templates"
)

// ExternalAction declares an action served out of process by a plugin
// worker (any language with a Temporal SDK) on its own task queue
// (scaffolder.externalActions). No plugin code runs in Rigger's
// processes: Rigger schedules the action as the activity named by ID on
// TaskQueue, checks the rendered input against InputSchema before and the
// result against OutputSchema after. The plugin gets the step's input and
// which run calls it, never a secret, credential or Rigger token; it holds
// its own configuration.
type ExternalAction struct {
	// ID is the action id templates use and the activity type the plugin
	// registers, namespace:verb (acme:greet). It may not name a built-in
	// action.
	ID string `yaml:"id"`
	// Description is shown by GET /api/scaffolder/v2/actions.
	Description string `yaml:"description"`
	// InputSchema and OutputSchema are JSON Schemas (draft-07) written as
	// YAML mappings.
	InputSchema  JSONSchema `yaml:"inputSchema"`
	OutputSchema JSONSchema `yaml:"outputSchema"`
	// TaskQueue is the plugin worker's queue; never one of Rigger's
	// (rigger-*).
	TaskQueue string `yaml:"taskQueue"`
	// Timeout bounds one attempt (start to close) [10m].
	Timeout time.Duration `yaml:"timeout"`
	// HeartbeatTimeout, when set, fails an attempt whose plugin has not
	// heartbeaten for that long [0: none].
	HeartbeatTimeout time.Duration `yaml:"heartbeatTimeout"`
	// Retry is the activity's retry policy; unset fields take the
	// scaffolder's defaults.
	Retry ExternalRetry `yaml:"retry"`
	// DryRunSafe says the plugin honours run.dryRun (changes nothing and
	// reports what it would do); otherwise a dry run skips the step and
	// says so [false].
	DryRunSafe bool `yaml:"dryRunSafe"`
	// Credentials names the integrations (github, aws) whose broker
	// credentials the action may ask for. Declared for later: no plugin
	// receives a credential yet.
	Credentials []string `yaml:"credentials"`
}

// ExternalRetry is an external action's retry policy.
type ExternalRetry struct {
	// MaximumAttempts counts the first attempt; 0 takes the default.
	MaximumAttempts int32         `yaml:"maximumAttempts"`
	InitialInterval time.Duration `yaml:"initialInterval"`
	MaximumInterval time.Duration `yaml:"maximumInterval"`
}

// defaultListItem gives an external action its default timeout.
func (a *ExternalAction) defaultListItem() { a.Timeout = DefaultExternalTimeout }

// Bounds of an external action's timeouts.
const (
	DefaultExternalTimeout = 10 * time.Minute
	MaxExternalTimeout     = 24 * time.Hour
)

// StepTimeout is Timeout, or its default when unset.
func (a ExternalAction) StepTimeout() time.Duration {
	if a.Timeout == 0 {
		return DefaultExternalTimeout
	}
	return a.Timeout
}

// JSONSchema is a JSON Schema written as YAML in the configuration.
type JSONSchema map[string]any

// JSON encodes the schema ("{}" when unset: no constraint).
func (s JSONSchema) JSON() ([]byte, error) {
	if s == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(map[string]any(s))
}

// decodeSchema reads a mapping node as a JSON Schema, as written (no ${VAR}
// substitution: a schema is not a place for the environment).
func (d *decoder) decodeSchema(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.add(n, path, "expected a JSON Schema written as a mapping, got %s", describe(n))
		return
	}
	// As catalog files are read: a date stays a string (yaml.v3 alone
	// would make `const: 2024-01-01` a time.Time no JSON value equals).
	val, err := yamlsafe.Value(n)
	if err != nil {
		d.add(n, path, "%v", err)
		return
	}
	m, _ := val.(map[string]any)
	v.Set(reflect.ValueOf(JSONSchema(m)))
}

// externalActionID is namespace:verb, more :parts allowed, lower case
// (contract.ValidExternalID has the same shape).
var externalActionID = regexp.MustCompile(`^[a-z][a-z0-9-]*(:[a-z][a-z0-9-]*)+$`)

// validateExternalActions checks scaffolder.externalActions. Whether an id
// shadows a built-in action is checked where the actions are known
// (contract.Registry.AddExternal, when the configuration is loaded).
func (c *Config) validateExternalActions(v *validator) {
	seen := map[string]int{}
	for i, a := range c.Scaffolder.ExternalActions {
		p := index("scaffolder.externalActions", i)
		name := fmt.Sprintf("(action %s)", quote(a.ID))
		switch {
		case a.ID == "":
			v.add(p+".id", "is required (namespace:verb, like acme:greet)")
			name = ""
		case !externalActionID.MatchString(a.ID):
			v.add(p+".id", "%s must look like namespace:verb in lower case (like acme:greet)", quote(a.ID))
		default:
			if j, dup := seen[a.ID]; dup {
				v.add(p+".id", "%s is also declared by scaffolder.externalActions[%d]", quote(a.ID), j)
			}
			seen[a.ID] = i
		}
		switch q := a.TaskQueue; {
		case strings.TrimSpace(q) == "":
			v.add(p+".taskQueue", "is required %s: the queue the plugin worker polls", name)
		case strings.HasPrefix(q, "rigger-"):
			v.add(p+".taskQueue", "%s %s is Rigger's own queue name (rigger-default, rigger-github, rigger-aws, rigger-terraform, any rigger-*): give the plugin a queue of its own", quote(q), name)
		case strings.ContainsAny(q, " \t\r\n"):
			v.add(p+".taskQueue", "%s %s must not contain white space", quote(q), name)
		}
		for _, s := range []struct {
			key    string
			schema JSONSchema
		}{{"inputSchema", a.InputSchema}, {"outputSchema", a.OutputSchema}} {
			if s.schema == nil {
				v.add(p+"."+s.key, "is required %s: a JSON Schema (draft-07), e.g. {type: object}", name)
				continue
			}
			data, err := s.schema.JSON()
			if err == nil {
				err = templates.CheckSchema(data, "externalActions/"+a.ID+"/"+s.key)
			}
			if err != nil {
				v.add(p+"."+s.key, "%s is not a valid JSON Schema: %s", name, strings.Join(strings.Fields(err.Error()), " "))
			}
		}
		if t := a.StepTimeout(); t < time.Second || t > MaxExternalTimeout {
			v.add(p+".timeout", "%s must be between 1s and %s, got %s", name, MaxExternalTimeout, t)
		}
		if h := a.HeartbeatTimeout; h != 0 && (h < time.Second || h > a.StepTimeout()) {
			v.add(p+".heartbeatTimeout", "%s must be between 1s and the timeout (%s), got %s", name, a.StepTimeout(), h)
		}
		r := a.Retry
		if r.MaximumAttempts < 0 || r.MaximumAttempts > 100 {
			v.add(p+".retry.maximumAttempts", "%s must be between 0 (the default) and 100, got %d", name, r.MaximumAttempts)
		}
		if r.InitialInterval < 0 || r.MaximumInterval < 0 || r.MaximumInterval != 0 && r.MaximumInterval < r.InitialInterval {
			v.add(p+".retry", "%s: intervals must not be negative, and maximumInterval not below initialInterval", name)
		}
		for j, cr := range a.Credentials {
			if !slices.Contains([]string{"github", "aws"}, cr) {
				v.add(fmt.Sprintf("%s.credentials[%d]", p, j), "%s %s is not an integration (github, aws)", quote(cr), name)
			}
		}
	}
}
