package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lintTemplate runs without error but trips every --strict rule that needs
// the configuration: a step without an id, an action the configuration
// disables, a fetch from a host it does not allow (and one it allows, and
// a relative one, which pass).
const lintTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: lint-me}
spec:
  type: service
  steps:
    - {id: far, action: fetch:plain, input: {url: 'https://downloads.example.org/skel.tar'}}
    - {id: near, action: fetch:plain, input: {url: 'https://github.com/acme/skel'}}
    - {id: own, action: fetch:plain, input: {url: ./skeleton}}
    - {action: debug:log, input: {message: hi}}
    - {id: rm, action: fs:delete, input: {files: [x]}}
`

// TestTemplateValidateStrictFormats: --strict warns, with the field path,
// of a step without an id, an action scaffolder.disabledActions turns off
// and a fetch outside scaffolder.allowedHosts, and not of the allowed or
// relative fetches; warnings alone exit 0; --format json lists each
// finding with its file, document and the field's line and column (in the
// second document of a file of two), and --format sarif is SARIF 2.1.0
// with one result each at the same region; a bad --format is refused.
func TestTemplateValidateStrictFormats(t *testing.T) {
	dir := t.TempDir()
	tpl := filepath.Join(dir, "template.yaml")
	cfg := filepath.Join(dir, "rigger.yaml")
	// A clean template first: findings point into the second document.
	file := "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: clean}\nspec:\n  type: service\n  steps: [{id: a, action: debug:log, input: {message: hi}}]\n---\n" + lintTemplate
	if err := os.WriteFile(tpl, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("scaffolder:\n  allowedHosts: [github.com]\n  disabledActions: [fs:delete]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runCLI(t, nil, "template", "validate", "--config", cfg, "--strict", tpl)
	if err != nil {
		t.Fatalf("warnings only: %v\n%s%s", err, out, stderr)
	}
	for _, want := range []string{
		"steps[0].input.url: a worker with this configuration refuses this fetch",
		"steps[3]: has no id",
		"steps[4].action: fs:delete is in scaffolder.disabledActions",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("--strict lacks %q:\n%s", want, stderr)
		}
	}
	for _, bad := range []string{"steps[1].input.url", "steps[2].input.url"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("--strict warns of an allowed or relative fetch (%s):\n%s", bad, stderr)
		}
	}
	if _, plain, _ := runCLI(t, nil, "template", "validate", "--config", cfg, tpl); strings.Contains(plain, "has no id") || strings.Contains(plain, "disabledActions") {
		t.Errorf("without --strict: %s", plain)
	}

	out, _, err = runCLI(t, nil, "template", "validate", "--config", cfg, "--strict", "--format", "json", tpl)
	if err != nil {
		t.Fatal(err)
	}
	var findings []lintFinding
	if err := json.Unmarshal([]byte(out), &findings); err != nil {
		t.Fatalf("--format json: %v\n%s", err, out)
	}
	if len(findings) != 3 {
		t.Fatalf("--format json: %d findings, want 3: %+v", len(findings), findings)
	}
	// Each finding points at its field: the line and column where the
	// field (or, for a step without an id, the step) is written.
	at := func(lineHas, field string) [2]int {
		for i, l := range strings.Split(file, "\n") {
			if strings.Contains(l, lineHas) {
				return [2]int{i + 1, strings.Index(l, field) + 1}
			}
		}
		t.Fatalf("no line holds %q", lineHas)
		return [2]int{}
	}
	want := map[string][2]int{
		"steps[0].input.url": at("downloads.example.org", "url:"),
		"steps[3]":           at("{action: debug:log", "{action"),
		"steps[4].action":    at("id: rm", "action:"),
	}
	for _, f := range findings {
		if f.File != tpl || f.Document != 2 || f.DocumentLine != 8 || f.Template != "lint-me" || f.Severity != "warning" || f.Path == "" {
			t.Errorf("finding %+v: want file, document 2 (line 8), template, severity and path", f)
		}
		if got := [2]int{f.Line, f.Column}; got != want[f.Path] {
			t.Errorf("finding %s at %d:%d, want %d:%d", f.Path, got[0], got[1], want[f.Path][0], want[f.Path][1])
		}
	}

	out, _, err = runCLI(t, nil, "template", "validate", "--config", cfg, "--strict", "--format", "sarif", tpl)
	if err != nil {
		t.Fatal(err)
	}
	var sarif struct {
		Version string
		Runs    []struct {
			Tool struct {
				Driver struct{ Name string }
			}
			Results []struct {
				RuleID    string
				Level     string
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						Region struct{ StartLine, StartColumn int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &sarif); err != nil || sarif.Version != "2.1.0" || len(sarif.Runs) != 1 || len(sarif.Runs[0].Results) != 3 {
		t.Fatalf("--format sarif: %+v, %v\n%s", sarif, err, out)
	}
	if r := sarif.Runs[0].Results[0]; r.Level != "warning" || r.RuleID != "rigger-template-warning" || !strings.HasPrefix(r.Message.Text, "steps[") {
		t.Errorf("a SARIF result: %+v", r)
	}
	for _, r := range sarif.Runs[0].Results {
		path, _, _ := strings.Cut(r.Message.Text, ": ")
		if len(r.Locations) != 1 || [2]int{r.Locations[0].PhysicalLocation.Region.StartLine, r.Locations[0].PhysicalLocation.Region.StartColumn} != want[path] {
			t.Errorf("SARIF result %q: region %+v, want %v", r.Message.Text, r.Locations, want[path])
		}
	}
	if _, _, err := runCLI(t, nil, "template", "validate", "--format", "xml", tpl); exitCode(err) != 2 {
		t.Errorf("--format xml: %v, want exit 2", err)
	}
}
