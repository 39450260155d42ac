package terraform_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/terraform"
	"github.com/riggerdev/rigger/internal/testtools"
)

// TestProvidersOnlyFromTheMirror: with a filesystem mirror a real
// provider (hashicorp/time, built once per machine) is installed from it
// and plan/apply work; a provider the mirror lacks fails init even with
// downloads allowed, because the mirror is the only source.
func TestProvidersOnlyFromTheMirror(t *testing.T) {
	tf := testtools.Binary(t, "terraform")
	mirror := timeMirror(t)
	r := newRig(t, terraform.Config{Binary: tf, PluginMirror: mirror, AllowDownloads: true})
	r.write(t, "infra/main.tf", timeTF)
	planApplyTime(t, r, "infra")

	r.write(t, "other/main.tf", `
terraform {
  required_providers {
    null = { source = "hashicorp/null" }
  }
}
resource "null_resource" "x" {}
`)
	_, err := r.run(t, terraform.ActionPlan, false, map[string]any{"dir": "other"})
	if err == nil || !strings.Contains(err.Error(), "hashicorp/null was not found") || !strings.Contains(err.Error(), mirror) {
		t.Errorf("a provider the mirror lacks: %v, want init to fail naming only the mirror as a source", err)
	}
}

// planApplyTime plans and applies timeTF in dir and returns the year
// time_static recorded (its output).
func planApplyTime(t *testing.T, r *rig, dir string) float64 {
	t.Helper()
	plan := r.must(t, terraform.ActionPlan, map[string]any{"dir": dir})
	if plan.Output["summary"] != "1 to add, 0 to change, 0 to destroy" {
		t.Fatalf("plan %v", plan.Output)
	}
	applied := r.must(t, terraform.ActionApply, map[string]any{"dir": dir, "planChecksum": plan.Output["planChecksum"]})
	year, _ := applied.Output["outputs"].(map[string]any)["year"].(float64)
	if year < 2024 {
		t.Errorf("outputs %v, want the year time_static recorded", applied.Output["outputs"])
	}
	for _, logs := range [][]string{plan.Logs, applied.Logs} {
		if strings.Contains(strings.Join(logs, "\n"), "warning:") {
			t.Errorf("a run warns: %q", logs)
		}
	}
	return year
}

// timeTF uses the time provider: one time_static, its year as output.
const timeTF = `
terraform {
  required_providers {
    time = { source = "hashicorp/time", version = "0.14.2" }
  }
}
resource "time_static" "created" {}
output "year" {
  value = time_static.created.year
}
`

// timeMirror is a filesystem mirror holding the time provider (built
// once per machine).
func timeMirror(t *testing.T) string {
	t.Helper()
	provider := testtools.Binary(t, "terraform-provider-time")
	mirror := t.TempDir()
	dst := filepath.Join(mirror, "registry.terraform.io", "hashicorp", "time", "0.14.2", runtime.GOOS+"_"+runtime.GOARCH, "terraform-provider-time_v0.14.2")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(provider)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return mirror
}
