package permission

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/catalog"
)

// TestExampleCases: the shipped examples/policies/default.test.yaml passes
// against the shipped default policy.
func TestExampleCases(t *testing.T) {
	path := "../../examples/policies/default.test.yaml"
	f, err := ReadCases(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load(f.Policies)
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunCases(p, path, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	allow, deny := 0, 0
	for _, r := range res {
		if !r.Pass {
			t.Errorf("%s %s: want %s, got %+v", r.Where, r.Case.Name, r.Case.Expect, r.Decision)
		}
		if r.Case.Expect == "allow" {
			allow++
		} else {
			deny++
		}
	}
	if allow == 0 || deny == 0 {
		t.Errorf("the examples must hold both allow (%d) and deny (%d) cases", allow, deny)
	}
}

// TestCaseFileErrors: a wrong expectation fails the case with the reason;
// unknown keys and malformed cases name file:line.
func TestCaseFileErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.cedar"), defaultPolicy, 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(text string) string {
		path := filepath.Join(dir, "t.yaml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	path := write(`policies: [p.cedar]
cases:
  - name: wrong expectation
    principal: {guest: true}
    action: audit.read
    resource: {system: audit}
    expect: allow
`)
	f, err := ReadCases(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load(f.Policies)
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunCases(p, path, f, nil)
	if err != nil || len(res) != 1 || res[0].Pass || res[0].Where != path+":3" ||
		!strings.Contains(res[0].Decision.Reason, "no policy permits audit.read") {
		t.Errorf("got %+v, %v", res, err)
	}
	for _, c := range []struct{ text, want string }{
		{"cases:\n  - name: x\n    principal: {guest: true}\n    acton: audit.read\n", path + ":4: field acton not found"},
		{"cases:\n  - name: x\n    principal: {guest: true}\n    action: audit.read\n    resource: {system: a}\n    expect: maybe\n", path + ":2: case 1: expect must be allow or deny"},
		{"cases:\n  - name: x\n    principal: {guest: true}\n    action: audit.reed\n    resource: {system: a}\n    expect: deny\n", path + `:2: case 1: unknown action "audit.reed"`},
		{"cases:\n  - name: x\n    principal: {ref: alice}\n    action: audit.read\n    resource: {system: a}\n    expect: deny\n", "is not a user ref"},
		{"cases:\n  - name: x\n    principal: {guest: true}\n    action: audit.read\n    resource: {system: a, action: b}\n    expect: deny\n", "exactly one of entity"},
		{"cases: [\n", path + ":1: did not find expected node content"},
	} {
		if _, err := ReadCases(write(c.text)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.text, err, c.want)
		}
	}
}

// TestCasesCustomKindOwner: an inline entity of a catalog.model kind gets
// the owner its model's spec.owner → ownedBy field gives, so an owners-only
// rule (the default policy's sensitive-owners-read) lets its owner read it;
// without the model the kind emits nothing and the owner is denied.
func TestCasesCustomKindOwner(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.cedar"), defaultPolicy, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(path, []byte(`policies: [p.cedar]
cases:
  - name: the owning team reads its sensitive service
    principal: {ref: user:default/alice, groups: [group:default/team-a]}
    action: catalog.entity.read
    resource:
      entity:
        apiVersion: acme.com/v1
        kind: Service
        metadata: {name: checkout, annotations: {rigger.dev/sensitive: "true"}}
        spec: {owner: team-a}
    expect: allow
`), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := ReadCases(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load([]string{filepath.Join(dir, "p.cedar")})
	if err != nil {
		t.Fatal(err)
	}
	model, probs := catalog.NewModel([]catalog.KindDecl{{
		Kind: "Service", APIVersions: []string{"acme.com/v1"},
		Spec:      map[string]any{"type": "object", "properties": map[string]any{"owner": map[string]any{"type": "string"}}},
		Relations: []catalog.RelationDecl{{Field: "spec.owner", DefaultKind: "Group", Type: catalog.RelOwnedBy, Reverse: catalog.RelOwnerOf}},
	}}, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	res, err := RunCases(p, path, f, model)
	if err != nil || len(res) != 1 || !res[0].Pass {
		t.Fatalf("with the model: %+v, %v", res, err)
	}
	res, err = RunCases(p, path, f, nil)
	if err != nil || len(res) != 1 || res[0].Pass {
		t.Fatalf("without the model the service has no owner, so the read is denied: %+v, %v", res, err)
	}
}
