package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicyTestCommand: rigger policy test passes the shipped example
// table, and exits 1 naming the case when an expectation fails.
func TestPolicyTestCommand(t *testing.T) {
	out, errOut, err := runCLI(t, nil, "policy", "test", "../../examples/policies/default.test.yaml")
	if exitCode(err) != 0 || !strings.Contains(out, "PASS  another team's sensitive entity is hidden: deny (no policy permits") ||
		!strings.Contains(out, " 0 failed") {
		t.Fatalf("example: exit %d (%v)\n%s%s", exitCode(err), err, out, errOut)
	}
	dir := t.TempDir()
	cases := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(cases, []byte(`cases:
  - name: the guest reads the audit log
    principal: {guest: true}
    action: audit.read
    resource: {system: audit}
    expect: allow
`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, nil, "policy", "test", cases, "--policy", "../../examples/policies/default.cedar")
	if exitCode(err) != 1 || !strings.Contains(out, "FAIL  "+cases+":2 the guest reads the audit log: want allow, got deny: no policy permits audit.read") {
		t.Errorf("failing case: exit %d\n%s", exitCode(err), out)
	}
	_, _, err = runCLI(t, nil, "policy", "test", cases)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "--policy") {
		t.Errorf("no policies: %v", err)
	}
}

// TestPolicyTestCustomKindOwner: with --config naming a catalog.model, an
// inline entity of the model's kind gets its spec.owner as owner, so the
// default policy's owners-only read of a sensitive entity allows its team.
func TestPolicyTestCustomKindOwner(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := write("rigger.yaml", `catalog:
  rules: [{allow: [Component, Pipeline]}]
  model:
    kinds:
      - kind: Pipeline
        apiVersions: [ci.acme.com/v1]
        spec: {type: object}
        relations:
          - {field: spec.owner, defaultKind: Group, type: ownedBy, reverse: ownerOf}
`)
	cases := write("t.yaml", `cases:
  - name: the owning team reads its sensitive pipeline
    principal: {ref: user:default/alice, groups: [group:default/team-a]}
    action: catalog.entity.read
    resource:
      entity: {apiVersion: ci.acme.com/v1, kind: Pipeline, metadata: {name: p, annotations: {rigger.dev/sensitive: "true"}}, spec: {owner: team-a}}
    expect: allow
`)
	policy := "--policy=../../examples/policies/default.cedar"
	out, errOut, err := runCLI(t, nil, "--config", cfg, "policy", "test", cases, policy)
	if exitCode(err) != 0 || !strings.Contains(out, "PASS  the owning team reads its sensitive pipeline: allow") {
		t.Fatalf("with the model: exit %d (%v)\n%s%s", exitCode(err), err, out, errOut)
	}
	out, _, err = runCLI(t, nil, "--config", write("empty.yaml", "{}\n"), "policy", "test", cases, policy)
	if exitCode(err) != 1 || !strings.Contains(out, "want allow, got deny") {
		t.Errorf("without the model the pipeline has no owner: exit %d\n%s", exitCode(err), out)
	}
}
