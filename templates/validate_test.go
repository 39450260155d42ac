package templates

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// actionTable is a hand-written ActionLookup.
type actionTable map[string]ActionInfo

func (a actionTable) Action(name string) (ActionInfo, bool) {
	info, ok := a[name]
	return info, ok
}

// testActions knows the built-in actions Rigger ships first, with small
// input schemas for fetch:template and debug:log.
func testActions() actionTable {
	a := actionTable{}
	for _, n := range []string{
		"fetch:plain", "fetch:plain:file", "fetch:template", "fs:delete", "fs:rename", "fs:write",
		"debug:log", "debug:wait", "catalog:register", "catalog:write", "catalog:fetch", "rigger:approval", "rigger:wait-for",
	} {
		queue := "rigger-fs"
		if strings.HasPrefix(n, "catalog:") {
			queue = "rigger-catalog"
		}
		a[n] = ActionInfo{Name: n, TaskQueue: queue, Capabilities: []string{"workspace"}, DefaultTimeout: 5 * time.Minute, DryRunSafe: n == "debug:log"}
	}
	ft := a["fetch:template"]
	ft.InputSchema = []byte(`{"type":"object","required":["url"],"properties":{"url":{"type":"string"},"targetPath":{"type":"string"},"values":{"type":"object"},"copyWithoutTemplating":{"type":"array","items":{"type":"string"}},"copyWithoutRender":{"type":"array","items":{"type":"string"}},"cookiecutterCompat":{"type":"boolean"},"templateFileExtension":{"type":["string","boolean"]},"replace":{"type":"boolean"},"trimBlocks":{"type":"boolean"},"lstripBlocks":{"type":"boolean"},"token":{"type":"string"}}}`)
	a["fetch:template"] = ft
	dl := a["debug:log"]
	dl.InputSchema = []byte(`{"type":"object","additionalProperties":false,"properties":{"message":{"type":"string"},"listWorkspace":{"type":["boolean","string"]}}}`)
	a["debug:log"] = dl
	return a
}

// templateWith builds a template from YAML snippets for parameters,
// steps and output (each indented for spec).
func templateWith(t testing.TB, params, steps, output string) *Template {
	t.Helper()
	src := "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: t\nspec:\n  type: service\n"
	if params != "" {
		src += "  parameters:\n" + indentLines(params, "    ")
	}
	src += "  steps:\n" + indentLines(steps, "    ")
	if output != "" {
		src += "  output:\n" + indentLines(output, "    ")
	}
	tpl, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	return tpl
}

func indentLines(s, prefix string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString(prefix + l + "\n")
	}
	return b.String()
}

const nameParams = `- title: P
  required: [name]
  properties:
    name: {type: string}
    targetPath: {type: string}
`

