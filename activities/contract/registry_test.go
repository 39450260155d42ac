package contract_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/templates"
)

const usesDelete = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: uses-delete
spec:
  owner: group:default/team-a
  type: service
  steps:
    - id: write
      action: fs:write
      input: {path: a.txt, content: a}
    - id: clean
      action: fs:delete
      input: {files: [a.txt]}
`

// TestDisabledActions: scaffolder.disabledActions removes actions from the
// registry, so a template using one fails validation at that step, and the
// others stay.
func TestDisabledActions(t *testing.T) {
	tpl, err := templates.Parse("template.yaml", []byte(usesDelete))
	if err != nil {
		t.Fatal(err)
	}
	if problems := templates.Validate(tpl, contract.NewRegistry(nil)); len(problems) != 0 {
		t.Fatalf("with every action enabled: %v", problems)
	}
	reg := contract.NewRegistry([]string{"fs:delete", "catalog:register"})
	for name, want := range map[string]bool{"fs:delete": false, "catalog:register": false, "fs:write": true, "debug:log": true} {
		if _, ok := reg.Action(name); ok != want {
			t.Errorf("registry has %s: %v, want %v", name, ok, want)
		}
	}
	problems := templates.Validate(tpl, reg)
	var msgs []string
	found := false
	for _, p := range problems {
		msgs = append(msgs, p.String())
		if p.Severity == templates.SeverityError && strings.Contains(p.Path, "steps[1]") && strings.Contains(p.Message, `action "fs:delete" is disabled on this server (scaffolder.disabledActions)`) {
			found = true
		}
	}
	if !found {
		t.Fatalf("validation with fs:delete disabled: %v; want an error at steps[1] saying fs:delete is disabled", msgs)
	}
}

func TestSetDisabledWhileRunning(t *testing.T) {
	reg := contract.NewRegistry([]string{"fs:delete"})
	if err := reg.AddExternal(contract.ExternalAction{ID: "acme:greet", TaskQueue: "acme", Input: []byte(`{"type":"object"}`), Output: []byte(`{"type":"object"}`)}); err != nil {
		t.Fatal(err)
	}
	reg.SetDisabled([]string{"fs:rename", "acme:greet"})
	for name, want := range map[string]bool{"fs:delete": true, "fs:rename": false, "acme:greet": false} {
		if _, ok := reg.Action(name); ok != want {
			t.Errorf("after SetDisabled, %s on: %v, want %v", name, ok, want)
		}
	}
	if got := reg.DisabledNames(); !slices.Equal(got, []string{"acme:greet", "fs:rename"}) {
		t.Fatalf("disabled: %v", got)
	}
	if slices.Contains(reg.Names(), "fs:rename") || !slices.Contains(reg.Names(), "fs:delete") || reg.External("acme:greet") {
		t.Fatalf("names: %v", reg.Names())
	}
	if _, ok := reg.Docs("acme:greet"); ok {
		t.Fatal("a switched-off external action still has docs")
	}
	reg.SetDisabled(nil)
	if !reg.External("acme:greet") || len(reg.DisabledNames()) != 0 {
		t.Fatal("SetDisabled(nil) did not switch everything on")
	}
	// Lookups and a change at the same time (go test -race checks it).
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			reg.SetDisabled([]string{"fs:write"})
		}
	}()
	for range 100 {
		reg.Action("fs:write")
		reg.Names()
	}
	<-done
}
