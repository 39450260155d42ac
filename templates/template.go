package templates

import (
	"strconv"
	"time"
)

// APIVersion and Kind are the only template type accepted.
const (
	APIVersion = "scaffolder.backstage.io/v1beta3"
	Kind       = "Template"
)

// Template is a parsed software template.
type Template struct {
	Source     string // the name given to Parse, for messages
	APIVersion string
	Kind       string
	Metadata   Metadata
	Spec       Spec
}

// Metadata is the template entity's metadata.
type Metadata struct {
	Name        string
	Namespace   string // "default" when absent
	Title       string
	Description string
	Tags        []string
	Labels      map[string]string
	Annotations map[string]string
	Links       []any          // kept raw
	Extra       map[string]any // other metadata keys
}

// Spec is the template's spec.
type Spec struct {
	Owner string
	Type  string
	// Parameters holds the parameter pages as raw JSON-Schema objects, so
	// ui:* keys and field extensions (ui:field: RepoUrlPicker) reach the UI
	// untouched. A single object in the YAML becomes one page.
	Parameters []map[string]any
	// ParametersIsList records whether the YAML gave a list of pages.
	ParametersIsList bool
	Steps            []Step
	Output           Output
	Extra            map[string]any // other spec keys (presentation, lifecycle, EXPERIMENTAL_*, ...)
}

// Step is one step of a template.
type Step struct {
	ID     string // may be empty in the YAML; see StepID
	Name   string
	Action string
	Input  any // usually a map; rendered at run time
	If     any // nil, bool or string
	Each   any // nil, string expression or list

	// Rigger extensions, both optional (Backstage has no such fields):
	// timeout is a Go duration string ("90s", "10m"); retry overrides the
	// action's retry policy field by field.
	Timeout time.Duration
	Retry   *RetryOverride

	Extra map[string]any // other step keys (e.g. backstage:permissions)
}

// RetryOverride is a step's optional `retry:` block; nil fields keep the
// action's defaults.
type RetryOverride struct {
	MaximumAttempts    *int32
	InitialInterval    *time.Duration
	BackoffCoefficient *float64
	MaximumInterval    *time.Duration
}

// StepID is the id Backstage gives step i (0-based): its own id, or
// "step-<i+1>" when it has none.
func (t *Template) StepID(i int) string {
	if id := t.Spec.Steps[i].ID; id != "" {
		return id
	}
	return stepIDFor(i)
}

// stepIDFor is the id Backstage gives the i-th (0-based) step without one.
func stepIDFor(i int) string { return "step-" + strconv.Itoa(i+1) }

// Output is the template's spec.output.
type Output struct {
	Links []OutputLink
	Text  []OutputText
	// Raw is the whole output object as written, links and text included;
	// it is what the Plan carries and what is rendered after the run.
	Raw map[string]any
}

// OutputLink is one entry of output.links.
type OutputLink struct {
	Title     string
	URL       string
	EntityRef string
	Icon      string
	If        any
}

// OutputText is one entry of output.text.
type OutputText struct {
	Title   string
	Content string
	Icon    string
	Default bool
	If      any
}

// Ref is the template's entity reference, template:<namespace>/<name>.
func (t *Template) Ref() string {
	ns := t.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	return "template:" + ns + "/" + t.Metadata.Name
}
