package templates

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The corpus: real templates written by others (see its README.md).
const corpusDir = "../../shared/corpus"

// corpusTemplates returns every YAML file of the corpus that declares
// kind: Template, relative to corpusDir. It fails the test if the corpus
// is missing.
func corpusTemplates(t *testing.T) []string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(corpusDir, "README.md")); err != nil {
		t.Fatalf("corpus not found at %s (expected beside the repository): %v", corpusDir, err)
	}
	var out []string
	err := filepath.WalkDir(corpusDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte("\nkind: Template")) || bytes.HasPrefix(data, []byte("kind: Template")) {
			rel, _ := filepath.Rel(corpusDir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// corpusOutcome is what Parse and Validate must say about a corpus
// template, given testActions (which lacks every publish:*, github:*,
// third-party and custom action).
type corpusOutcome struct {
	parseError     string   // non-empty: Parse fails with this in the message
	unknownActions []string // the only errors: these actions, in step order
	warnings       []string // substrings of the warnings, in order
}

func corpusOutcomes() map[string]corpusOutcome {
	const beta2 = `apiVersion: "backstage.io/v1beta2" is not supported; expected "scaffolder.backstage.io/v1beta3"`
	pathWarning := "file path comes from user input"
	return map[string]corpusOutcome{
		"backstage-demo/demo-template/template/template.yaml":                                                   {unknownActions: []string{"publish:github", "github:pages:enable", "github:actions:dispatch", "notification:send"}},
		"backstage/packages/create-app/templates/default-app/examples/templates/create-react-app/template.yaml": {unknownActions: []string{"publish:github"}},
		"backstage/plugins/scaffolder-backend/sample-templates/accordion-demo/template.yaml":                    {},
		"backstage/plugins/scaffolder-backend/sample-templates/bitbucket-cloud-demo/template.yaml":              {parseError: beta2},
		"backstage/plugins/scaffolder-backend/sample-templates/bitbucket-demo/template.yaml":                    {parseError: beta2},
		"backstage/plugins/scaffolder-backend/sample-templates/bui-kitchen-sink-demo/template.yaml":             {},
		"backstage/plugins/scaffolder-backend/sample-templates/conditional-output-demo/template.yaml":           {},
		"backstage/plugins/scaffolder-backend/sample-templates/create-react-app/template.yaml":                  {parseError: beta2},
		"backstage/plugins/scaffolder-backend/sample-templates/local-template/gin-golan-template/template.yaml": {unknownActions: []string{"publish:github"}},
		"backstage/plugins/scaffolder-backend/sample-templates/longrunning-demo/wait-action.yaml":               {unknownActions: []string{"stress:waitWorkflow"}},
		"backstage/plugins/scaffolder-backend/sample-templates/mlflow/template.yaml":                            {parseError: `apiVersion: "backstage.io/v1alpha1" is not supported`},
		"backstage/plugins/scaffolder-backend/sample-templates/pull-request/template.yaml":                      {parseError: beta2},
		"backstage/plugins/scaffolder-backend/sample-templates/rails-demo/template.yaml":                        {parseError: beta2},
		"backstage/plugins/scaffolder-backend/sample-templates/react-ssr-template/template.yaml":                {parseError: beta2},
		"q-shift-software-templates/templates/github/quarkus-chatbot/template.yaml":                             {unknownActions: []string{"publish:github"}},
		"q-shift-software-templates/templates/github/quarkus-code-quarkus-io/template.yaml":                     {unknownActions: []string{"quarkus:app:create", "publish:github"}},
		"q-shift-software-templates/templates/github/quarkus-integration/template.yaml":                         {unknownActions: []string{"quarkus:app:create", "publish:github"}},
		"q-shift-software-templates/templates/github/quarkus-operator/template.yaml":                            {unknownActions: []string{"publish:github"}},
		"q-shift-software-templates/templates/github/quarkus-quickstarts/template.yaml":                         {unknownActions: []string{"quarkus:quickstart:clone", "publish:github"}},
		"red-hat-developer-hub-software-templates/templates/azure/dotnet-frontend/template.yaml":                {unknownActions: []string{"publish:azure"}},
		"red-hat-developer-hub-software-templates/templates/create-backend-plugin/template.yaml": {
			unknownActions: []string{"publish:github", "publish:github:pull-request"},
			warnings:       []string{`steps[1] (id "publish").input.sourcePath: ` + pathWarning + ` (parameters.plugin_id)`},
		},
		"red-hat-developer-hub-software-templates/templates/github/argocd/template.yaml":             {unknownActions: []string{"publish:github", "argocd:create-resources"}},
		"red-hat-developer-hub-software-templates/templates/github/backstage-system/template.yaml":   {unknownActions: []string{"publish:github"}},
		"red-hat-developer-hub-software-templates/templates/github/define-ansible-job/template.yaml": {unknownActions: []string{"publish:github:pull-request"}},
		"red-hat-developer-hub-software-templates/templates/github/go-backend/template.yaml":         {unknownActions: []string{"publish:github"}},
		"red-hat-developer-hub-software-templates/templates/github/launch-ansible-job/template.yaml": {
			unknownActions: []string{"publish:github:pull-request"},
			warnings:       []string{`steps[3] (id "register").input.repoContentsUrl: line 1, column 24: parameters.githubOrg is not defined by any parameter page`},
		},
		"red-hat-developer-hub-software-templates/templates/github/nodejs-backend/template.yaml": {unknownActions: []string{"publish:github"}},
		"red-hat-developer-hub-software-templates/templates/github/obc/template.yaml": {
			unknownActions: []string{"publish:github"},
			warnings:       []string{`steps[2] (id "publish").input.description: line 1, column 5: parameters.description is not defined by any parameter page`},
		},
		"red-hat-developer-hub-software-templates/templates/github/quarkus-backend/template.yaml":     {unknownActions: []string{"publish:github"}},
		"red-hat-developer-hub-software-templates/templates/github/register-component/template.yaml":  {unknownActions: []string{"publish:github:pull-request"}},
		"red-hat-developer-hub-software-templates/templates/github/spring-boot-backend/template.yaml": {unknownActions: []string{"publish:github"}},
		"red-hat-developer-hub-software-templates/templates/github/techdocs/template.yaml":            {unknownActions: []string{"publish:github"}},
		"red-hat-developer-hub-software-templates/templates/github/tekton/template.yaml": {
			unknownActions: []string{"roadiehq:utils:merge", "publish:github:pull-request"},
			warnings:       []string{`steps[1] (id "merge").input.path: ` + pathWarning + ` (parameters.catalogInfoPath)`},
		},
		"red-hat-developer-hub-software-templates/templates/gitlab/python-backend/template.yaml": {unknownActions: []string{"publish:gitlab"}},
		"software-templates/scaffolder-templates/clean-architecture-app/template.yaml":           {unknownActions: []string{"publish:github"}},
		"software-templates/scaffolder-templates/create-react-app/template.yaml":                 {unknownActions: []string{"publish:github"}},
		"software-templates/scaffolder-templates/docs-template-cookiecutter/template.yaml":       {unknownActions: []string{"fetch:cookiecutter", "publish:github"}},
		"software-templates/scaffolder-templates/pull-request/template.yaml": {
			unknownActions: []string{"publish:github:pull-request"},
			warnings:       []string{`steps[2] (id "publish").input.targetPath: ` + pathWarning + ` (parameters.targetPath)`},
		},
		"software-templates/scaffolder-templates/rails-demo/template.yaml":         {unknownActions: []string{"fetch:rails", "publish:github"}},
		"software-templates/scaffolder-templates/react-ssr-template/template.yaml": {unknownActions: []string{"publish:github"}},
	}
}

// TestCorpusValidation parses every corpus template and checks Validate's
// verdict against the table above.
func TestCorpusValidation(t *testing.T) {
	files := corpusTemplates(t)
	outcomes := corpusOutcomes()
	if len(files) != len(outcomes) {
		t.Errorf("corpus has %d templates, the table %d", len(files), len(outcomes))
	}
	for _, rel := range files {
		t.Run(rel, func(t *testing.T) {
			want, ok := outcomes[rel]
			if !ok {
				t.Fatalf("no expected outcome for %s", rel)
			}
			data, err := os.ReadFile(filepath.Join(corpusDir, rel))
			if err != nil {
				t.Fatal(err)
			}
			tpl, err := Parse(rel, data)
			if want.parseError != "" {
				if err == nil || !strings.Contains(err.Error(), want.parseError) {
					t.Fatalf("Parse error = %v, want %q", err, want.parseError)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var unknown, warnings []string
			for _, p := range Validate(tpl, testActions()) {
				switch {
				case p.Severity == SeverityWarning:
					warnings = append(warnings, p.Path+": "+p.Message)
				case strings.HasPrefix(p.Message, "unknown action "):
					name := strings.Trim(strings.TrimPrefix(p.Message, "unknown action "), `"`)
					unknown = append(unknown, name)
				default:
					t.Errorf("unexpected error: %s", p)
				}
			}
			if !reflect.DeepEqual(unknown, want.unknownActions) {
				t.Errorf("unknown actions %v, want %v", unknown, want.unknownActions)
			}
			if len(warnings) != len(want.warnings) {
				t.Fatalf("warnings:\n%s\nwant %d", strings.Join(warnings, "\n"), len(want.warnings))
			}
			for i := range warnings {
				if !strings.Contains(warnings[i], want.warnings[i]) {
					t.Errorf("warning %q does not contain %q", warnings[i], want.warnings[i])
				}
			}
		})
	}
}

// plausibleValue invents a value a user could have entered for a
// parameter schema.
func plausibleValue(name string, schema map[string]any) any {
	if def, ok := schema["default"]; ok {
		return deepCopy(def)
	}
	if enum, ok := schema["enum"].([]any); ok && len(enum) > 0 {
		return enum[0]
	}
	switch schema["format"] {
	case "email":
		return "jane@example.com"
	case "uri", "url":
		return "https://example.com/" + name
	case "date":
		return "2024-01-02"
	case "date-time":
		return "2024-01-02T03:04:05Z"
	case "time":
		return "03:04:05Z"
	case "data-url":
		return "data:text/plain;base64,aGk="
	}
	switch schema["ui:field"] {
	case "RepoUrlPicker", "RepoUrlPickerBitbucketCloud":
		return "github.com?owner=acme&repo=demo-" + strings.ToLower(name) + "&workspace=ws&project=prj&organization=org"
	case "OwnerPicker", "EntityPicker", "MyGroupsPicker", "OwnedEntityPicker":
		return "group:default/team-a"
	}
	switch schema["type"] {
	case "integer", "number":
		return int64(8080)
	case "boolean":
		return true
	case "array":
		if items, ok := schema["items"].(map[string]any); ok {
			return []any{plausibleValue(name, items)}
		}
		return []any{"item"}
	case "object":
		out := map[string]any{}
		if props, ok := schema["properties"].(map[string]any); ok {
			for k, p := range props {
				if pm, ok := p.(map[string]any); ok {
					out[k] = plausibleValue(k, pm)
				}
			}
		}
		return out
	}
	return "value-" + name
}

// plausibleContext builds parameters for every name the pages can define
// and outputs for every step.
func plausibleContext(tpl *Template) Context {
	params := map[string]any{}
	names := map[string]bool{}
	for _, page := range tpl.Spec.Parameters {
		if props, ok := page["properties"].(map[string]any); ok {
			for k, p := range props {
				if pm, ok := p.(map[string]any); ok {
					params[k] = plausibleValue(k, pm)
				}
			}
		}
		parameterNames(page, names, 0)
	}
	for n := range names {
		if _, ok := params[n]; !ok {
			params[n] = "value-" + n
		}
	}
	steps := map[string]map[string]any{}
	for i := range tpl.Spec.Steps {
		steps[tpl.StepID(i)] = map[string]any{
			"remoteUrl":         "https://github.com/acme/demo",
			"repoContentsUrl":   "https://github.com/acme/demo/blob/main",
			"entityRef":         "component:default/demo",
			"targetBranchName":  "main",
			"pullRequestNumber": int64(7),
			"ticketId":          "T-1",
		}
	}
	return Context{
		Parameters: params,
		Steps:      steps,
		User:       User{Ref: "user:default/jane", Entity: map[string]any{"metadata": map[string]any{"name": "jane"}}},
		Secrets:    map[string]string{"USER_OAUTH_TOKEN": "gho_token"},
		TaskID:     "task-1",
	}
}

// TestCorpusRendering renders every expression of every v1beta3 corpus
// template (step inputs, if, each and output) with a plausible context,
// then renders the skeleton of every fetch:template step with the values
// the step passes, the way fetch:template would (file names and contents,
// minus copyWithoutTemplating/copyWithoutRender), and checks that the YAML
// files it produces parse.
func TestCorpusRendering(t *testing.T) {
	r := newTestRenderer(t, Limits{})
	var templatesSeen, exprs, skeletonFiles, yamlFiles int
	for _, rel := range corpusTemplates(t) {
		data, err := os.ReadFile(filepath.Join(corpusDir, rel))
		if err != nil {
			t.Fatal(err)
		}
		tpl, err := Parse(rel, data)
		if err != nil {
			continue // the v1beta2/v1alpha1 files; TestCorpusValidation covers them
		}
		templatesSeen++
		t.Run(rel, func(t *testing.T) {
			ctx := plausibleContext(tpl)
			for i, st := range tpl.Spec.Steps {
				var strs []templateString
				findTemplateStrings(st.Input, "input", r.parseLimits(), &strs)
				exprs += len(strs)
				if _, err := r.EvalCondition(st.If, ctx); err != nil {
					t.Errorf("steps[%d].if: %v", i, err)
				}
				items := []Each{{}}
				if st.Each != nil {
					if items, err = r.EachItems(st.Each, ctx); err != nil {
						t.Errorf("steps[%d].each: %v", i, err)
						continue
					}
				}
				for _, it := range items {
					sctx := ctx
					if st.Each != nil {
						sctx.Each = &Each{Key: it.Key, Value: it.Value}
					}
					in, err := r.RenderValue(st.Input, sctx)
					if err != nil {
						t.Errorf("steps[%d].input: %v", i, err)
						continue
					}
					if st.Action == "fetch:template" {
						n, y := renderSkeleton(t, r, filepath.Dir(filepath.Join(corpusDir, rel)), in)
						skeletonFiles += n
						yamlFiles += y
					}
				}
			}
			out, err := r.RenderValue(tpl.Spec.Output.Raw, ctx)
			if err != nil {
				t.Errorf("output: %v", err)
			}
			for i, l := range tpl.Spec.Output.Links {
				if _, err := r.EvalCondition(l.If, ctx); err != nil {
					t.Errorf("output.links[%d].if: %v", i, err)
				}
			}
			if tpl.Spec.Output.Raw != nil && out == nil {
				t.Errorf("output rendered to nothing")
			}
		})
	}
	t.Logf("%d templates, %d template strings in step inputs, %d skeleton files (%d YAML) rendered", templatesSeen, exprs, skeletonFiles, yamlFiles)
	if templatesSeen < 30 || exprs < 300 || skeletonFiles < 40 || yamlFiles < 20 {
		t.Errorf("rendered too little of the corpus: %d templates, %d strings, %d skeleton files, %d YAML", templatesSeen, exprs, skeletonFiles, yamlFiles)
	}
}

// renderSkeleton renders the skeleton a fetch:template input points at,
// if it is in the corpus, and returns how many files (and YAML files) it
// rendered.
func renderSkeleton(t *testing.T, r *Renderer, base string, input any) (files, yamls int) {
	t.Helper()
	in, _ := input.(map[string]any)
	url, _ := in["url"].(string)
	if !strings.HasPrefix(url, ".") {
		return 0, 0
	}
	dir := filepath.Join(base, url)
	if _, err := os.Stat(dir); err != nil {
		return 0, 0 // skeleton not copied into the corpus
	}
	var skip []string
	for _, key := range []string{"copyWithoutTemplating", "copyWithoutRender"} {
		list, _ := in[key].([]any)
		for _, p := range list {
			if s, ok := p.(string); ok {
				skip = append(skip, strings.TrimSuffix(strings.TrimPrefix(s, "./"), "*"))
			}
		}
	}
	values, _ := in["values"].(map[string]any)
	ctx := Context{Values: values}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		for _, s := range skip {
			if strings.HasPrefix(rel, s) {
				return nil
			}
		}
		name, err := r.RenderString(rel, ctx)
		if err != nil {
			t.Errorf("%s: file name: %v", p, err)
			return nil
		}
		if strings.Contains(name, "${{") {
			t.Errorf("%s: file name still templated: %s", p, name)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out, err := r.RenderString(string(data), ctx)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		files++
		if strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") {
			yamls++
			if err := allYAMLDocuments(out); err != nil {
				t.Errorf("%s: rendered YAML does not parse: %v\n%s", p, err, out)
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("%s: %v", dir, err)
	}
	return files, yamls
}

func allYAMLDocuments(s string) error {
	dec := yaml.NewDecoder(strings.NewReader(s))
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// TestCorpusCompile compiles the corpus templates whose actions all exist
// with plausible values, and checks that the Plan survives JSON.
func TestCorpusCompile(t *testing.T) {
	compiled := 0
	for _, rel := range corpusTemplates(t) {
		data, _ := os.ReadFile(filepath.Join(corpusDir, rel))
		tpl, err := Parse(rel, data)
		if err != nil || HasErrors(Validate(tpl, testActions())) {
			continue
		}
		ctx := plausibleContext(tpl)
		plan, err := Compile(tpl, ctx.Parameters, testActions(), CompileOptions{UserRef: "user:default/jane"})
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if _, err := roundTripPlan(plan); err != nil {
			t.Errorf("%s: %v", rel, err)
		}
		compiled++
	}
	if compiled < 3 {
		t.Errorf("compiled only %d corpus templates", compiled)
	}
}
