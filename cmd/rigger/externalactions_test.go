package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExternalActionConfig: every command that loads the configuration
// refuses an external action that shadows a built-in one, naming the
// entry; rigger template validate knows a declared external action.
func TestExternalActionConfig(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	action := func(id string) string {
		return "scaffolder:\n  externalActions:\n    - id: " + id + "\n      taskQueue: acme-plugins\n" +
			"      inputSchema: {type: object, required: [name], properties: {name: {type: string}}}\n      outputSchema: {type: object}\n"
	}
	if err := os.WriteFile("rigger.yaml", []byte(action("fs:write")), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCLI(t, nil, "config", "check")
	if err == nil || !strings.Contains(err.Error(), `scaffolder.externalActions[0]: external action "fs:write" would shadow the built-in action fs:write`) {
		t.Fatalf("config check with an external fs:write: %v", err)
	}

	if err := os.WriteFile("rigger.yaml", []byte(action("acme:greet")), 0o600); err != nil {
		t.Fatal(err)
	}
	tpl := filepath.Join(dir, "t.yaml")
	write := func(input string) {
		t.Helper()
		doc := "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\nspec:\n  owner: group:default/a\n  type: service\n  steps:\n    - id: g\n      action: acme:greet\n      input: " + input + "\n"
		if err := os.WriteFile(tpl, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("{name: ada}")
	if out, stderr, err := runCLI(t, nil, "template", "validate", tpl); err != nil {
		t.Fatalf("a valid step: %v\n%s%s", err, out, stderr)
	}
	write("{name: 7}")
	if _, stderr, err := runCLI(t, nil, "template", "validate", tpl); exitCode(err) != 1 || !strings.Contains(stderr, "input.name") {
		t.Fatalf("a number for a string: %v\n%s", err, stderr)
	}
	if err := os.Remove("rigger.yaml"); err != nil {
		t.Fatal(err)
	}
	write("{name: ada}")
	if _, stderr, err := runCLI(t, nil, "template", "validate", tpl); exitCode(err) != 1 || !strings.Contains(stderr, `unknown action "acme:greet"`) {
		t.Fatalf("without the configuration: %v\n%s", err, stderr)
	}
}