func TestValidate(t *testing.T) {
	tests := []struct {
		name                  string
		params, steps, output string
		want                  []string // problems, as Problem.String()
	}{
		{
			name:   "clean",
			params: nameParams,
			steps:  "- id: log\n  action: debug:log\n  input:\n    message: hello ${{ parameters.name }}\n",
			want:   nil,
		},
		{
			name:   "a list of secrets",
			params: "- properties:\n    keys: {type: array, items: {type: string, ui:field: Secret}}\n    team:\n      type: object\n      properties:\n        members: {type: array, items: {type: object, properties: {pat: {type: string, ui:widget: password}}}}\n        names: {type: array, items: {type: string}}\n",
			steps:  "- id: log\n  action: debug:log\n",
			want: []string{
				"warning: parameters[0].properties.keys: a list of secrets: a task keeps secrets by field name, so Rigger's form will not ask for this list (and the API keeps its values in the task's history); ask for each secret as its own field with ui:field: Secret",
				"warning: parameters[0].properties.team.properties.members: a list of secrets: a task keeps secrets by field name, so Rigger's form will not ask for this list (and the API keeps its values in the task's history); ask for each secret as its own field with ui:field: Secret",
			},
		},
		{
			name:  "approval timeout not a duration",
			steps: "- id: ok\n  action: rigger:approval\n  input:\n    timeout: 2 days\n- id: ok2\n  action: rigger:approval\n  input:\n    timeout: 2161h\n",
			want: []string{
				`error: steps[0] (id "ok").input.timeout: "2 days" is not a duration between 1s and 90 days, written like 48h, 14d or 2w`,
				`error: steps[1] (id "ok2").input.timeout: "2161h" is not a duration between 1s and 90 days, written like 48h, 14d or 2w`,
			},
		},
		{
			name:  "approval timeout in days",
			steps: "- id: ok\n  action: rigger:approval\n  input:\n    timeout: 14d\n- id: ok2\n  action: rigger:approval\n  input:\n    timeout: 13w\n",
			want:  []string{`error: steps[1] (id "ok2").input.timeout: "13w" is not a duration between 1s and 90 days, written like 48h, 14d or 2w`},
		},
		{
			name:   "wait-for input",
			params: nameParams,
			steps: "- id: a\n  action: rigger:wait-for\n  input:\n    for: ${{ parameters.name }}\n" +
				"- id: b\n  action: rigger:wait-for\n  input:\n    for: deploy\n" +
				"- id: c\n  action: rigger:wait-for\n  input:\n    for: pull-request\n    until: approved\n    timeout: 91d\n" +
				"- id: d\n  action: rigger:wait-for\n  input:\n    for: workflow-run\n    repoUrl: github.com?owner=a&repo=b\n" +
				"- id: ok\n  action: rigger:wait-for\n  input:\n    for: callback\n    timeout: 2w\n",
			want: []string{
				`error: steps[0] (id "a").input.for: must be written literally as callback, pull-request or workflow-run`,
				`error: steps[1] (id "b").input.for: "deploy" is not something rigger:wait-for waits for: callback, pull-request or workflow-run`,
				`error: steps[2] (id "c").input.timeout: "91d" is not a duration between 1s and 90 days, written like 48h, 14d or 2w`,
				`error: steps[2] (id "c").input.repoUrl: is required when waiting for a pull-request`,
				`error: steps[2] (id "c").input.pullRequest: is required when waiting for a pull-request`,
				`error: steps[2] (id "c").input.until: "approved": a pull request wait ends when it is merged or closed`,
				`error: steps[3] (id "d").input.workflow: is required when waiting for a workflow-run`,
			},
		},
		{
			name:   "self-approval from the form",
			params: nameParams,
			steps:  "- id: ok\n  action: rigger:approval\n  input:\n    allowSelfApproval: ${{ parameters.name == 'x' }}\n",
			want:   []string{`error: steps[0] (id "ok").input.allowSelfApproval: must be written as true or false: who may approve a run must not depend on what its form was given`},
		},
		{
			name:  "unknown action",
			steps: "- id: log\n  action: debug:log\n- id: publish\n  action: publish:gitlab\n",
			want:  []string{`error: steps[1] (id "publish").action: unknown action "publish:gitlab"`},
		},
		{
			name:  "duplicate ids",
			steps: "- id: a\n  action: debug:log\n- id: a\n  action: debug:log\n",
			want:  []string{`error: steps[1] (id "a").id: duplicate step id "a" (also steps[0] (id "a"))`},
		},
		{
			name:  "generated id collides",
			steps: "- action: debug:log\n- id: step-1\n  action: debug:log\n",
			want:  []string{`error: steps[1] (id "step-1").id: duplicate step id "step-1" (also steps[0])`},
		},
		{
			name:  "expression syntax error",
			steps: "- id: log\n  action: debug:log\n  input:\n    message: \"x ${{ parameters.name | nosuch }}\"\n",
			want:  []string{`error: steps[0] (id "log").input.message: line 1, column 25: unknown filter "nosuch"`},
		},
		{
			name:  "syntax error in if",
			steps: "- id: log\n  action: debug:log\n  if: ${{ parameters.name === }}\n",
			want:  []string{`error: steps[0] (id "log").if: line 1, column 25: expected an expression, found end of expression "}}"`},
		},
		{
			name:  "unknown step",
			steps: "- id: log\n  action: debug:log\n  input:\n    message: ${{ steps.nope.output.x }}\n",
			want:  []string{`error: steps[0] (id "log").input.message: line 1, column 5: refers to unknown step "nope"`},
		},
		{
			name:  "later step",
			steps: "- id: a\n  action: debug:log\n  input:\n    message: ${{ steps.b.output.x }}\n- id: b\n  action: debug:log\n",
			want:  []string{`error: steps[0] (id "a").input.message: line 1, column 5: refers to step "b", which runs later (steps[1])`},
		},
		{
			name:  "own step",
			steps: "- id: a\n  action: debug:log\n  if: ${{ steps.a.output.ok }}\n",
			want:  []string{`error: steps[0] (id "a").if: line 1, column 5: refers to its own step "a"`},
		},
		{
			name:  "hyphenated id written with dots",
			steps: "- id: fetch-base\n  action: debug:log\n- id: log\n  action: debug:log\n  input:\n    message: ${{ steps.fetch-base.output.x }}\n",
			want:  []string{`error: steps[1] (id "log").input.message: line 1, column 5: steps.fetch-base reads as a subtraction; write steps["fetch-base"]`},
		},
		{
			name:  "hyphenated id written with brackets",
			steps: "- id: fetch-base\n  action: debug:log\n- id: log\n  action: debug:log\n  input:\n    message: ${{ steps['fetch-base'].output.x }}\n",
			want:  nil,
		},
		{
			name:   "earlier step and output refs",
			params: nameParams,
			steps:  "- id: a\n  action: debug:log\n- id: b\n  action: debug:log\n  input:\n    message: ${{ steps.a.output.x }}\n",
			output: "links:\n  - url: ${{ steps.b.output.url }}\n  - url: ${{ steps.c.output.url }}\n",
			want:   []string{`error: output.links[1].url: line 1, column 5: refers to unknown step "c"`},
		},
		{
			name:   "unknown parameter, open schema",
			params: nameParams,
			steps:  "- id: a\n  action: debug:log\n  input:\n    message: ${{ parameters.nmae }}\n",
			want:   []string{`warning: steps[0] (id "a").input.message: line 1, column 5: parameters.nmae is not defined by any parameter page`},
		},
		{
			name:   "unknown parameter, closed schema",
			params: "- additionalProperties: false\n  properties:\n    name: {type: string}\n",
			steps:  "- id: a\n  action: debug:log\n  input:\n    message: ${{ parameters.nmae }}\n",
			want:   []string{`error: steps[0] (id "a").input.message: line 1, column 5: parameters.nmae is not defined by any parameter page, and the pages allow no other properties`},
		},
		{
			name: "parameters from dependencies, allOf, oneOf and if/then",
			params: `- properties:
    mode: {type: string, enum: [a, b]}
  dependencies:
    mode:
      allOf:
        - if: {properties: {mode: {const: a}}}
          then: {properties: {branch: {type: string}}}
      oneOf:
        - properties: {extra: {type: string}}
  anyOf:
    - required: [other]
`,
			steps: "- id: a\n  action: debug:log\n  input:\n    message: ${{ parameters.mode }}${{ parameters.branch }}${{ parameters.extra }}${{ parameters.other }}\n",
			want:  nil,
		},
		{
			name:  "static input violates the action schema",
			steps: "- id: a\n  action: debug:log\n  input:\n    message: 3\n    colour: red\n",
			want: []string{
				`error: steps[0] (id "a").input: additional properties 'colour' not allowed`,
				`error: steps[0] (id "a").input.message: got number, want string`,
			},
		},
		{
			name:  "templated input misses a required property",
			steps: "- id: f\n  action: fetch:template\n  input:\n    values:\n      n: ${{ parameters.x }}\n",
			want: []string{
				`error: steps[0] (id "f").input.url: required by action "fetch:template"`,
				`warning: steps[0] (id "f").input.values.n: line 1, column 5: parameters.x is not defined by any parameter page`,
			},
		},
		{
			name:  "static input misses a required property",
			steps: "- id: f\n  action: fetch:template\n  input:\n    targetPath: ./x\n",
			want:  []string{`error: steps[0] (id "f").input.url: required`},
		},
		{
			name:   "path from a parameter",
			params: nameParams,
			steps:  "- id: f\n  action: fetch:template\n  input:\n    url: ./skeleton\n    targetPath: ./${{ parameters.targetPath }}\n- id: w\n  action: fs:write\n  input:\n    files:\n      - path: ${{ parameters.name }}.txt\n",
			want: []string{
				`warning: steps[0] (id "f").input.targetPath: file path comes from user input (parameters.targetPath); Rigger keeps it inside the workspace, but the user chooses where`,
				`warning: steps[1] (id "w").input.files[0].path: file path comes from user input (parameters.name); Rigger keeps it inside the workspace, but the user chooses where`,
			},
		},
		{
			name:  "each outside an each step",
			steps: "- id: a\n  action: debug:log\n  input:\n    message: ${{ each.value }}\n- id: b\n  action: debug:log\n  each: [1, 2]\n  input:\n    message: ${{ each.value }}\n",
			want:  []string{`warning: steps[0] (id "a").input.message: line 1, column 5: each is only defined in a step with "each"`},
		},
		{
			name:  "unknown variable",
			steps: "- id: a\n  action: debug:log\n  input:\n    message: '${{ values.x }}{% set y = 1 %}${{ y }}{% for z in range(2) %}${{ z }}${{ loop.index }}{% endfor %}'\n",
			want:  []string{`warning: steps[0] (id "a").input.message: line 1, column 5: unknown variable "values" (it is undefined here)`},
		},
		{
			name:  "plain-text if and each",
			steps: "- id: a\n  action: debug:log\n  if: 'false'\n  each: items\n",
			want: []string{
				`warning: steps[0] (id "a").if: plain text "false" is always true; use a boolean or a ${{ }} expression`,
				`error: steps[0] (id "a").each: must be a ${{ }} expression or a list, got plain text "items"`,
			},
		},
		{
			name:   "invalid parameter schema",
			params: "- properties:\n    name: {type: strang}\n",
			steps:  "- id: a\n  action: debug:log\n",
			want:   []string{"error: parameters[0]: invalid JSON Schema"},
		},
		{
			name:   "remote $ref refused",
			params: "- properties:\n    name: {$ref: 'https://example.com/schema.json'}\n",
			steps:  "- id: a\n  action: debug:log\n",
			want:   []string{"error: parameters[0]: invalid JSON Schema"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := templateWith(t, tt.params, tt.steps, tt.output)
			wantProblems(t, Validate(tpl, testActions()), tt.want)
		})
	}
}

