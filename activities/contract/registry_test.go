package contract_test

import (
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
