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
// finding with its file, document and line, and --format sarif is SARIF
// 2.1.0 with one result each; a bad --format is refused.
func TestTemplateValidateStrictFormats(t *testing.T) {
	dir := t.TempDir()
	tpl := filepath.Join(dir, "template.yaml")
	cfg := filepath.Join(dir, "rigger.yaml")
	if err := os.WriteFile(tpl, []byte(lintTemplate), 0o644); err != nil {
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
	for _, f := range findings {
		if f.File != tpl || f.Document != 1 || f.Line != 1 || f.Template != "lint-me" || f.Severity != "warning" || f.Path == "" {
			t.Errorf("finding %+v: want file, document 1, line 1, template, severity and path", f)
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
				RuleID  string
				Level   string
				Message struct{ Text string }
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &sarif); err != nil || sarif.Version != "2.1.0" || len(sarif.Runs) != 1 || len(sarif.Runs[0].Results) != 3 {
		t.Fatalf("--format sarif: %+v, %v\n%s", sarif, err, out)
	}
	if r := sarif.Runs[0].Results[0]; r.Level != "warning" || r.RuleID != "rigger-template-warning" || !strings.HasPrefix(r.Message.Text, "steps[") {
		t.Errorf("a SARIF result: %+v", r)
	}
	if _, _, err := runCLI(t, nil, "template", "validate", "--format", "xml", tpl); exitCode(err) != 2 {
		t.Errorf("--format xml: %v, want exit 2", err)
	}
}
