package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
)

const validateTemplateYAML = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: t
spec:
  owner: group:default/platform
  type: service
  parameters:
    - title: One
      properties:
        name: {type: string}
  steps:
    - id: write
      name: Write
      action: fs:write
      input:
        path: a.txt
        content: ${{ parameters.name }}
`

// TestValidateTemplateLines: POST /v2/validate-template answers the
// findings of rigger template validate, each at the line of the YAML it
// is about: a YAML syntax error, a parser error, and a validator error
// whose path is relative to spec.
func TestValidateTemplateLines(t *testing.T) {
	srv := New(Deps{Logger: discardLogger(), Auth: auth.Guest{}, Catalog: CatalogDeps{Store: testStore(t)},
		Scaffolder: ScaffolderDeps{Actions: contract.NewRegistry(nil)}})
	type problem struct {
		Line     int
		Column   int
		Severity string
		Path     string
		Message  string
	}
	do := func(body string) (int, []problem, string) {
		t.Helper()
		req := loopbackRequest("POST", "/api/scaffolder/v2/validate-template", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		var resp struct{ Errors []problem }
		_ = json.Unmarshal(w.Body.Bytes(), &resp)
		return w.Code, resp.Errors, w.Body.String()
	}
	jsonBody := func(yamlText string) string {
		b, _ := json.Marshal(map[string]string{"yaml": yamlText})
		return string(b)
	}
	for _, c := range []struct {
		name     string
		yaml     string
		line     int
		contains string
	}{
		{"unknown action", strings.Replace(validateTemplateYAML, "fs:write", "fs:nope", 1), 15, `unknown action "fs:nope"`},
		{"yaml syntax", strings.Replace(validateTemplateYAML, "name: Write", "name: [Write", 1), 0, "YAML"},
		{"parser: unknown top-level field", validateTemplateYAML + "extra: 1\n", 19, "unknown top-level field"},
		{"parser: kind", strings.Replace(validateTemplateYAML, "kind: Template", "kind: Component", 1), 2, "not a template"},
	} {
		code, probs, raw := do(jsonBody(c.yaml))
		if code != http.StatusOK || len(probs) == 0 {
			t.Errorf("%s: %d, want 200 with problems: %.300s", c.name, code, raw)
			continue
		}
		p := probs[0]
		if !strings.Contains(p.Message, c.contains) || p.Severity != "error" {
			t.Errorf("%s: first problem %+v, want an error containing %q", c.name, p, c.contains)
		}
		if c.line > 0 && p.Line != c.line {
			t.Errorf("%s: line %d, want %d (%+v)", c.name, p.Line, c.line, p)
		}
		if c.line == 0 && p.Line == 0 {
			t.Errorf("%s: a YAML syntax error without a line: %+v", c.name, p)
		}
	}

	code, probs, raw := do(jsonBody(validateTemplateYAML))
	for _, p := range probs {
		if p.Severity == "error" {
			t.Errorf("a valid template has an error: %+v", p)
		}
	}
	if code != http.StatusOK || !strings.Contains(raw, `"valid":true`) {
		t.Errorf("valid template: %d %s", code, raw)
	}
	if code, _, raw := do(`{"nope": 1}`); code != http.StatusBadRequest {
		t.Errorf("a body without yaml: %d %s", code, raw)
	}
}

// TestPathSteps: problem paths split into the keys and indexes walked.
func TestPathSteps(t *testing.T) {
	for path, want := range map[string]string{
		`steps[2] (id "publish").action`: "steps|2|action",
		`spec.steps[0].input["a.b"].c`:   "spec|steps|0|input|a.b|c",
		`parameters[1].properties`:       "parameters|1|properties",
		`output.links[0].url`:            "output|links|0|url",
		"":                               "",
	} {
		if got := strings.Join(pathSteps(path), "|"); got != want {
			t.Errorf("pathSteps(%q) = %q, want %q", path, got, want)
		}
	}
}

// TestValidateTemplateRateLimited: checking templates is limited per
// caller (429 with Retry-After past the burst), and the bucket refills.
func TestValidateTemplateRateLimited(t *testing.T) {
	srv := New(Deps{Logger: discardLogger(), Auth: auth.Guest{}, Catalog: CatalogDeps{Store: testStore(t)},
		Scaffolder: ScaffolderDeps{Actions: contract.NewRegistry(nil)}})
	now := time.Unix(1000, 0)
	srv.checks.now = func() time.Time { return now }
	body, _ := json.Marshal(map[string]string{"yaml": validateTemplateYAML})
	post := func() *httptest.ResponseRecorder {
		req := loopbackRequest("POST", "/api/scaffolder/v2/validate-template", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		return w
	}
	for i := 0; i < checkBurst; i++ {
		if w := post(); w.Code != http.StatusOK {
			t.Fatalf("check %d within the burst: %d %s", i, w.Code, w.Body)
		}
	}
	if w := post(); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), "checking templates is rate limited per caller") {
		t.Fatalf("past the burst: %d Retry-After %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	now = now.Add(checkInterval)
	if w := post(); w.Code != http.StatusOK {
		t.Fatalf("after one interval: %d %s", w.Code, w.Body)
	}
}
