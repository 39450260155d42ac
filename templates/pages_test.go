package templates

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// pagedParams: page 2 is shown only when page 1 asks for a database; page 3
// never; page 4 always. dbName is also asked on page 4... no: engine is
// only on page 2, region on pages 2 and 4.
const pagedParams = `- title: Service
  required: [name]
  properties:
    name: {type: string}
    needsDatabase: {type: boolean, default: false}
    tier: {type: string, enum: [small, large], default: small}
- title: Database
  if: ${{ parameters.needsDatabase }}
  required: [dbName]
  properties:
    dbName: {type: string, pattern: '^[a-z]+$'}
    engine: {type: string, enum: [postgres, mysql], default: postgres}
    region: {type: string}
- title: Never
  if: false
  required: [ghost]
  properties:
    ghost: {type: integer}
- title: Big
  if: ${{ parameters.tier == "large" and not (parameters.engine == "mysql") }}
  required: [replicas]
  properties:
    replicas: {type: integer, minimum: 2}
    region: {type: string}
`

func TestShownPagesAndValues(t *testing.T) {
	tpl := templateWith(t, pagedParams, "- action: debug:log\n  input: {message: hi}\n", "")
	tests := []struct {
		name   string
		values map[string]any
		shown  []bool
		params map[string]any // nil: a ParameterError is wanted
		errs   []string
	}{
		{name: "hidden page: its required field is not required",
			values: map[string]any{"name": "a"},
			shown:  []bool{true, false, false, false},
			params: map[string]any{"name": "a", "needsDatabase": false, "tier": "small"}},
		{name: "hidden page: its values are not validated and are dropped",
			values: map[string]any{"name": "a", "dbName": "NOT VALID 1", "engine": "oracle", "ghost": "x"},
			shown:  []bool{true, false, false, false},
			params: map[string]any{"name": "a", "needsDatabase": false, "tier": "small"}},
		{name: "shown page: required field enforced, named with its page",
			values: map[string]any{"name": "a", "needsDatabase": true},
			shown:  []bool{true, true, false, false},
			errs:   []string{`parameters.dbName: required (page 2 "Database")`}},
		{name: "shown page: values validated",
			values: map[string]any{"name": "a", "needsDatabase": true, "dbName": "No"},
			shown:  []bool{true, true, false, false},
			errs:   []string{`parameters.dbName: 'No' does not match pattern '^[a-z]+$' (page 2 "Database")`}},
		{name: "shown page: defaults filled, values kept",
			values: map[string]any{"name": "a", "needsDatabase": true, "dbName": "orders"},
			shown:  []bool{true, true, false, false},
			params: map[string]any{"name": "a", "needsDatabase": true, "tier": "small", "dbName": "orders", "engine": "postgres"}},
		{name: "condition sees an earlier page's default and a shown page's default",
			values: map[string]any{"name": "a", "tier": "large", "needsDatabase": true, "dbName": "x", "replicas": 3},
			shown:  []bool{true, true, false, true},
			params: map[string]any{"name": "a", "needsDatabase": true, "tier": "large", "dbName": "x", "engine": "postgres", "replicas": 3}},
		{name: "condition does not see a hidden page's value",
			// engine: mysql comes from the hidden database page: dropped
			// before page 4 is decided, so page 4 shows and wants replicas.
			values: map[string]any{"name": "a", "tier": "large", "engine": "mysql"},
			shown:  []bool{true, false, false, true},
			errs:   []string{`parameters.replicas: required (page 4 "Big")`}},
		{name: "key of a hidden page kept when a shown page asks for it too",
			values: map[string]any{"name": "a", "tier": "large", "replicas": 2, "region": "eu"},
			shown:  []bool{true, false, false, true},
			params: map[string]any{"name": "a", "needsDatabase": false, "tier": "large", "replicas": 2, "region": "eu"}},
		{name: "condition false through an earlier shown page",
			values: map[string]any{"name": "a", "tier": "large", "needsDatabase": true, "dbName": "x", "engine": "mysql"},
			shown:  []bool{true, true, false, false},
			params: map[string]any{"name": "a", "needsDatabase": true, "tier": "large", "dbName": "x", "engine": "mysql"}},
		{name: "keys no page declares are kept",
			values: map[string]any{"name": "a", "extra": 1},
			shown:  []bool{true, false, false, false},
			params: map[string]any{"name": "a", "needsDatabase": false, "tier": "small", "extra": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shown, _, err := ShownPages(tpl, tt.values)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(shown, tt.shown) {
				t.Errorf("shown %v, want %v", shown, tt.shown)
			}
			plan, err := Compile(tpl, tt.values, testActions(), CompileOptions{})
			if tt.params != nil {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(plan.Parameters, normalized(t, tt.params)) {
					t.Errorf("parameters %v, want %v", plan.Parameters, tt.params)
				}
				return
			}
			var pe *ParameterError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a ParameterError", err)
			}
			var got []string
			for _, p := range pe.Problems {
				got = append(got, p.Path+": "+p.Message)
			}
			if !reflect.DeepEqual(got, tt.errs) {
				t.Errorf("problems\n got %q\nwant %q", got, tt.errs)
			}
		})
	}
}