func TestValidateInvalidActionSchema(t *testing.T) {
	acts := testActions()
	acts["bad"] = ActionInfo{Name: "bad", InputSchema: []byte(`{"type": 5}`)}
	tpl := templateWith(t, "", "- id: a\n  action: bad\n", "")
	got := Validate(tpl, acts)
	if len(got) != 1 || !strings.HasPrefix(got[0].String(), `error: steps[0] (id "a").action: action "bad" has an invalid input schema`) {
		t.Errorf("got %v", got)
	}
}

func TestValidateMissingType(t *testing.T) {
	tpl := templateWith(t, "", "- id: a\n  action: debug:log\n", "")
	tpl.Spec.Type = ""
	got := Validate(tpl, testActions())
	if len(got) != 1 || got[0].String() != "warning: spec.type: missing; Backstage requires a template type" {
		t.Errorf("got %v", got)
	}
	if HasErrors(got) {
		t.Error("a warning is not an error")
	}
	if !HasErrors([]Problem{{Severity: SeverityError}}) {
		t.Error("HasErrors missed an error")
	}
	_ = fmt.Sprint(got)
}

// TestValidateActionInputs covers the input checks that depend on the
// shape of the action's schema: unknown keys, static values inside a
// templated input, and required alternatives.
func TestValidateActionInputs(t *testing.T) {
	acts := testActions()
	acts["fs:delete"] = ActionInfo{Name: "fs:delete", InputSchema: []byte(`{"type":"object","required":["files"],"properties":{"files":{"type":"array","items":{"type":"string"}}}}`)}
	acts["catalog:register"] = ActionInfo{Name: "catalog:register", InputSchema: []byte(`{"type":"object","anyOf":[
		{"required":["catalogInfoUrl"],"properties":{"catalogInfoUrl":{"type":"string"},"optional":{"type":"boolean"}}},
		{"required":["repoContentsUrl"],"properties":{"repoContentsUrl":{"type":"string"},"catalogInfoPath":{"type":"string"},"optional":{"type":"boolean"}}}]}`)}
	acts["open"] = ActionInfo{Name: "open", InputSchema: []byte(`{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":{"type":"string"}}`)}
	acts["anything"] = ActionInfo{Name: "anything", InputSchema: []byte(`{"type":"object"}`)}
	acts["refs"] = ActionInfo{Name: "refs", InputSchema: []byte(`{"type":"object","definitions":{"n":{"type":"integer"}},"properties":{"n":{"$ref":"#/definitions/n"},"s":{"type":"string"}}}`)}
	tests := []struct {
		name, steps string
		want        []string
	}{
		{
			name:  "wrong type, static input",
			steps: "- id: a\n  action: fs:delete\n  input:\n    files: x\n",
			want:  []string{`error: steps[0] (id "a").input.files: got string, want array`},
		},
		{
			name:  "wrong type beside a templated value",
			steps: "- id: a\n  action: fetch:template\n  input:\n    url: ${{ parameters.url }}\n    copyWithoutTemplating: '*.png'\n    replace: 'yes'\n    values: {n: 1}\n",
			want: []string{
				`error: steps[0] (id "a").input.copyWithoutTemplating: got string, want array`,
				`error: steps[0] (id "a").input.replace: got string, want boolean`,
				`warning: steps[0] (id "a").input.url: line 1, column 5: parameters.url is not defined by any parameter page`,
			},
		},
		{
			name:  "templated values are not type-checked",
			steps: "- id: a\n  action: fs:delete\n  input:\n    files: ${{ parameters.files }}\n",
			want:  []string{`warning: steps[0] (id "a").input.files: line 1, column 5: parameters.files is not defined by any parameter page`},
		},
		{
			name:  "unknown key, templated input",
			steps: "- id: a\n  action: fetch:template\n  input:\n    url: ./skeleton\n    value:\n      name: ${{ parameters.name }}\n",
			want: []string{
				`warning: steps[0] (id "a").input.value: unknown input of action "fetch:template", which the action ignores; it takes cookiecutterCompat, copyWithoutRender, copyWithoutTemplating, lstripBlocks, replace, targetPath, templateFileExtension, token, trimBlocks, url, values`,
				`warning: steps[0] (id "a").input.value.name: line 1, column 5: parameters.name is not defined by any parameter page`,
			},
		},
		{
			name:  "unknown key, additionalProperties false, templated input",
			steps: "- id: a\n  action: debug:log\n  input:\n    message: ${{ parameters.m }}\n    colour: red\n",
			want: []string{
				`error: steps[0] (id "a").input.colour: not allowed by action "debug:log"; it takes listWorkspace, message`,
				`warning: steps[0] (id "a").input.message: line 1, column 5: parameters.m is not defined by any parameter page`,
			},
		},
		{
			name:  "schemas that allow other keys are not checked for them",
			steps: "- id: a\n  action: open\n  input:\n    b: x\n- id: b\n  action: anything\n  input:\n    z: 1\n",
		},
		{
			name:  "static values checked through $ref",
			steps: "- id: a\n  action: refs\n  input:\n    s: ${{ parameters.s }}\n    n: many\n",
			want: []string{
				`error: steps[0] (id "a").input.n: got string, want integer`,
				`warning: steps[0] (id "a").input.s: line 1, column 5: parameters.s is not defined by any parameter page`,
			},
		},
		{
			name:  "alternatives: one is complete",
			steps: "- id: a\n  action: catalog:register\n  input:\n    repoContentsUrl: ${{ parameters.u }}\n    catalogInfoPath: /catalog-info.yaml\n    optional: true\n",
			want:  []string{`warning: steps[0] (id "a").input.repoContentsUrl: line 1, column 5: parameters.u is not defined`},
		},
		{
			name:  "alternatives: none is complete",
			steps: "- id: a\n  action: catalog:register\n  input:\n    catalogInfoPath: ${{ parameters.p }}\n",
			want: []string{
				`error: steps[0] (id "a").input.catalogInfoUrl: required by action "catalog:register" (it needs one of: catalogInfoUrl; repoContentsUrl)`,
				`warning: steps[0] (id "a").input.catalogInfoPath: line 1, column 5: parameters.p is not defined`,
			},
		},
		{
			name:  "alternatives: a static value no alternative accepts",
			steps: "- id: a\n  action: catalog:register\n  input:\n    catalogInfoUrl: ${{ parameters.u }}\n    optional: 'no'\n",
			want: []string{
				`error: steps[0] (id "a").input.optional: got string, want boolean`,
				`warning: steps[0] (id "a").input.catalogInfoUrl: line 1, column 5: parameters.u is not defined`,
			},
		},
		{
			name:  "alternatives: a key only one alternative names is unconstrained by the others",
			steps: "- id: a\n  action: catalog:register\n  input:\n    catalogInfoUrl: ${{ parameters.u }}\n    catalogInfoPath: 5\n",
			want:  []string{`warning: steps[0] (id "a").input.catalogInfoUrl: line 1, column 5: parameters.u is not defined`},
		},
		{
			name:  "unknown key, static input",
			steps: "- id: a\n  action: fs:delete\n  input:\n    files: [a]\n    file: b\n",
			want:  []string{`warning: steps[0] (id "a").input.file: unknown input of action "fs:delete", which the action ignores; it takes files`},
		},
		{
			name:  "a templated if does not make a static input templated",
			steps: "- id: a\n  action: fs:delete\n  if: ${{ parameters.go }}\n  input:\n    files: x\n",
			want: []string{
				`error: steps[0] (id "a").input.files: got string, want array`,
				`warning: steps[0] (id "a").if: line 1, column 5: parameters.go is not defined`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := templateWith(t, "", tt.steps, "")
			wantProblems(t, Validate(tpl, acts), tt.want)
		})
	}
}

