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
	_, dir := nodePackage(t, "Backstage catalog-client", "testdata/catalog-client", "@backstage/catalog-client")
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
