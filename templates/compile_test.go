package templates

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// roundTripPlan encodes a plan to JSON and decodes it back.
func roundTripPlan(p *Plan) (*Plan, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return DecodePlan(data)
}

const compileParams = `- title: Basics
  required: [name, owner]
  properties:
    name: {type: string, pattern: '^[a-z-]+$'}
    owner: {type: string, ui:field: OwnerPicker}
    replicas: {type: integer, minimum: 1, maximum: 10, default: 2}
    ci: {type: string, enum: ['Yes', 'No'], default: 'Yes'}
    advanced:
      type: object
      properties:
        port: {type: integer, default: 8080}
        tls: {type: boolean}
- title: More
  properties:
    tags: {type: array, items: {type: string}}
    email: {type: string, format: email}
`

const compileSteps = `- id: fetch
  action: fetch:template
  input:
    url: ./skeleton
    values:
      name: ${{ parameters.name }}
- action: debug:log
  if: ${{ parameters.ci === 'Yes' }}
  each: ${{ parameters.tags }}
  timeout: 30s
  retry:
    maximumAttempts: 7
  input:
    message: ${{ each.value }}
- id: register
  name: Register
  action: catalog:register
  input:
    repoContentsUrl: ${{ steps.fetch.output.url }}
`

func TestCompile(t *testing.T) {
	tpl := templateWith(t, compileParams, compileSteps, "links:\n  - url: ${{ steps.register.output.entityRef }}\n")
	acts := testActions()
	reg := acts["catalog:register"]
	reg.DefaultRetry = RetryPolicy{MaximumAttempts: 10, InitialInterval: 5 * time.Second}
	acts["catalog:register"] = reg
	values := map[string]any{"name": "svc", "owner": "group:default/a", "advanced": map[string]any{"tls": true}, "tags": []string{"x", "y"}}
	plan, err := Compile(tpl, values, acts, CompileOptions{UserRef: "user:default/jane", BaseURL: "https://example.com/t/template.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Version != PlanVersion || plan.Template.Ref != "template:default/t" || plan.UserRef != "user:default/jane" || plan.Template.BaseURL == "" {
		t.Errorf("plan header %+v", plan)
	}
	wantParams := map[string]any{
		"name": "svc", "owner": "group:default/a", "replicas": int64(2), "ci": "Yes",
		"advanced": map[string]any{"tls": true, "port": int64(8080)}, "tags": []any{"x", "y"},
	}
	if !reflect.DeepEqual(plan.Parameters, wantParams) {
		t.Errorf("parameters\n got %#v\nwant %#v", plan.Parameters, wantParams)
	}
	if len(plan.Steps) != 3 {
		t.Fatalf("steps %+v", plan.Steps)
	}
	s0, s1, s2 := plan.Steps[0], plan.Steps[1], plan.Steps[2]
	if s0.ID != "fetch" || s0.Name != "fetch:template" || s0.TaskQueue != "rigger-fs" || s0.Timeout != 5*time.Minute {
		t.Errorf("step 0 %+v", s0)
	}
	if s1.ID != "step-2" || s1.Name != "debug:log" || s1.Timeout != 30*time.Second || !s1.DryRunSafe {
		t.Errorf("step 1 %+v", s1)
	}
	if s1.If != "${{ parameters.ci === 'Yes' }}" || s1.Each != "${{ parameters.tags }}" {
		t.Errorf("step 1 if/each %#v %#v", s1.If, s1.Each)
	}
	wantRetry1 := RetryPolicy{MaximumAttempts: 7, InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute}
	if s1.Retry != wantRetry1 {
		t.Errorf("step 1 retry %+v", s1.Retry)
	}
	wantRetry2 := RetryPolicy{MaximumAttempts: 10, InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute}
	if s2.Name != "Register" || s2.TaskQueue != "rigger-catalog" || s2.Retry != wantRetry2 {
		t.Errorf("step 2 %+v", s2)
	}
	in0 := s0.Input.(map[string]any)["values"].(map[string]any)
	if in0["name"] != "${{ parameters.name }}" {
		t.Errorf("input was rendered or lost: %v", in0)
	}

	// The plan does not share memory with the template.
	tpl.Spec.Steps[0].Input.(map[string]any)["url"] = "changed"
	if s0.Input.(map[string]any)["url"] != "./skeleton" {
		t.Error("editing the template changed the plan")
	}

	// JSON round trip.
	data, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"version":1`, `"timeout":"30s"`, `"initialInterval":"5s"`, `"if":null`, `"ref":"template:default/t"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("JSON lacks %s: %s", want, data)
		}
	}
	back, err := DecodePlan(data)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(back)
	if string(again) != string(data) {
		t.Errorf("round trip changed the plan:\n%s\n%s", data, again)
	}
	if back.Steps[1].Timeout != 30*time.Second || back.Steps[2].Retry != wantRetry2 {
		t.Errorf("durations lost: %+v", back.Steps)
	}
}

