package templates

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// CompileOptions are the run-specific inputs of Compile.
type CompileOptions struct {
	UserRef string // who runs the template, e.g. user:default/jane
	// UserEntity is that user's catalog entity, if any.
	UserEntity map[string]any
	BaseURL    string // where the template was read from; relative URLs in inputs resolve against it
	// DefaultTimeout applies to steps whose action has no default timeout
	// (and that set no timeout of their own); 0 means 10 minutes.
	DefaultTimeout time.Duration
	// DefaultRetry fills the retry fields that neither the action nor the
	// step sets; zero fields take 3 attempts, 1s initial interval,
	// coefficient 2 and 1m maximum interval.
	DefaultRetry RetryPolicy
}

// Package defaults for step timeouts and retries.
const (
	defaultStepTimeout        = 10 * time.Minute
	defaultMaximumAttempts    = 3
	defaultInitialInterval    = time.Second
	defaultBackoffCoefficient = 2.0
	defaultMaximumInterval    = time.Minute
)

// TemplateError is a template with error-severity problems.
type TemplateError struct {
	Template string
	Problems []Problem // all problems, warnings included
}

func (e *TemplateError) Error() string {
	return summarize("template "+e.Template+" is invalid", e.Problems)
}

// ParameterError is a set of parameter values that the template's
// parameter schema rejects. Each problem's path names the parameter
// (parameters.name, parameters.owner.displayName, parameters.tags[1]).
type ParameterError struct {
	Problems []Problem
}

func (e *ParameterError) Error() string {
	return summarize("invalid parameters", e.Problems)
}

func summarize(head string, problems []Problem) string {
	var msgs []string
	for _, p := range problems {
		if p.Severity == SeverityError {
			msgs = append(msgs, p.Path+": "+p.Message)
		}
	}
	return head + ": " + strings.Join(msgs, "; ")
}

// Compile checks t, validates and completes the parameter values, and
// freezes the result into a Plan:
//   - the template must have no error-severity problem (see Validate);
//   - values are checked against every shown parameter page (a run must
//     satisfy all of them, as in Backstage), after the `default` of each
//     missing property is filled in; a page whose `if` does not hold is
//     hidden: neither enforced nor allowed to pass values (see
//     ShownPages);
//   - each step gets its action's task queue and capabilities, an id
//     (step-<n> when it has none, as Backstage does) and a name (the action
//     when it has none), and its timeout and retry policy: the step's own
//     `timeout`/`retry` (Rigger extensions), else the action's defaults,
//     else opts, else the package defaults.
//
// Inputs, if and each are copied unrendered.
func Compile(t *Template, values map[string]any, actions ActionLookup, opts CompileOptions) (*Plan, error) {
	problems := Validate(t, actions)
	if HasErrors(problems) {
		return nil, &TemplateError{Template: t.Ref(), Problems: problems}
	}
	params, err := compileParameters(t, values)
	if err != nil {
		return nil, err
	}
	plan := &Plan{
		Version: PlanVersion,
		Template: PlanTemplate{
			Ref:     t.Ref(),
			Name:    t.Metadata.Name,
			Title:   t.Metadata.Title,
			BaseURL: opts.BaseURL,
		},
		Parameters: params,
		UserRef:    opts.UserRef,
		UserEntity: opts.UserEntity,
		Steps:      make([]PlanStep, 0, len(t.Spec.Steps)),
	}
	if t.Spec.Output.Raw != nil {
		plan.Output, _ = deepCopy(t.Spec.Output.Raw).(map[string]any)
	}
	for i, st := range t.Spec.Steps {
		info, _ := actions.Action(st.Action)
		name := st.Name
		if name == "" {
			name = st.Action
		}
		ps := PlanStep{
			ID:           t.StepID(i),
			Name:         name,
			Action:       st.Action,
			Input:        deepCopy(st.Input),
			If:           st.If,
			Each:         deepCopy(st.Each),
			TaskQueue:    info.TaskQueue,
			Capabilities: append([]string(nil), info.Capabilities...),
			DryRunSafe:   info.DryRunSafe,
			Local:        info.Local,
			Timeout:      firstDuration(st.Timeout, info.DefaultTimeout, opts.DefaultTimeout, defaultStepTimeout),
			Retry:        retryFor(st.Retry, info.DefaultRetry, opts.DefaultRetry),
		}
		if x := info.External; x != nil {
			ps.External = &ExternalStep{InputSchema: bytes.Clone(x.InputSchema), OutputSchema: bytes.Clone(x.OutputSchema), HeartbeatTimeout: x.HeartbeatTimeout}
		}
		plan.Steps = append(plan.Steps, ps)
	}
	return plan, nil
}

