package workflows

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"go.temporal.io/sdk/activity"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/templates"
)

// externalEnv is scaffoldEnv plus a plugin fake serving acme:greet and a
// schema check that validates like the worker's (without its run checks).
func externalEnv(t *testing.T, result map[string]any) (*scaffoldEnv, *[]contract.PluginInput) {
	t.Helper()
	e := newScaffoldEnv(t, "")
	var got []contract.PluginInput
	e.env.RegisterActivityWithOptions(func(_ context.Context, in contract.PluginInput) (map[string]any, error) {
		got = append(got, in)
		return result, nil
	}, activity.RegisterOptions{Name: "acme:greet"})
	e.env.RegisterActivityWithOptions(func(_ context.Context, in contract.SchemaCheck) (contract.SchemaVerdict, error) {
		problems, err := templates.ValidateValue(in.Schema, in.Action, in.Value, in.Where)
		var v contract.SchemaVerdict
		for _, p := range problems {
			v.Problems = append(v.Problems, p.Path+": "+p.Message)
		}
		return v, err
	}, activity.RegisterOptions{Name: contract.ScaffoldCheckSchema})
	return e, &got
}

func greetPlan(name any, dryRunSafe bool) templates.Plan {
	p := plan(
		templates.PlanStep{ID: "g", Name: "G", Action: "acme:greet", Input: map[string]any{"name": name}},
		templates.PlanStep{ID: "b", Name: "B", Input: map[string]any{"message": "${{ steps.g.output.greeting }}"}},
	)
	p.Steps[0].TaskQueue, p.Steps[0].DryRunSafe = "acme-plugins", dryRunSafe
	p.Steps[0].External = &templates.ExternalStep{
		InputSchema:  json.RawMessage(`{"type":"object","required":["name"],"properties":{"name":{"type":"string","minLength":1}}}`),
		OutputSchema: json.RawMessage(`{"type":"object","required":["greeting"],"properties":{"greeting":{"type":"string"}}}`),
	}
	p.Template.Ref, p.UserRef = "template:default/greet", "user:default/ada"
	return p
}

func TestExternalActionStep(t *testing.T) {
	e, got := externalEnv(t, map[string]any{"output": map[string]any{"greeting": "Hello, Ada!"}})
	e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "t1", Plan: greetPlan("Ada", false)})
	if err := e.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(*got) != 1 {
		t.Fatalf("plugin calls %+v", *got)
	}
	in := (*got)[0]
	want := contract.PluginRun{TaskID: "t1", StepID: "g", TemplateRef: "template:default/greet", User: "user:default/ada"}
	if in.Run != want || in.Input["name"] != "Ada" {
		t.Fatalf("the plugin got %+v", in)
	}
	if strings.Join(e.calls, ",") != "b:Hello, Ada!" {
		t.Fatalf("the next step saw %v", e.calls)
	}
}

func TestExternalActionSchemaViolations(t *testing.T) {
	cases := []struct {
		name   string
		input  any
		result map[string]any
		calls  int
		want   string
	}{
		{"input", 7, map[string]any{"greeting": "x"}, 0,
			"the input does not match the input schema of acme:greet (the plugin was not called): input.name: got number, want string"},
		{"output", "Ada", map[string]any{"greeting": 42}, 1,
			"the plugin's output does not match the output schema of acme:greet (it was not kept): output.greeting: got number, want string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, got := externalEnv(t, c.result)
			e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "t1", Plan: greetPlan(c.input, false)})
			err := e.env.GetWorkflowError()
			if err == nil || len(*got) != c.calls || len(e.calls) != 0 {
				t.Fatalf("err %v, plugin calls %d, later steps %v", err, len(*got), e.calls)
			}
			st := state(t, e.env)
			if st.Steps[0].Status != StepFailed || st.Steps[0].Error != c.want {
				t.Fatalf("step %+v\nwant error %q", st.Steps[0], c.want)
			}
			if _, kept := st.Outputs["g"]; kept {
				t.Fatalf("the output was kept: %v", st.Outputs)
			}
		})
	}
}

// A dry run skips an external action that is not dry-run safe, and says
// so; a safe one gets run.dryRun.
func TestExternalActionDryRun(t *testing.T) {
	e, got := externalEnv(t, map[string]any{"greeting": "would"})
	e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "t1", DryRun: true, Plan: greetPlan("Ada", false)})
	if err := e.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	st := state(t, e.env)
	if len(*got) != 0 || st.Steps[0].Status != StepSkipped {
		t.Fatalf("an unsafe external action in a dry run: calls %d, step %+v", len(*got), st.Steps[0])
	}
	if !strings.Contains(eventsOf(st), "external action acme:greet is not called (it is not declared dryRunSafe") {
		t.Fatalf("the skip is not explained: %s", eventsOf(st))
	}
	e, got = externalEnv(t, map[string]any{"greeting": "would"})
	e.env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: "t1", DryRun: true, Plan: greetPlan("Ada", true)})
	if err := e.env.GetWorkflowError(); err != nil || len(*got) != 1 || !(*got)[0].Run.DryRun {
		t.Fatalf("a dry-run-safe external action: %v, calls %+v", err, *got)
	}
}

func eventsOf(st ScaffoldState) string {
	var b strings.Builder
	for _, l := range st.Log {
		b.WriteString(l.Text + "\n")
	}
	return b.String()
}
