package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackstageCatalogClient runs Backstage's own @backstage/catalog-client
// (pinned in testdata/catalog-client/package.json) against a live rigger.
func TestBackstageCatalogClient(t *testing.T) {
	needBinary(t)
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is required in CI for the catalog-client test")
		}
		t.Skip("LOUD SKIP: node not installed; the Backstage client test did not run")
	}
	dir, err := filepath.Abs("testdata/catalog-client")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@backstage", "catalog-client")); err != nil {
		install := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		install.Dir = dir
		if out, err := install.CombinedOutput(); err != nil {
			t.Fatalf("npm ci: %v\n%s", err, out)
		}
	}
	p, tmp := startCorpusDev(t)
	file := filepath.Join(tmp, "client-made.yaml")
	if err := os.WriteFile(file, []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: client-made\nspec: {type: service, lifecycle: production, owner: team-a}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "client.mjs", p.api, file)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "catalog-client: all steps passed") {
		t.Fatalf("catalog-client script failed: %v\n%s", err, out)
	}
}