// compileParameters normalizes values, decides which pages are shown,
// applies their defaults, drops the hidden pages' values and validates the
// rest against every shown page. Task creation, dry runs and rigger
// template dry-run all come here (through Compile).
func compileParameters(t *Template, values map[string]any) (map[string]any, error) {
	imp, err := importValue(values, MaxYAMLDepth+1)
	if err != nil {
		return nil, &ParameterError{Problems: []Problem{{Severity: SeverityError, Path: "parameters", Message: err.Error()}}}
	}
	params, _ := exportValue(imp).(map[string]any)
	if params == nil {
		params = map[string]any{}
	}
	// NUL bytes have no place in a form value, and the run uses them to
	// mark secret references: a value carrying one is refused.
	if path := nulPath(params, "parameters"); path != "" {
		return nil, &ParameterError{Problems: []Problem{{Severity: SeverityError, Path: path, Message: "contains a NUL byte"}}}
	}
	shown, params, err := ShownPages(t, params)
	if err != nil {
		return nil, err
	}
	var problems []Problem
	for i, page := range t.Spec.Parameters {
		if !shown[i] {
			continue
		}
		_, schema := PageCondition(page)
		sch, err := compileSchema(schema, fmt.Sprintf("parameters[%d]", i))
		if err != nil {
			// Validate already reported it as a template error.
			return nil, fmt.Errorf("parameters[%d]: invalid JSON Schema: %s", i, oneLine(err.Error()))
		}
		if err := sch.Validate(params); err != nil {
			problems = append(problems, pageProblems(schemaProblems(err, "parameters"), page, i)...)
		}
	}
	if len(problems) > 0 {
		return nil, &ParameterError{Problems: dedupe(problems)}
	}
	return params, nil
}

// nulPath returns the path of the first string (or key) in v holding a NUL
// byte, or "".
func nulPath(v any, path string) string {
	switch x := v.(type) {
	case string:
		if strings.ContainsRune(x, 0) {
			return path
		}
	case []any:
		for i, e := range x {
			if p := nulPath(e, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if strings.ContainsRune(k, 0) {
				return path
			}
			if p := nulPath(x[k], path+"."+k); p != "" {
				return p
			}
		}
	}
	return ""
}

func dedupe(ps []Problem) []Problem {
	seen := map[Problem]bool{}
	out := ps[:0]
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

func firstDuration(ds ...time.Duration) time.Duration {
	for _, d := range ds {
		if d > 0 {
			return d
		}
	}
	return 0
}

// retryFor layers the step override over the action's policy over the
// compile defaults over the package defaults.
func retryFor(step *RetryOverride, action, defaults RetryPolicy) RetryPolicy {
	r := RetryPolicy{
		MaximumAttempts:    defaultMaximumAttempts,
		InitialInterval:    defaultInitialInterval,
		BackoffCoefficient: defaultBackoffCoefficient,
		MaximumInterval:    defaultMaximumInterval,
	}
	for _, layer := range []RetryPolicy{defaults, action} {
		if layer.MaximumAttempts > 0 {
			r.MaximumAttempts = layer.MaximumAttempts
		}
		if layer.InitialInterval > 0 {
			r.InitialInterval = layer.InitialInterval
		}
		if layer.BackoffCoefficient > 0 {
			r.BackoffCoefficient = layer.BackoffCoefficient
		}
		if layer.MaximumInterval > 0 {
			r.MaximumInterval = layer.MaximumInterval
		}
	}
	if step != nil {
		if step.MaximumAttempts != nil {
			r.MaximumAttempts = *step.MaximumAttempts
		}
		if step.InitialInterval != nil {
			r.InitialInterval = *step.InitialInterval
		}
		if step.BackoffCoefficient != nil {
			r.BackoffCoefficient = *step.BackoffCoefficient
		}
		if step.MaximumInterval != nil {
			r.MaximumInterval = *step.MaximumInterval
		}
	}
	if r.MaximumInterval < r.InitialInterval {
		r.MaximumInterval = r.InitialInterval
	}
	return r
}
