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
