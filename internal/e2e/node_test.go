package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// nodePackage readies a Node.js package of the repository for a test: it
// needs node (under CI its absence fails the test; elsewhere the test is
// skipped loudly), and runs `npm ci` from the package's lockfile when
// node_modules lacks module. It returns node's path and the package's
// absolute folder. what names the test in those messages.
func nodePackage(t *testing.T, what, dir, module string) (node, abs string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node is required in CI for the %s test", what)
		}
		t.Skipf("LOUD SKIP: node not installed; the %s test did not run", what)
	}
	if abs, err = filepath.Abs(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(abs, "node_modules", filepath.FromSlash(module))); err != nil {
		install := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		install.Dir = abs
		if out, err := install.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	return node, abs
}
