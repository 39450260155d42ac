package templates

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/riggerdev/rigger/internal/jschema"
)

// Severity of a Problem.
type Severity string

const (
	SeverityError   Severity = "error"   // the template cannot run
	SeverityWarning Severity = "warning" // it runs, but probably not as meant
)

// Problem is one finding of Validate. Path names the place, e.g.
// `steps[2] (id "publish").action` (step indexes are 0-based) or
// `parameters[0].properties`.
type Problem struct {
	Severity Severity
	Path     string
	Message  string
}

func (p Problem) String() string {
	if p.Path == "" {
		return string(p.Severity) + ": " + p.Message
	}
	return string(p.Severity) + ": " + p.Path + ": " + p.Message
}

// ActionInfo describes an action as the action registry knows it.
type ActionInfo struct {
	Name           string
	TaskQueue      string
	Capabilities   []string
	DefaultTimeout time.Duration
	// DefaultRetry is the action's retry policy; zero fields take the
	// compile defaults.
	DefaultRetry RetryPolicy
	// InputSchema is a JSON Schema (draft-07) for the step input; nil means
	// no check.
	InputSchema []byte
	DryRunSafe  bool
	// Local actions are quick and need nothing beyond the default queue's
	// worker: a step using one runs as a local activity.
	Local bool
	// External is set for an action a plugin worker serves
	// (scaffolder.externalActions); compiled steps carry it.
	External *ExternalStep
}

// ActionLookup finds actions by name.
type ActionLookup interface {
	Action(name string) (ActionInfo, bool)
}

// isPathKey reports whether an input key names a file in the workspace
// (targetPath, sourcePath, path, filePath, and the from/to of fs:rename).
func isPathKey(k string) bool {
	switch k {
	case "targetPath", "sourcePath", "path", "filePath", "from", "to":
		return true
	}
	return false
}

// knownStepRoot reports whether name is one of the variables a step's input, if and each may read.
func knownStepRoot(name string) bool {
	switch name {
	case "parameters", "steps", "secrets", "user", "context", "each":
		return true
	}
	return false
}

// Validate checks a parsed template against the actions that exist and
// returns every problem found, errors and warnings, in template order. A
// template with no error-severity problem can be compiled.
func Validate(t *Template, actions ActionLookup) []Problem {
	return ValidateWith(t, actions, ValidateOptions{})
}

// ValidateOptions tune ValidateWith.
type ValidateOptions struct {
	// Strict adds warnings about what runs but is risky: a secret
	// (${{ secrets.x }}) given to an input its action does not mark as
	// secret-accepting ("x-rigger-secret": true in the input schema).
	// Backstage templates do that, so it is never an error. Also: steps
	// without an id.
	Strict bool
}

// MaxApprovalTimeout bounds rigger:approval's timeout (contract.MaxApprovalWait is it).
const MaxApprovalTimeout = 90 * 24 * time.Hour

// MaxWaitForTimeout bounds rigger:wait-for's timeout (contract.MaxWaitFor).
const MaxWaitForTimeout = 90 * 24 * time.Hour

// ParseWaitDuration reads a long wait's duration: a Go duration (48h,
// 90m) or whole days or weeks (14d, 2w).
func ParseWaitDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix, name string
		unit         time.Duration
	}{{"d", "days", 24 * time.Hour}, {"w", "weeks", 7 * 24 * time.Hour}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v <= 0 || v > 10000 {
				return 0, fmt.Errorf("%q is not a whole number of %s", s, u.name)
			}
			return time.Duration(v) * u.unit, nil
		}
	}
	return time.ParseDuration(s)
}

// waitDurationProblem checks a literal timeout of a waiting step.
func (v *validator) waitDurationProblem(path string, in map[string]any, max time.Duration) {
	s, ok := in["timeout"].(string)
	if !ok || strings.Contains(s, "${{") {
		return
	}
	if d, err := ParseWaitDuration(s); err != nil || d <= 0 || d > max {
		v.errorf(path, "%q is not a duration between 1s and %d days, written like 48h, 14d or 2w", s, max/(24*time.Hour))
	}
}

// SecretInputKey is the input schema annotation that marks a property as
// made to receive a secret (a token, a password).
const SecretInputKey = "x-rigger-secret"

// ValidateWith is Validate with options.
func ValidateWith(t *Template, actions ActionLookup, opt ValidateOptions) []Problem {
	v := &validator{t: t, actions: actions, lim: DefaultLimits(), strict: opt.Strict}
	v.parameters()
	v.steps()
	v.output()
	if t.Spec.Type == "" {
		v.warn("spec.type", "missing; Backstage requires a template type")
	}
	return v.problems
}

