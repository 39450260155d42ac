package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleTemplates loads examples/templates the way rigger dev does
// (scaffolder.templates) and runs each one to completion, checking the files
// it produced.
func TestExampleTemplates(t *testing.T) {
	needBinary(t)
	examples, err := filepath.Abs("../../examples/templates")
	if err != nil {
		t.Fatal(err)
	}
	p, dir := startDevWithConfig(t, fmt.Sprintf("scaffolder:\n  templates: [%s/*/template.yaml]\n", examples))
	waitTotal(t, p.api, "kind=template", 3)
	cases := []struct {
		template string
		values   map[string]any
		files    map[string]string // workspace file -> fragment it must contain
		check    func(t *testing.T, taskID string)
	}{
		{"go-service", map[string]any{"name": "payments", "owner": "group:default/team-a"}, map[string]string{
			"payments/cmd/payments/main.go":      `ListenAndServe(":8080"`,
			"payments/catalog-info.yaml":         "name: payments",
			"payments/.github/workflows/ci.yaml": "${{ github.sha }}",
		}, nil},
		{"docs-site", map[string]any{"name": "handbook", "owner": "group:default/team-a", "title": "Handbook"}, map[string]string{
			"handbook/mkdocs.yml":        "- How to: how-to.md",
			"handbook/docs/how-to.md":    "# How to",
			"handbook/catalog-info.yaml": "backstage.io/techdocs-ref: dir:.",
			"handbook/docs/index.md":     "# Handbook",
		}, nil},
		{"catalog-entity", map[string]any{"name": "billing", "owner": "group:default/team-a", "system": "payments"}, map[string]string{
			"catalog-info.yaml": "system: payments",
		}, func(t *testing.T, id string) {
			// Registered: in the catalog when the task completes, with a
			// location that refreshes it, and read back by catalog:fetch.
			var e struct {
				Metadata struct{ Name string }
				Spec     struct{ Owner, System string }
			}
			if code := doJSON(t, "GET", p.api+"/api/catalog/entities/by-name/component/default/billing", nil, &e); code != http.StatusOK || e.Spec.System != "payments" {
				t.Fatalf("registered entity: %d %+v", code, e)
			}
			var loc struct {
				Type, Target string
			}
			if code := doJSON(t, "GET", p.api+"/api/catalog/locations/by-entity/component/default/billing", nil, &loc); code != http.StatusOK || loc.Type != "file" || !strings.Contains(loc.Target, id) {
				t.Fatalf("its location: %d %+v", code, loc)
			}
			if out := fmt.Sprint(taskOutput(t, p.api, id)); !strings.Contains(out, "billing is in the catalog, owned by group:default/team-a") || !strings.Contains(out, "component:default/billing") {
				t.Fatalf("output: %s", out)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.template, func(t *testing.T) {
			var created struct{ ID string }
			if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/" + c.template, "values": c.values}, &created); code != http.StatusCreated {
				t.Fatalf("create: %d", code)
			}
			if tr := waitTask(t, p.api, created.ID); tr.Status != "completed" {
				t.Fatalf("task: %+v", tr)
			}
			ws := filepath.Join(dir, "data", "workspaces", created.ID)
			for f, want := range c.files {
				got, err := os.ReadFile(filepath.Join(ws, f))
				if err != nil || !strings.Contains(string(got), want) {
					t.Errorf("%s: %v\n%s\n(want %q)", f, err, got, want)
				}
			}
			if c.check != nil {
				c.check(t, created.ID)
			}
		})
	}
}