// normalized gives values the shapes Compile produces (numbers as float64).
func normalized(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	imp, err := importValue(v, MaxYAMLDepth)
	if err != nil {
		t.Fatal(err)
	}
	return exportValue(imp).(map[string]any)
}

func TestShownPagesDoesNotModifyValues(t *testing.T) {
	tpl := templateWith(t, pagedParams, "- action: debug:log\n  input: {message: hi}\n", "")
	in := map[string]any{"name": "a", "dbName": "x"}
	if _, _, err := ShownPages(tpl, in); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, map[string]any{"name": "a", "dbName": "x"}) {
		t.Errorf("values changed: %v", in)
	}
}

func TestPageConditionEvaluationError(t *testing.T) {
	// Validate refuses filters in a page condition; a template compiled
	// anyway gets a located error, not a shown or hidden page by accident.
	tpl := templateWith(t, "- title: A\n  properties: {n: {type: string}}\n- title: B\n  if: ${{ parameters.n | nosuchfilter }}\n  properties: {m: {type: string}}\n",
		"- action: debug:log\n  input: {message: hi}\n", "")
	_, _, err := ShownPages(tpl, map[string]any{"n": "x"})
	var pe *ParameterError
	if !errors.As(err, &pe) || pe.Problems[0].Path != "parameters[1].if" {
		t.Fatalf("got %v", err)
	}
}