// wantProblems checks that got are the problems want, in order, each
// starting with its want line.
func wantProblems(t *testing.T, got []Problem, want []string) {
	t.Helper()
	var lines []string
	for _, p := range got {
		lines = append(lines, p.String())
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i := range lines {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("problem %d:\n got %s\nwant %s", i, lines[i], want[i])
		}
	}
}

// TestCompileSchemaBytesKept: a schema compiled once is kept by its name
// and bytes and given again (not compiled again), other bytes or another
// name compile anew, a schema that does not compile is not kept, the kept
// schema still validates, and the cache is emptied when full.
func TestCompileSchemaBytesKept(t *testing.T) {
	schema := []byte(`{"type":"object","required":["name"],"properties":{"name":{"type":"string","minLength":3}}}`)
	a, err := compileSchemaBytes(schema, "actions/test:kept")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := compileSchemaBytes(schema, "actions/test:kept"); err != nil || b != a {
		t.Errorf("the same schema compiled again: %p, %p (%v)", a, b, err)
	}
	if b, _ := compileSchemaBytes(schema, "actions/test:other"); b == a {
		t.Error("another name shared the kept schema")
	}
	if b, _ := compileSchemaBytes([]byte(`{"type":"object"}`), "actions/test:kept"); b == a {
		t.Error("other bytes shared the kept schema")
	}
	bad := []byte(`{"type":"object","properties":{"n":{"$ref":"https://example.com/x.json"}}}`)
	for range 2 {
		if _, err := compileSchemaBytes(bad, "actions/test:bad"); err == nil {
			t.Fatal("a schema with a remote $ref compiled")
		}
	}
	schemaCache.Lock()
	_, kept := schemaCache.m["actions/test:bad\x00"+string(bad)]
	schemaCache.Unlock()
	if kept {
		t.Error("a schema that did not compile was kept")
	}
	big := []byte(`{"type":"object","description":"` + strings.Repeat("x", schemaCacheMaxBytes) + `"}`)
	if b1, err := compileSchemaBytes(big, "actions/test:big"); err != nil {
		t.Fatal(err)
	} else if b2, _ := compileSchemaBytes(big, "actions/test:big"); b1 == b2 {
		t.Error("a schema over schemaCacheMaxBytes was kept")
	}
	problems, err := ValidateValue(schema, "actions/test:kept", map[string]any{"name": "ab"}, "input")
	if err != nil || len(problems) != 1 || !strings.Contains(problems[0].Path, "input.name") {
		t.Errorf("the kept schema's validation: %v, %v; want one problem at input.name", problems, err)
	}
	for i := range schemaCacheMaxEntries + 1 {
		if _, err := compileSchemaBytes([]byte(fmt.Sprintf(`{"type":"object","title":"t%d"}`, i)), "actions/test:fill"); err != nil {
			t.Fatal(err)
		}
	}
	schemaCache.Lock()
	n := len(schemaCache.m)
	schemaCache.Unlock()
	if n > schemaCacheMaxEntries {
		t.Errorf("the cache holds %d schemas, over its bound of %d", n, schemaCacheMaxEntries)
	}
}
