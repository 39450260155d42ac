package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitTemplate lives in templates/go of a repository and fetches its own
// skeleton and one shared by every template of the repository.
const gitTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: from-git
spec:
  owner: group:default/team-a
  type: service
  parameters:
    - properties:
        name: {type: string}
  steps:
    - id: own
      name: Own skeleton
      action: fetch:template
      input:
        url: ./skeleton
        targetPath: app
        values: {name: '${{ parameters.name }}'}
    - id: shared
      name: Shared skeleton
      action: fetch:template
      input:
        url: ../../skeletons/catalog-info/
        targetPath: app
        values: {name: '${{ parameters.name }}'}
    - id: show
      name: Show
      action: debug:log
      input: {listWorkspace: with-contents}
`

// TestTemplateFromGitLocation: a template registered from a git location
// (real git, a local repository, which static locations may name) runs with
// skeletons read from a clone of the same repository, including one
// outside the template's folder (../../skeletons, as real template
// repositories share them).
func TestTemplateFromGitLocation(t *testing.T) {
	needBinary(t)
	repo := t.TempDir()
	for file, content := range map[string]string{
		"templates/go/template.yaml":               gitTemplate,
		"templates/go/skeleton/README.md":          "# ${{ values.name }}\n",
		"skeletons/catalog-info/catalog-info.yaml": "metadata:\n  name: ${{ values.name }}\n",
	} {
		if err := os.MkdirAll(filepath.Join(repo, filepath.Dir(file)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "templates"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	// Templates come from static locations only (Backstage's default rules).
	p, _ := startDevWithConfig(t, "catalog:\n  locations:\n    - {type: git, target: '"+repo+"#templates/go/template.yaml'}\n")
	waitTotal(t, p.api, "kind=template,metadata.name=from-git", 1)
	var created struct{ ID string }
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/from-git", "values": map[string]any{"name": "pay"}}, &created); code != http.StatusCreated {
		t.Fatalf("create task: %d", code)
	}
	if tr := waitTask(t, p.api, created.ID); tr.Status != "completed" {
		t.Fatalf("task: %+v", tr)
	}
	log := eventText(t, p.api, created.ID)
	for _, want := range []string{"app/README.md:\n# pay", "app/catalog-info.yaml:\nmetadata:\n  name: pay"} {
		if !strings.Contains(log, want) {
			t.Errorf("events lack %q:\n%s", want, log)
		}
	}
}
