package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/templates"
)

// TestDryRunRealTemplates dry-runs every template whose actions rigger
// implements: the corpus templates that validate without unknown actions
// (templates/corpus_test.go lists each corpus file's verdict) and
// examples/templates, each with the values a user would give, and checks
// what the run logged, produced and output.
func TestDryRunRealTemplates(t *testing.T) {
	const corpus = "../../shared/corpus/backstage/plugins/scaffolder-backend/sample-templates/"
	cases := []struct {
		file    string
		values  map[string]any
		secrets map[string]string
		log     []string          // fragments of the run's log
		files   map[string]string // produced file -> fragment
		output  []string          // fragments of the rendered output
		absent  []string          // must not be in the output
	}{
		{file: corpus + "accordion-demo/template.yaml",
			values: map[string]any{"serviceName": "payments", "advanced_section": map[string]any{"replicas": 3, "memoryLimit": "512Mi", "nested_section": map[string]any{"port": 8080}}},
			log:    []string{"Service Name:   payments", "Replicas:       3"},
			output: []string{"**Service:** `payments`", "**Port:** 8080"}},
		{file: corpus + "bui-kitchen-sink-demo/template.yaml",
			values: map[string]any{"name": "sink", "email": "a@example.com", "environment": "staging", "region": "eu-west-1", "ownerRef": "group:default/team-a"},
			log:    []string{"Submitted kitchen sink for sink.", "Environment: staging", "Owner: group:default/team-a"},
			output: []string{"**Name:** sink", "**Region:** eu-west-1"}},
		{file: corpus + "conditional-output-demo/template.yaml",
			values: map[string]any{"name": "svc", "enableCI": "No"},
			log:    []string{"Creating svc"},
			output: []string{"Backstage Homepage"},
			absent: []string{"CI Dashboard"}},
		{file: corpus + "conditional-output-demo/template.yaml",
			values: map[string]any{"name": "svc", "enableCI": "Yes"},
			output: []string{"https://ci.example.com/svc"}},
		{file: "../examples/templates/go-service/template.yaml",
			values: map[string]any{"name": "payments", "owner": "group:default/team-a"},
			files:  map[string]string{"payments/go.mod": "module", "payments/catalog-info.yaml": "owner: group:default/team-a"}},
		{file: "../examples/templates/docs-site/template.yaml",
			values: map[string]any{"name": "handbook", "owner": "group:default/team-a", "title": "Handbook"},
			files:  map[string]string{"handbook/docs/index.md": "# Handbook"}},
		{file: "../examples/templates/catalog-entity/template.yaml",
			values: map[string]any{"name": "billing", "owner": "group:default/team-a"},
			log:    []string{"dry run: would register file location"},
			files:  map[string]string{"catalog-info.yaml": "name: billing"},
			output: []string{"component:default/billing"}},
	}
	r, err := templates.NewRenderer(templates.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	runner := &DryRunner{Scaffold: &activities.Scaffold{Renderer: r, Logger: discard, RegisteredDir: t.TempDir()}, Logger: discard}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d-%s", i, filepath.Base(filepath.Dir(c.file))), func(t *testing.T) {
			path, _ := filepath.Abs(c.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			tpl, err := templates.Parse(c.file, data)
			if err != nil {
				t.Fatal(err)
			}
			reg := contract.NewRegistry(nil)
			if probs := templates.Validate(tpl, reg); templates.HasErrors(probs) {
				t.Fatalf("validate: %v", probs)
			}
			plan, err := templates.Compile(tpl, c.values, reg, templates.CompileOptions{UserRef: "user:default/tester", BaseURL: "file://" + path})
			if err != nil {
				t.Fatal(err)
			}
			res, err := runner.DryRun(context.Background(), *plan, c.secrets, nil, permission.Subject{Ref: "user:default/tester"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Err != nil || res.State.Status != "completed" {
				t.Fatalf("dry run: %v (%s)", res.Err, res.State.Status)
			}
			var log []string
			for _, l := range res.State.Log {
				log = append(log, l.Text)
			}
			joined := strings.Join(log, "\n")
			for _, want := range c.log {
				if !strings.Contains(joined, want) {
					t.Errorf("log lacks %q:\n%s", want, joined)
				}
			}
			files := map[string]string{}
			for _, f := range res.Files {
				files[f.Path] = string(f.Data)
			}
			for f, want := range c.files {
				if !strings.Contains(files[f], want) {
					t.Errorf("%s lacks %q: %q", f, want, files[f])
				}
			}
			out := fmt.Sprint(res.State.Output)
			for _, want := range c.output {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q: %s", want, out)
				}
			}
			for _, no := range c.absent {
				if strings.Contains(out, no) {
					t.Errorf("output has %q: %s", no, out)
				}
			}
		})
	}
}
