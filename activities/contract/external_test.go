package contract_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/templates"
)

func greet() contract.ExternalAction {
	return contract.ExternalAction{
		ID: "acme:greet", Description: "Greets.", TaskQueue: "acme-plugins", Timeout: time.Minute, HeartbeatTimeout: 10 * time.Second,
		Input:  json.RawMessage(`{"type":"object","required":["name"],"properties":{"name":{"type":"string","minLength":1}}}`),
		Output: json.RawMessage(`{"type":"object","required":["greeting"],"properties":{"greeting":{"type":"string"}}}`),
	}
}

const usesGreet = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: uses-greet
spec:
  owner: group:default/team-a
  type: service
  steps:
    - id: greet
      action: acme:greet
      input: {name: %s}
`

// TestExternalActionsInRegistry: an external action is listed with its
// queue, timeouts, schemas and docs; validation checks a step's input
// against its schema; compiling carries its schemas into the plan.
func TestExternalActionsInRegistry(t *testing.T) {
	reg := contract.NewRegistry(nil)
	if err := reg.AddExternal(greet()); err != nil {
		t.Fatal(err)
	}
	info, ok := reg.Action("acme:greet")
	if !ok || info.TaskQueue != "acme-plugins" || info.DefaultTimeout != time.Minute || info.Local || info.DryRunSafe ||
		info.External == nil || info.External.HeartbeatTimeout != 10*time.Second || !strings.Contains(string(info.InputSchema), "minLength") {
		t.Fatalf("registry entry %+v", info)
	}
	if !reg.External("acme:greet") || reg.External("fs:write") {
		t.Fatal("External() does not tell the external action from a built-in one")
	}
	doc, ok := reg.Docs("acme:greet")
	if !ok || doc.Description != "Greets." || !strings.Contains(string(doc.Output), "greeting") || !strings.Contains(string(doc.Input), "name") {
		t.Fatalf("docs %+v", doc)
	}
	if doc, ok := reg.Docs("fs:write"); !ok || doc.Description == "" {
		t.Fatal("a built-in action's docs are gone")
	}
	found := false
	for _, n := range reg.Names() {
		found = found || n == "acme:greet"
	}
	if !found {
		t.Fatalf("Names() lacks acme:greet: %v", reg.Names())
	}

	parse := func(name string) *templates.Template {
		tpl, err := templates.Parse("t.yaml", []byte(strings.Replace(usesGreet, "%s", name, 1)))
		if err != nil {
			t.Fatal(err)
		}
		return tpl
	}
	if p := templates.Validate(parse("ada"), reg); templates.HasErrors(p) {
		t.Fatalf("valid input: %v", p)
	}
	if p := templates.Validate(parse(`""`), reg); !templates.HasErrors(p) || !strings.Contains(p[0].Path, "input.name") {
		t.Fatalf("an empty name: %v", p)
	}
	if p := templates.Validate(parse("ada"), contract.NewRegistry(nil)); !templates.HasErrors(p) {
		t.Fatal("without the external action the template validates")
	}
	plan, err := templates.Compile(parse("ada"), nil, reg, templates.CompileOptions{UserRef: "user:default/ada"})
	if err != nil {
		t.Fatal(err)
	}
	st := plan.Steps[0]
	if st.External == nil || st.TaskQueue != "acme-plugins" || !strings.Contains(string(st.External.OutputSchema), "greeting") || st.External.HeartbeatTimeout != 10*time.Second {
		t.Fatalf("compiled step %+v", st)
	}
	// It survives the plan's JSON (workflow input).
	data, _ := json.Marshal(plan)
	back, err := templates.DecodePlan(data)
	if err != nil || back.Steps[0].External == nil || string(back.Steps[0].External.InputSchema) != string(st.External.InputSchema) {
		t.Fatalf("decoded plan step %+v %v", back.Steps[0], err)
	}
}

func TestAddExternalRefuses(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*contract.ExternalAction)
		want   string
	}{
		{"built-in id", func(a *contract.ExternalAction) { a.ID = "fs:write" }, `external action "fs:write" would shadow the built-in action fs:write`},
		{"integration id", func(a *contract.ExternalAction) { a.ID = "publish:github" }, `external action "publish:github" would shadow the built-in action publish:github`},
		{"a reserved namespace", func(a *contract.ExternalAction) { a.ID = "terraform:import" }, `external action "terraform:import": the namespace terraform: is Rigger's`},
		{"rigger's own namespace", func(a *contract.ExternalAction) { a.ID = "rigger:approve" }, `external action "rigger:approve": the namespace rigger: is Rigger's`},
		{"malformed id", func(a *contract.ExternalAction) { a.ID = "greet" }, `external action "greet": the id must look like namespace:verb`},
		{"rigger's queue", func(a *contract.ExternalAction) { a.TaskQueue = contract.QueueGitHub }, `taskQueue "rigger-github" must be the plugin's own queue`},
		{"no queue", func(a *contract.ExternalAction) { a.TaskQueue = "" }, `taskQueue "" must be the plugin's own queue`},
		{"bad schema", func(a *contract.ExternalAction) { a.Output = json.RawMessage(`{"type":"objekt"}`) }, `external action "acme:greet": outputSchema: `},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := greet()
			c.mutate(&a)
			err := contract.NewRegistry(nil).AddExternal(a)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
	reg := contract.NewRegistry([]string{"fs:delete"})
	a := greet()
	a.ID = "fs:delete"
	if err := reg.AddExternal(a); err == nil || !strings.Contains(err.Error(), "would shadow the built-in action fs:delete (disabled here") {
		t.Fatalf("a disabled built-in id: %v", err)
	}
	if err := reg.AddExternal(greet()); err != nil {
		t.Fatal(err)
	}
	if err := reg.AddExternal(greet()); err == nil || !strings.Contains(err.Error(), "declared twice") {
		t.Fatalf("the same id twice: %v", err)
	}
	// disabledActions switches off an external action too.
	reg = contract.NewRegistry([]string{"acme:greet"})
	if err := reg.AddExternal(greet()); err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.Action("acme:greet"); ok || !reg.Disabled("acme:greet") {
		t.Fatal("a disabled external action is still listed")
	}
	if err := reg.AddExternal(greet()); err == nil || !strings.Contains(err.Error(), "declared twice") {
		t.Fatalf("the same id twice: %v", err)
	}
}

func TestPluginOutput(t *testing.T) {
	wrapped := map[string]any{"output": map[string]any{"greeting": "hi"}}
	if got := contract.PluginOutput(wrapped); got["greeting"] != "hi" {
		t.Fatalf("wrapped: %v", got)
	}
	plain := map[string]any{"greeting": "hi", "output": map[string]any{}}
	if got := contract.PluginOutput(plain); got["greeting"] != "hi" {
		t.Fatalf("plain: %v", got)
	}
}