// HasErrors reports whether problems hold an error-severity problem.
func HasErrors(problems []Problem) bool {
	for _, p := range problems {
		if p.Severity == SeverityError {
			return true
		}
	}
	return false
}

type validator struct {
	t        *Template
	actions  ActionLookup
	lim      Limits
	problems []Problem

	strict     bool
	paramNames map[string]bool
	paramsOpen bool
	stepIndex  map[string]int // step id → index
}

func (v *validator) errorf(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Severity: SeverityError, Path: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) warn(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Severity: SeverityWarning, Path: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) parseLimits() parseLimits {
	return parseLimits{maxExprBytes: v.lim.MaxExpressionBytes, maxDepth: v.lim.MaxDepth}
}

func (v *validator) parameters() {
	v.paramNames = map[string]bool{}
	for i, page := range v.t.Spec.Parameters {
		path := fmt.Sprintf("parameters[%d]", i)
		_, schema := PageCondition(page)
		if _, badIf := pageIfShape(page); badIf {
			schema = maps.Clone(schema) // the if is reported by checkPageConditions
			delete(schema, "if")
		}
		if _, err := compileSchema(schema, path); err != nil {
			v.errorf(path, "invalid JSON Schema: %s", oneLine(err.Error()))
		}
		if parameterNames(schema, v.paramNames, 0) {
			v.paramsOpen = true
		}
		secretLists(schema, path, 0, func(at string) {
			v.warn(at, "a list of secrets: a task keeps secrets by field name, so Rigger's form will not ask for this list (and the API keeps its values in the task's history); ask for each secret as its own field with ui:field: Secret")
		})
	}
	if len(v.t.Spec.Parameters) == 0 {
		// Without a schema, a run may pass any values.
		v.paramsOpen = true
	}
	v.checkPageConditions()
}

// stepPath names step i in problem paths.
func (v *validator) stepPath(i int) string {
	if id := v.t.Spec.Steps[i].ID; id != "" {
		return fmt.Sprintf("steps[%d] (id %q)", i, id)
	}
	return fmt.Sprintf("steps[%d]", i)
}

func (v *validator) steps() {
	v.stepIndex = map[string]int{}
	for i := range v.t.Spec.Steps {
		id := v.t.StepID(i)
		if first, dup := v.stepIndex[id]; dup {
			v.errorf(v.stepPath(i)+".id", "duplicate step id %q (also %s)", id, v.stepPath(first))
			continue
		}
		v.stepIndex[id] = i
	}
	for i, st := range v.t.Spec.Steps {
		sp := v.stepPath(i)
		info, known := ActionInfo{}, false
		if v.actions != nil {
			info, known = v.actions.Action(st.Action)
		}
		if d, ok := v.actions.(interface{ Disabled(string) bool }); !known && ok && d.Disabled(st.Action) {
			v.errorf(sp+".action", "action %q is disabled on this server (scaffolder.disabledActions)", st.Action)
		} else if !known {
			v.errorf(sp+".action", "unknown action %q", st.Action)
		}
		if cond, ok := st.If.(string); ok && !hasSyntax(cond) {
			v.warn(sp+".if", "plain text %q is always true; use a boolean or a ${{ }} expression", cond)
		}
		if each, ok := st.Each.(string); ok && !hasSyntax(each) {
			v.errorf(sp+".each", "must be a ${{ }} expression or a list, got plain text %q", each)
		}
		var strs []templateString
		findTemplateStrings(st.Input, sp+".input", v.parseLimits(), &strs)
		inputStrings := len(strs)
		findTemplateStrings(st.If, sp+".if", v.parseLimits(), &strs)
		findTemplateStrings(st.Each, sp+".each", v.parseLimits(), &strs)
		if known {
			v.checkInput(sp, st, info, inputStrings > 0)
			if v.strict {
				v.secretInputs(sp, st.Action, info, strs[:inputStrings])
			}
		}
		if v.strict && st.ID == "" {
			v.warn(sp, "has no id: its outputs cannot be referred to (steps.<id>.output), and logs and retries name it by its position")
		}
		for _, ts := range strs {
			v.checkString(ts, i, st.Each != nil)
		}
		v.checkPaths(sp+".input", st.Input)
		if st.Action == "rigger:approval" {
			in, _ := st.Input.(map[string]any)
			if self, ok := in["allowSelfApproval"]; ok {
				if _, literal := self.(bool); !literal {
					v.errorf(sp+".input.allowSelfApproval", "must be written as true or false: who may approve a run must not depend on what its form was given")
				}
			}
			// A literal timeout is checked now, not when the run reaches it.
			v.waitDurationProblem(sp+".input.timeout", in, MaxApprovalTimeout)
		}
		if st.Action == "rigger:wait-for" {
			in, _ := st.Input.(map[string]any)
			v.waitDurationProblem(sp+".input.timeout", in, MaxWaitForTimeout)
			v.waitForInput(sp+".input", in)
		}
	}
}