func TestPageConditionOperators(t *testing.T) {
	// The operators a form must evaluate the same way (see pages.go).
	values := map[string]any{"s": "prod", "n": 3.0, "b": true, "f": false, "empty": "", "zero": 0.0,
		"list": []any{"a", "b"}, "none": []any{}, "obj": map[string]any{"k": "v"}, "dash-key": "x"}
	tests := []struct {
		cond string
		want bool
	}{
		{`${{ parameters.b }}`, true},
		{`${{ parameters.f }}`, false},
		{`${{ parameters.missing }}`, false},
		{`${{ parameters.empty }}`, false},
		{`${{ parameters.zero }}`, false},
		{`${{ parameters.list }}`, true},
		{`${{ parameters.none }}`, true}, // arrays are truthy, even empty ones (JavaScript)
		{`${{ parameters.obj }}`, true},
		{`${{ parameters.list[1] == "b" }}`, true},
		{`${{ parameters.n > 2 and parameters.n <= 3 }}`, true},
		{`${{ parameters.n < 3 or parameters.n >= 4 }}`, false},
		{`${{ parameters.s == "prod" }}`, true},
		{`${{ parameters.s != "prod" }}`, false},
		{`${{ parameters.s === 'prod' }}`, true},
		{`${{ parameters.n == 3 }}`, true},
		{`${{ parameters.n === 3 }}`, true},
		{`${{ parameters.n == "3" }}`, true}, // JavaScript's loose equality
		{`${{ parameters.n === "3" }}`, false},
		{`${{ parameters.n !== "3" }}`, true},
		{`${{ parameters.missing == null }}`, true},
		{`${{ parameters.b and parameters.f }}`, false},
		{`${{ parameters.b or parameters.f }}`, true},
		{`${{ not parameters.f }}`, true},
		{`${{ not (parameters.b and parameters.s == "dev") }}`, true},
		{`${{ "a" in parameters.list }}`, true},
		{`${{ "c" in parameters.list }}`, false},
		{`${{ "ro" in parameters.s }}`, true},
		{`${{ parameters.obj.k == "v" }}`, true},
		{`${{ parameters["dash-key"] == "x" }}`, true},
		{`${{ true }}`, true},
		{`${{ false }}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			tpl := templateWith(t, "- title: A\n  properties: {s: {type: string}}\n- title: B\n  if: '"+strings.ReplaceAll(tt.cond, "'", "''")+"'\n  properties: {z: {type: string}}\n",
				"- action: debug:log\n  input: {message: hi}\n", "")
			if probs := Validate(tpl, testActions()); HasErrors(probs) {
				t.Fatalf("validate: %v", probs)
			}
			shown, _, err := ShownPages(tpl, values)
			if err != nil {
				t.Fatal(err)
			}
			if shown[1] != tt.want {
				t.Errorf("shown %v, want %v", shown[1], tt.want)
			}
		})
	}
}

func TestValidatePageConditions(t *testing.T) {
	steps := "- action: debug:log\n  input: {message: hi}\n"
	page1 := "- title: A\n  additionalProperties: false\n  properties: {a: {type: string}, b: {type: boolean}}\n"
	tests := []struct {
		name string
		page string // the second page
		want []string
	}{
		{"boolean", "- title: B\n  if: false\n  properties: {c: {type: string}}\n", nil},
		{"earlier page's value", "- title: B\n  if: ${{ parameters.b and parameters.a != 'x' }}\n  properties: {c: {type: string}}\n", nil},
		{"JSON Schema if is not a condition", "- title: B\n  properties: {c: {type: string}}\n  if: {properties: {c: {const: x}}}\n  then: {required: [c]}\n", nil},
		{"number", "- title: B\n  if: 1\n  properties: {c: {type: string}}\n",
			[]string{"error: parameters[1].if: a page condition must be a boolean or a ${{ }} expression string, got a number"}},
		{"list", "- title: B\n  if: [a]\n  properties: {c: {type: string}}\n",
			[]string{"error: parameters[1].if: a page condition must be a boolean or a ${{ }} expression string, got a list"}},
		{"syntax error with its line", "- title: B\n  if: \"${{ parameters.b ==\\n  }}\"\n  properties: {c: {type: string}}\n",
			[]string{"error: parameters[1].if: line 2, column 3: "}},
		{"unknown root", "- title: B\n  if: ${{ user.ref == 'x' }}\n  properties: {c: {type: string}}\n",
			[]string{`error: parameters[1].if: line 1, column 5: "user": a page condition may only read parameters.<name>`}},
		{"steps", "- title: B\n  if: ${{ steps.a.output }}\n  properties: {c: {type: string}}\n",
			[]string{`error: parameters[1].if: line 1, column 5: "steps": a page condition may only read parameters.<name>`}},
		{"filter", "- title: B\n  if: ${{ parameters.a | length }}\n  properties: {c: {type: string}}\n",
			[]string{`error: parameters[1].if: line 1, column 20: the filter "length" is not allowed in a page condition`}},
		{"computed key", "- title: B\n  if: ${{ parameters[parameters.a] }}\n  properties: {c: {type: string}}\n",
			[]string{"error: parameters[1].if: line 1, column 15: a computed property name is not allowed"}},
		{"JavaScript operators the engine lacks", "- title: B\n  if: ${{ parameters.b && parameters.a }}\n  properties: {c: {type: string}}\n",
			[]string{"error: parameters[1].if: line 1, column "}},
		{"text around", "- title: B\n  if: x ${{ parameters.b }}\n  properties: {c: {type: string}}\n",
			[]string{"error: parameters[1].if: a page condition must be exactly one ${{ }} expression"}},
		{"plain text", "- title: B\n  if: yes please\n  properties: {c: {type: string}}\n",
			[]string{`warning: parameters[1].if: plain text "yes please" is always true`}},
		{"undefined parameter", "- title: B\n  if: ${{ parameters.nope }}\n  properties: {c: {type: string}}\n",
			[]string{"warning: parameters[1].if: line 1, column 5: parameters.nope is not defined by any parameter page"}},
		{"own page's parameter", "- title: B\n  if: ${{ parameters.c }}\n  properties: {c: {type: string}}\n",
			[]string{`warning: parameters[1].if: line 1, column 5: parameters.c is asked on page 2 "B", not before it`}},
		{"with then", "- title: B\n  if: ${{ parameters.b }}\n  then: {required: [c]}\n  properties: {c: {type: string}}\n",
			[]string{"error: parameters[1].if: a page condition cannot be combined with JSON Schema's then"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := templateWith(t, page1+tt.page, steps, "")
			wantProblems(t, Validate(tpl, testActions()), tt.want)
		})
	}
}

// FuzzPageCondition: any page condition string is validated and evaluated
// without a panic; one Validate accepts evaluates to shown or hidden, never
// to an error, and the values a run gets never hold a key only a hidden
// page declares.
func FuzzPageCondition(f *testing.F) {
	for _, s := range []string{`${{ parameters.a }}`, `${{ parameters.a == "x" and not parameters.b }}`,
		`${{ "x" in parameters.list }}`, `${{ parameters.n >= 3 }}`, `${{ parameters["a"] | upper }}`, `plain`, `${{`, `${{ parameters.list[0] }}`} {
		f.Add(s, "x", true)
	}
	f.Fuzz(func(t *testing.T, cond, a string, b bool) {
		tpl := &Template{Spec: Spec{Type: "t", Parameters: []map[string]any{
			{"title": "A", "properties": map[string]any{"a": map[string]any{"type": "string"}, "b": map[string]any{"type": "boolean"},
				"n": map[string]any{"type": "number"}, "list": map[string]any{"type": "array"}}},
			{"title": "B", "if": cond, "required": []any{"c"}, "properties": map[string]any{"c": map[string]any{"type": "string"}}},
		}, Steps: []Step{{Action: "debug:log", Input: map[string]any{"message": "hi"}}}}}
		probs := Validate(tpl, testActions())
		values := map[string]any{"a": a, "b": b, "n": 3.0, "list": []any{a}, "c": "v"}
		shown, params, err := ShownPages(tpl, values)
		if HasErrors(probs) {
			return
		}
		if err != nil {
			t.Fatalf("valid condition %q: %v", cond, err)
		}
		if _, has := params["c"]; has != shown[1] {
			t.Fatalf("condition %q: shown %v, c kept %v", cond, shown[1], has)
		}
	})
}
