package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCatalogValidateFollowsModel: rigger catalog validate reads
// catalog.model from rigger.yaml: a declared kind is valid, a spec its
// schema refuses names file, document, line and field, a per-type schema
// applies to a built-in kind; without the model the kind is unknown and
// the message says where to declare it; a bad model is a configuration
// error with its line.
func TestCatalogValidateFollowsModel(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := write("rigger.yaml", `catalog:
  rules: [{allow: [Component, API, Pipeline]}]
  model:
    kinds:
      - kind: Pipeline
        apiVersions: [ci.acme.com/v1]
        spec:
          type: object
          required: [owner]
          properties:
            stages: {type: array, items: {type: string, enum: [build, test, deploy]}}
        relations:
          - {field: spec.owner, defaultKind: Group, type: ownedBy, reverse: ownerOf}
    types:
      - kind: API
        type: grpc
        spec: {required: [package]}
`)
	good := write("good.yaml", "apiVersion: ci.acme.com/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  owner: team-a\n  stages: [build, test]\n")
	bad := write("bad.yaml", "apiVersion: ci.acme.com/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  owner: team-a\n  stages:\n    - build\n    - ship\n---\n"+
		"apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: a}\nspec: {type: grpc, lifecycle: production, owner: team-a, definition: x}\n")

	out, errOut, err := runCLI(t, nil, "--config", cfg, "catalog", "validate", good)
	if err != nil || !strings.Contains(out, "ok    "+good+": document 1: pipeline:default/p") {
		t.Errorf("good file: %v\n%s%s", err, out, errOut)
	}
	out, errOut, err = runCLI(t, nil, "--config", cfg, "catalog", "validate", bad)
	for _, want := range []string{
		"error " + bad + ": document 1 (line 8): spec.stages[1]: value must be one of 'build', 'test', 'deploy'",
		"error " + bad + ": document 2 (line 13): spec.package: required field is missing",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("bad file: missing %q in\n%s", want, errOut)
		}
	}
	if exitCode(err) != 1 || !strings.Contains(out, "0 valid, 2 invalid") {
		t.Errorf("bad file: exit %d\n%s", exitCode(err), out)
	}

	// Without the model, the kind is unknown.
	_, errOut, err = runCLI(t, nil, "--config", write("empty.yaml", "{}\n"), "catalog", "validate", good)
	if exitCode(err) != 1 || !strings.Contains(errOut, `kind: unknown kind "Pipeline"`) || !strings.Contains(errOut, "declare it in catalog.model.kinds of rigger.yaml") {
		t.Errorf("without the model: exit %d\n%s", exitCode(err), errOut)
	}

	// A model that clashes with a built-in kind is a configuration error.
	clash := write("clash.yaml", strings.Replace(mustRead(t, cfg), "kind: Pipeline", "kind: Resource", 1))
	_, _, err = runCLI(t, nil, "--config", clash, "catalog", "validate", good)
	if err == nil || !strings.Contains(err.Error(), clash+`:5: catalog.model.kinds[0].kind: "Resource" is the built-in kind Resource`) {
		t.Errorf("clashing model: %v", err)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