// checkString reports syntax errors and bad references in one template
// string of step i (i < 0: the output).
func (v *validator) checkString(ts templateString, i int, hasEach bool) {
	if ts.err != nil {
		v.errorf(ts.path, "%s", locate(ts.err, ts.src))
		return
	}
	for _, r := range references(ts.parsed) {
		at := func(msg string) string {
			line, col := lineCol(ts.parsed.src, r.pos)
			return fmt.Sprintf("line %d, column %d: %s", line, col, msg)
		}
		switch r.root {
		case "steps":
			if r.key == "" {
				continue
			}
			idx, ok := v.stepIndex[r.key]
			switch {
			case r.hyphenated && ok:
				v.errorf(ts.path, "%s", at(fmt.Sprintf("steps.%s reads as a subtraction; write steps[%q]", r.key, r.key)))
			case !ok:
				msg := fmt.Sprintf("refers to unknown step %q", r.key)
				for id := range v.stepIndex {
					if strings.HasPrefix(id, r.key+"-") {
						msg += fmt.Sprintf(" (a step id with \"-\" must be written steps[%q])", id)
						break
					}
				}
				v.errorf(ts.path, "%s", at(msg))
			case i >= 0 && idx == i:
				v.errorf(ts.path, "%s", at(fmt.Sprintf("refers to its own step %q", r.key)))
			case i >= 0 && idx > i:
				v.errorf(ts.path, "%s", at(fmt.Sprintf("refers to step %q, which runs later (steps[%d])", r.key, idx)))
			}
		case "parameters":
			if r.key == "" || v.paramNames[r.key] {
				continue
			}
			if v.paramsOpen {
				v.warn(ts.path, "%s", at(fmt.Sprintf("parameters.%s is not defined by any parameter page", r.key)))
			} else {
				v.errorf(ts.path, "%s", at(fmt.Sprintf("parameters.%s is not defined by any parameter page, and the pages allow no other properties", r.key)))
			}
		case "each":
			if i >= 0 && !hasEach {
				v.warn(ts.path, "%s", at("each is only defined in a step with \"each\""))
			}
			if i < 0 {
				v.warn(ts.path, "%s", at("each is not defined in the output"))
			}
		default:
			if !knownStepRoot(r.root) {
				v.warn(ts.path, "%s", at(fmt.Sprintf("unknown variable %q (it is undefined here)", r.root)))
			}
		}
	}
}

// locate formats a syntax error with its line and column.
func locate(err error, src string) string {
	var se *syntaxError
	if errors.As(err, &se) && src != "" {
		line, col := lineCol(src, se.pos)
		return fmt.Sprintf("line %d, column %d: %s", line, col, se.msg)
	}
	return err.Error()
}

// checkInput validates a step's input against the action's schema. An
// input without template syntax is validated as a whole. Otherwise only
// what rendering cannot change is checked: the required properties (at
// least one alternative of a top-level anyOf/oneOf must be complete), and
// every top-level value without template syntax against the schema of its
// property. Either way, a top-level key the schema does not name is
// reported (a warning: Backstage passes unknown keys through, so it is
// most likely a typo the action will ignore).
func (v *validator) checkInput(sp string, st Step, info ActionInfo, templated bool) {
	if info.InputSchema == nil {
		return
	}
	sch, err := compileSchemaBytes(info.InputSchema, "actions/"+st.Action)
	if err != nil {
		v.errorf(sp+".action", "action %q has an invalid input schema: %s", st.Action, oneLine(err.Error()))
		return
	}
	raw, err := decodeJSONObject(info.InputSchema)
	if err != nil {
		return
	}
	input := st.Input
	if input == nil {
		input = map[string]any{}
	}
	in, _ := input.(map[string]any)
	if !templated {
		if err := sch.Validate(input); err != nil {
			for _, p := range schemaProblems(err, sp+".input") {
				v.errorf(p.Path, "%s", p.Message)
			}
		}
		v.unknownInputKeys(sp, st.Action, raw, in, false)
		return
	}
	v.requiredInputs(sp, st.Action, raw, in)
	v.unknownInputKeys(sp, st.Action, raw, in, true)
	for _, k := range slices.Sorted(maps.Keys(in)) {
		var strs []templateString
		findTemplateStrings(in[k], "", v.parseLimits(), &strs)
		if len(strs) > 0 {
			continue
		}
		for _, p := range staticInputProblems(raw, k, in[k], jschema.Path(sp+".input", []string{k})) {
			v.errorf(p.Path, "%s", p.Message)
		}
	}
}