func TestCompileParameterErrors(t *testing.T) {
	tpl := templateWith(t, compileParams, compileSteps, "")
	tests := []struct {
		name   string
		values map[string]any
		want   []string
	}{
		{"missing required", map[string]any{}, []string{"parameters.name: required", "parameters.owner: required"}},
		{"wrong type", map[string]any{"name": "a", "owner": "b", "replicas": "three"}, []string{"parameters.replicas: got string, want integer"}},
		{"out of range", map[string]any{"name": "a", "owner": "b", "replicas": 11}, []string{"parameters.replicas: maximum: got 11, want 10"}},
		{"pattern", map[string]any{"name": "A B", "owner": "b"}, []string{"parameters.name: 'A B' does not match pattern"}},
		{"enum", map[string]any{"name": "a", "owner": "b", "ci": "Maybe"}, []string{"parameters.ci: value must be one of"}},
		{"second page", map[string]any{"name": "a", "owner": "b", "tags": []any{1}, "email": "nope"}, []string{"parameters.email: 'nope' is not valid email", "parameters.tags[0]: got number, want string"}},
		{"nested", map[string]any{"name": "a", "owner": "b", "advanced": map[string]any{"tls": "yes"}}, []string{"parameters.advanced.tls: got string, want boolean"}},
		{"unsupported value", map[string]any{"name": "a", "owner": "b", "x": struct{}{}}, []string{"parameters: value of type struct {} is not supported"}},
		{"NUL byte (forged secret reference)", map[string]any{"name": "a", "owner": "b", "tags": []any{"\x00rigger-secret:token\x00"}}, []string{"parameters.tags[0]: contains a NUL byte"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tpl, tt.values, testActions(), CompileOptions{})
			var pe *ParameterError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a ParameterError", err)
			}
			if len(pe.Problems) != len(tt.want) {
				t.Fatalf("got %v, want %v", pe.Problems, tt.want)
			}
			for i, p := range pe.Problems {
				if got := p.Path + ": " + p.Message; !strings.HasPrefix(got, tt.want[i]) {
					t.Errorf("problem %d: got %q, want prefix %q", i, got, tt.want[i])
				}
			}
		})
	}
}

func TestCompileRejectsInvalidTemplate(t *testing.T) {
	tpl := templateWith(t, "", "- id: p\n  action: publish:github\n", "")
	_, err := Compile(tpl, nil, testActions(), CompileOptions{})
	var te *TemplateError
	if !errors.As(err, &te) {
		t.Fatalf("got %v, want a TemplateError", err)
	}
	if want := `template template:default/t is invalid: steps[0] (id "p").action: unknown action "publish:github"`; err.Error() != want {
		t.Errorf("got %q\nwant %q", err, want)
	}
}

func TestCompileDefaults(t *testing.T) {
	tpl := templateWith(t, "", "- id: a\n  action: debug:log\n- id: b\n  action: fs:write\n  retry: {initialInterval: 2m}\n", "")
	acts := testActions()
	acts["debug:log"] = ActionInfo{Name: "debug:log", TaskQueue: "q"}
	plan, err := Compile(tpl, nil, acts, CompileOptions{DefaultTimeout: time.Hour, DefaultRetry: RetryPolicy{BackoffCoefficient: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Steps[0].Timeout != time.Hour {
		t.Errorf("timeout %v, want the compile default", plan.Steps[0].Timeout)
	}
	want := RetryPolicy{MaximumAttempts: 3, InitialInterval: time.Second, BackoffCoefficient: 3, MaximumInterval: time.Minute}
	if plan.Steps[0].Retry != want {
		t.Errorf("retry %+v, want %+v", plan.Steps[0].Retry, want)
	}
	// A step's initial interval above the maximum raises the maximum.
	if r := plan.Steps[1].Retry; r.InitialInterval != 2*time.Minute || r.MaximumInterval != 2*time.Minute {
		t.Errorf("retry %+v", r)
	}
	if plan.Parameters == nil || len(plan.Parameters) != 0 {
		t.Errorf("parameters %v, want empty", plan.Parameters)
	}
}

func TestDecodePlan(t *testing.T) {
	if _, err := DecodePlan([]byte(`{"version":2,"steps":[]}`)); err == nil || !strings.Contains(err.Error(), "version 2 is not supported") {
		t.Errorf("got %v", err)
	}
	if _, err := DecodePlan([]byte(`{`)); err == nil {
		t.Error("decoded broken JSON")
	}
	p, err := DecodePlan([]byte(`{"version":1,"steps":[{"id":"a","timeout":1500,"retry":{"maximumAttempts":2,"initialInterval":"1s","maximumInterval":250}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if s := p.Steps[0]; s.Timeout != 1500*time.Millisecond || s.Retry.MaximumInterval != 250*time.Millisecond || s.Retry.InitialInterval != time.Second {
		t.Errorf("milliseconds not read: %+v", s)
	}
	if _, err := DecodePlan([]byte(`{"version":1,"steps":[{"timeout":"soon"}]}`)); err == nil {
		t.Error("accepted a bad duration")
	}
}
