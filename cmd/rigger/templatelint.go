package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/netguard"
	"github.com/riggerdev/rigger/templates"
)

// configProblems are --strict's warnings that need the configuration:
// steps using an action scaffolder.disabledActions turns off (the server
// would refuse the template), and fetch:* urls that are plain text and
// outside scaffolder.allowedHosts (the worker would refuse the fetch).
// Relative urls (the template's own files) and ${{ }} urls are not judged.
func configProblems(t *templates.Template, cfg *config.Config) []templates.Problem {
	var out []templates.Problem
	policy := netguard.Policy{AllowedHosts: cfg.Scaffolder.AllowedHosts, Setting: "scaffolder.allowedHosts"}
	for i, st := range t.Spec.Steps {
		sp := fmt.Sprintf("steps[%d]", i) // the validator's paths
		if slices.Contains(cfg.Scaffolder.DisabledActions, st.Action) {
			out = append(out, templates.Problem{Severity: templates.SeverityWarning, Path: sp + ".action",
				Message: fmt.Sprintf("%s is in scaffolder.disabledActions of this configuration: a server with it refuses this template", st.Action)})
		}
		if !strings.HasPrefix(st.Action, "fetch:") {
			continue
		}
		in, _ := st.Input.(map[string]any)
		raw, _ := in["url"].(string)
		if raw == "" || strings.Contains(raw, "${{") {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || !u.IsAbs() {
			continue
		}
		if err := policy.CheckURL(u); err != nil {
			out = append(out, templates.Problem{Severity: templates.SeverityWarning, Path: sp + ".input.url",
				Message: "a worker with this configuration refuses this fetch: " + err.Error()})
		}
	}
	return out
}

// lintFinding is one problem of one template, for --format json and sarif.
type lintFinding struct {
	File     string `json:"file"`
	Document int    `json:"document,omitempty"`
	// DocumentLine is the template document's first line; Line and
	// Column are the field's that Path names (Column 0: the document's
	// line, the field not found).
	DocumentLine int    `json:"documentLine,omitempty"`
	Line         int    `json:"line,omitempty"`
	Column       int    `json:"column,omitempty"`
	Template     string `json:"template,omitempty"`
	Severity     string `json:"severity"`
	Path         string `json:"path,omitempty"`
	Message      string `json:"message"`
}

// writeFindings prints findings as JSON (a list) or as SARIF 2.1.0, the
// format code-scanning pages read; each result points at its field's line
// and column (the field path is in the message too).
func writeFindings(w io.Writer, format string, findings []lintFinding) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if findings == nil {
		findings = []lintFinding{}
	}
	if format == "json" {
		return enc.Encode(findings)
	}
	type region struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn,omitempty"`
	}
	type location struct {
		PhysicalLocation struct {
			ArtifactLocation struct {
				URI string `json:"uri"`
			} `json:"artifactLocation"`
			Region *region `json:"region,omitempty"`
		} `json:"physicalLocation"`
	}
	type result struct {
		RuleID  string `json:"ruleId"`
		Level   string `json:"level"`
		Message struct {
			Text string `json:"text"`
		} `json:"message"`
		Locations []location `json:"locations"`
	}
	results := []result{}
	for _, f := range findings {
		var r result
		r.RuleID = "rigger-template-" + f.Severity
		r.Level = "warning"
		if f.Severity == string(templates.SeverityError) {
			r.Level = "error"
		}
		r.Message.Text = f.Message
		if f.Path != "" {
			r.Message.Text = f.Path + ": " + f.Message
		}
		var loc location
		loc.PhysicalLocation.ArtifactLocation.URI = f.File
		if f.Line > 0 {
			loc.PhysicalLocation.Region = &region{StartLine: f.Line, StartColumn: f.Column}
		}
		r.Locations = []location{loc}
		results = append(results, r)
	}
	return enc.Encode(map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool": map[string]any{"driver": map[string]any{"name": "rigger template validate",
				"rules": []any{
					map[string]any{"id": "rigger-template-error", "shortDescription": map[string]any{"text": "The template is refused"}},
					map[string]any{"id": "rigger-template-warning", "shortDescription": map[string]any{"text": "The template runs but is risky"}},
				}}},
			"results": results,
		}},
	})
}