// requiredInputs reports the required properties a templated input lacks:
// those of the schema itself and, when the schema offers alternatives
// (anyOf/oneOf, e.g. catalog:register's catalogInfoUrl or
// repoContentsUrl), those of the closest alternative when none is
// complete.
func (v *validator) requiredInputs(sp, action string, raw, in map[string]any) {
	missing := func(schema map[string]any) []string {
		var out []string
		req, _ := schema["required"].([]any)
		for _, r := range req {
			if name, ok := r.(string); ok {
				if _, present := in[name]; !present {
					out = append(out, name)
				}
			}
		}
		return out
	}
	for _, name := range missing(raw) {
		v.errorf(sp+".input."+name, "required by action %q", action)
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		alts, ok := raw[key].([]any)
		if !ok || len(alts) == 0 {
			continue
		}
		var best []string
		var options []string
		complete := false
		for _, a := range alts {
			am, ok := a.(map[string]any)
			if !ok {
				complete = true // not an object schema: nothing to check
				break
			}
			req, _ := am["required"].([]any)
			if len(req) == 0 {
				complete = true
				break
			}
			m := missing(am)
			if len(m) == 0 {
				complete = true
				break
			}
			if best == nil || len(m) < len(best) {
				best = m
			}
			var names []string
			for _, r := range req {
				if s, ok := r.(string); ok {
					names = append(names, s)
				}
			}
			options = append(options, strings.Join(names, " + "))
		}
		if !complete && best != nil {
			v.errorf(sp+".input."+best[0], "required by action %q (it needs one of: %s)", action, strings.Join(options, "; "))
		}
	}
}

// unknownInputKeys warns about top-level input keys the action's schema
// does not name (in properties, required, or any of its combinations).
// A schema that names none, or allows other keys explicitly
// (patternProperties, or additionalProperties other than false), is not
// checked. With additionalProperties: false the schema itself rejects an
// unknown key of a static input; a templated input gets the error here.
func (v *validator) unknownInputKeys(sp, action string, raw, in map[string]any, templated bool) {
	if len(in) == 0 {
		return
	}
	if _, ok := raw["patternProperties"]; ok {
		return
	}
	ap, hasAP := raw["additionalProperties"]
	if hasAP && ap != false {
		return
	}
	known := map[string]bool{}
	parameterNames(raw, known, 0)
	if len(known) == 0 {
		return
	}
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, k := range slices.Sorted(maps.Keys(in)) {
		if known[k] {
			continue
		}
		path := jschema.Path(sp+".input", []string{k})
		switch {
		case !hasAP:
			v.warn(path, "unknown input of action %q, which the action ignores; it takes %s", action, strings.Join(names, ", "))
		case templated:
			v.errorf(path, "not allowed by action %q; it takes %s", action, strings.Join(names, ", "))
		}
	}
}

// staticInputProblems validates the value of top-level input key k
// against the schemas the action gives k: those of properties and allOf
// must all hold; of anyOf/oneOf alternatives, at least one (an
// alternative that does not name k allows anything). A sub-schema that
// cannot be compiled on its own (a $ref it cannot resolve) is skipped.
func staticInputProblems(raw map[string]any, k string, val any, path string) []Problem {
	propSchema := func(s any) (map[string]any, bool) {
		sm, ok := s.(map[string]any)
		if !ok {
			return nil, false
		}
		props, _ := sm["properties"].(map[string]any)
		p, ok := props[k].(map[string]any)
		return p, ok
	}
	check := func(sub map[string]any) []Problem {
		doc := make(map[string]any, len(sub)+2)
		for key, e := range sub {
			doc[key] = e
		}
		for _, defs := range []string{"definitions", "$defs"} {
			if d, ok := raw[defs]; ok {
				if _, clash := doc[defs]; !clash {
					doc[defs] = d
				}
			}
		}
		data, err := json.Marshal(doc)
		if err != nil {
			return nil
		}
		sch, err := compileSchemaBytes(data, "actions/input/"+k)
		if err != nil {
			return nil
		}
		if err := sch.Validate(val); err != nil {
			return schemaProblems(err, path)
		}
		return nil
	}
	var out []Problem
	if p, ok := propSchema(raw); ok {
		out = append(out, check(p)...)
	}
	if all, ok := raw["allOf"].([]any); ok {
		for _, a := range all {
			if p, ok := propSchema(a); ok {
				out = append(out, check(p)...)
			}
		}
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		alts, ok := raw[key].([]any)
		if !ok || len(alts) == 0 {
			continue
		}
		var first []Problem
		passes := false
		for _, a := range alts {
			p, ok := propSchema(a)
			if !ok {
				passes = true
				break
			}
			probs := check(p)
			if len(probs) == 0 {
				passes = true
				break
			}
			if first == nil {
				first = probs
			}
		}
		if !passes {
			out = append(out, first...)
		}
	}
	return out
}

// checkPaths warns about file paths in an input that come straight from
// the user's parameters.
func (v *validator) checkPaths(path string, val any) {
	switch x := val.(type) {
	case map[string]any:
		keys := slices.Sorted(maps.Keys(x))
		for _, k := range keys {
			p := joinPath(path, k)
			if s, ok := x[k].(string); ok && isPathKey(k) && hasSyntax(s) {
				if pt, err := parseTemplateString(s, v.parseLimits()); err == nil {
					for _, r := range references(pt) {
						if r.root == "parameters" {
							v.warn(p, "file path comes from user input (parameters.%s); Rigger keeps it inside the workspace, but the user chooses where", r.key)
							break
						}
					}
				}
				continue
			}
			v.checkPaths(p, x[k])
		}
	case []any:
		for i, e := range x {
			v.checkPaths(fmt.Sprintf("%s[%d]", path, i), e)
		}
	}
}

func (v *validator) output() {
	raw := v.t.Spec.Output.Raw
	if raw == nil {
		return
	}
	var strs []templateString
	findTemplateStrings(raw, "output", v.parseLimits(), &strs)
	for _, ts := range strs {
		v.checkString(ts, -1, false)
	}
}

// oneLine flattens a multi-line library message.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// decodeJSONObject decodes a JSON object.
func decodeJSONObject(data []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// secretInputs warns about every secret that flows into an input of the
// step (sp) that its action does not mark with SecretInputKey. strs are
// the template strings of the step's input.
func (v *validator) secretInputs(sp, action string, info ActionInfo, strs []templateString) {
	var props map[string]any
	if info.InputSchema != nil {
		if raw, err := decodeJSONObject(info.InputSchema); err == nil {
			props, _ = raw["properties"].(map[string]any)
		}
	}
	prefix := sp + ".input."
	for _, ts := range strs {
		if ts.parsed == nil || !strings.HasPrefix(ts.path, prefix) {
			continue
		}
		key := strings.TrimPrefix(ts.path, prefix)
		if i := strings.IndexAny(key, ".["); i >= 0 {
			key = key[:i]
		}
		if prop, _ := props[key].(map[string]any); prop != nil && prop[SecretInputKey] == true {
			continue
		}
		seen := map[string]bool{}
		for _, r := range references(ts.parsed) {
			if r.root != "secrets" || seen[r.key] {
				continue
			}
			seen[r.key] = true
			name := "a secret"
			if r.key != "" {
				name = "secrets." + r.key
			}
			v.warn(ts.path, "%s flows into input %q, which %s does not mark as taking a secret (%s); logs and events redact it and what is derived from it, but the action may store or send it", name, key, action, SecretInputKey)
		}
	}
}

// waitForInput checks what a rigger:wait-for step waits for: "for" is
// written literally (what a run waits for must not depend on its form),
// and the fields that kind needs are there.
func (v *validator) waitForInput(path string, in map[string]any) {
	kind, literal := in["for"].(string)
	if !literal || strings.Contains(kind, "${{") {
		v.errorf(path+".for", "must be written literally as callback, pull-request or workflow-run")
		return
	}
	need := map[string][]string{"callback": nil, "pull-request": {"repoUrl", "pullRequest"}, "workflow-run": {"repoUrl", "workflow"}}
	fields, ok := need[kind]
	if !ok {
		v.errorf(path+".for", "%q is not something rigger:wait-for waits for: callback, pull-request or workflow-run", kind)
		return
	}
	for _, f := range fields {
		if x, ok := in[f]; !ok || x == nil || x == "" {
			v.errorf(path+"."+f, "is required when waiting for a %s", kind)
		}
	}
	if u, ok := in["until"].(string); ok && kind == "pull-request" && !strings.Contains(u, "${{") && u != "merged" && u != "closed" {
		v.errorf(path+".until", "%q: a pull request wait ends when it is merged or closed", u)
	}
}
