package templates

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const minimalTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: demo
  title: Demo
  description: A demo
  tags: [a, b]
  annotations:
    backstage.io/techdocs-ref: dir:.
spec:
  owner: team-a
  type: service
  parameters:
    - title: Page one
      required: [name]
      properties:
        name:
          type: string
          ui:autofocus: true
        repoUrl:
          type: string
          ui:field: RepoUrlPicker
          ui:options:
            allowedHosts: [github.com]
  steps:
    - id: fetch
      name: Fetch
      action: fetch:template
      input:
        url: ./skeleton
        values:
          name: ${{ parameters.name }}
    - action: debug:log
      if: ${{ parameters.name === "x" }}
      each: ["a", "b"]
      timeout: 90s
      retry:
        maximumAttempts: 5
        initialInterval: 2s
        backoffCoefficient: 1.5
        maximumInterval: 1m
      backstage:permissions:
        tags: [secret]
      input:
        message: hi
  output:
    links:
      - title: Repo
        url: ${{ steps.fetch.output.remoteUrl }}
        if: ${{ parameters.name }}
      - title: Catalog
        icon: catalog
        entityRef: ${{ steps.register.output.entityRef }}
    text:
      - title: Note
        content: done
        default: true
    extra: ${{ parameters.name }}
`

func TestParseMinimal(t *testing.T) {
	tpl, err := Parse("demo.yaml", []byte(minimalTemplate))
	if err != nil {
		t.Fatal(err)
	}
	if tpl.Ref() != "template:default/demo" || tpl.Metadata.Title != "Demo" || tpl.Spec.Owner != "team-a" {
		t.Errorf("metadata: %+v, owner %q", tpl.Metadata, tpl.Spec.Owner)
	}
	if !reflect.DeepEqual(tpl.Metadata.Tags, []string{"a", "b"}) || tpl.Metadata.Annotations["backstage.io/techdocs-ref"] != "dir:." {
		t.Errorf("tags %v annotations %v", tpl.Metadata.Tags, tpl.Metadata.Annotations)
	}
	if len(tpl.Spec.Parameters) != 1 || !tpl.Spec.ParametersIsList {
		t.Fatalf("parameters: %v", tpl.Spec.Parameters)
	}
	repo := tpl.Spec.Parameters[0]["properties"].(map[string]any)["repoUrl"].(map[string]any)
	if repo["ui:field"] != "RepoUrlPicker" || repo["ui:options"] == nil {
		t.Errorf("ui:* keys were not kept: %v", repo)
	}
	if len(tpl.Spec.Steps) != 2 {
		t.Fatalf("steps: %v", tpl.Spec.Steps)
	}
	s1 := tpl.Spec.Steps[1]
	if s1.ID != "" || tpl.StepID(1) != "step-2" || tpl.StepID(0) != "fetch" {
		t.Errorf("step ids %q %q", tpl.StepID(0), tpl.StepID(1))
	}
	if s1.If != `${{ parameters.name === "x" }}` || !reflect.DeepEqual(s1.Each, []any{"a", "b"}) {
		t.Errorf("if %#v each %#v", s1.If, s1.Each)
	}
	if s1.Timeout != 90*time.Second || s1.Retry == nil || *s1.Retry.MaximumAttempts != 5 ||
		*s1.Retry.InitialInterval != 2*time.Second || *s1.Retry.BackoffCoefficient != 1.5 || *s1.Retry.MaximumInterval != time.Minute {
		t.Errorf("timeout %v retry %+v", s1.Timeout, s1.Retry)
	}
	if s1.Extra["backstage:permissions"] == nil {
		t.Errorf("extra step keys lost: %v", s1.Extra)
	}
	out := tpl.Spec.Output
	if len(out.Links) != 2 || out.Links[0].URL != "${{ steps.fetch.output.remoteUrl }}" || out.Links[0].If == nil || out.Links[1].Icon != "catalog" {
		t.Errorf("links %+v", out.Links)
	}
	if len(out.Text) != 1 || !out.Text[0].Default || out.Raw["extra"] == nil {
		t.Errorf("text %+v raw %v", out.Text, out.Raw)
	}
}

func TestParseSingleParameterObject(t *testing.T) {
	src := strings.Replace(minimalTemplate, "  parameters:\n    - title: Page one\n      required: [name]\n      properties:",
		"  parameters:\n      title: Page one\n      required: [name]\n      properties:", 1)
	tpl, err := Parse("x", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(tpl.Spec.Parameters) != 1 || tpl.Spec.ParametersIsList || tpl.Spec.Parameters[0]["title"] != "Page one" {
		t.Errorf("got %v (list %v)", tpl.Spec.Parameters, tpl.Spec.ParametersIsList)
	}
}

func TestParseErrors(t *testing.T) {
	head := "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: x\n"
	bomb := "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: x\nspec:\n  a: &a [x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n  steps: []\n"
	tests := []struct {
		name, src, want string
	}{
		{"not yaml", "a: [", "invalid YAML"},
		{"empty", "", "no YAML document"},
		{"not a mapping", "- a\n- b\n", "the document must be a mapping, got a list"},
		{"two documents", head + "spec: {steps: []}\n---\n" + head + "spec: {steps: []}\n", "holds 2 YAML documents"},
		{"wrong kind", strings.Replace(head, "kind: Template", "kind: Component", 1) + "spec: {}\n", `kind: "Component" is not a template; expected kind "Template"`},
		{"v1beta2", strings.Replace(head, "scaffolder.backstage.io/v1beta3", "backstage.io/v1beta2", 1) + "spec: {}\n", `apiVersion: "backstage.io/v1beta2" is not supported; expected "scaffolder.backstage.io/v1beta3" (templates of apiVersion backstage.io/v1beta2 and older use a different`},
		{"missing apiVersion", "kind: Template\n", "apiVersion: required"},
		{"alias bomb", bomb, "YAML anchors (&a) are not allowed"},
		{"alias", head + "spec:\n  steps: []\n  x: *y\n", "invalid YAML"},
		{"anchor on key", head + "spec:\n  &k steps: []\n", "YAML anchors (&k) are not allowed"},
		{"merge key", head + "spec:\n  <<: {a: 1}\n  steps: []\n", "merge keys"},
		{"duplicate key", head + "spec:\n  steps: []\n  steps: []\n", `line 7: duplicate key "steps"`},
		{"custom tag", head + "spec:\n  steps: !include steps.yaml\n", "YAML tag !include is not supported"},
		{"too deep", head + "spec:\n  steps: []\n  x: " + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "\n", "nesting deeper than 64 levels"},
		{"too large", head + "spec:\n  steps: []\n  x: \"" + strings.Repeat("a", MaxTemplateSize) + "\"\n", "larger than the limit"},
		{"unknown top-level", head + "spec: {steps: []}\nextra: 1\n", "extra: unknown top-level field"},
		{"missing name", "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {}\nspec: {steps: []}\n", "metadata.name: required"},
		{"missing spec", head, "spec: required"},
		{"missing steps", head + "spec: {owner: x}\n", "spec.steps: required"},
		{"steps not a list", head + "spec: {steps: {a: 1}}\n", "spec.steps: must be a list, got a mapping"},
		{"step without action", head + "spec:\n  steps:\n    - id: a\n", "spec.steps[0].action: required"},
		{"action not a string", head + "spec:\n  steps:\n    - action: [a]\n", "spec.steps[0].action: must be a string, got a list"},
		{"input not a mapping", head + "spec:\n  steps:\n    - action: a\n      input: [1]\n", "spec.steps[0].input: must be a mapping, got a list"},
		{"if number", head + "spec:\n  steps:\n    - action: a\n      if: 1\n", "spec.steps[0].if: must be a string or a boolean, got a number"},
		{"each mapping", head + "spec:\n  steps:\n    - action: a\n      each: {a: 1}\n", "spec.steps[0].each: must be an expression string or a list"},
		{"bad timeout", head + "spec:\n  steps:\n    - action: a\n      timeout: soon\n", `spec.steps[0].timeout: must be a positive duration such as "90s" or "10m", got "soon"`},
		{"bad retry field", head + "spec:\n  steps:\n    - action: a\n      retry: {attempts: 3}\n", "spec.steps[0].retry.attempts: unknown retry field"},
		{"bad retry attempts", head + "spec:\n  steps:\n    - action: a\n      retry: {maximumAttempts: 0}\n", "spec.steps[0].retry.maximumAttempts: must be a positive integer"},
		{"bad parameters", head + "spec:\n  parameters: [1]\n  steps: []\n", "spec.parameters[0]: must be a mapping (a JSON Schema object), got a number"},
		{"bad tags", "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: x\n  tags: [1]\nspec: {steps: []}\n", "metadata.tags[0]: must be a string, got a number"},
		{"bad annotation", "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: x\n  annotations: {a: 1}\nspec: {steps: []}\n", "metadata.annotations.a: must be a string, got a number"},
		{"bad link", head + "spec:\n  steps: []\n  output:\n    links: [{url: 1}]\n", "spec.output.links[0].url: must be a string, got a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("parsed without error, want %q", tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a *ParseError", err)
			}
			if !strings.HasPrefix(err.Error(), "t.yaml: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestParseYAMLValueTypes(t *testing.T) {
	src := "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: x\nspec:\n  steps:\n    - action: a\n      input:\n        i: 3\n        f: 1.5\n        b: true\n        n: null\n        s: '3'\n        d: 2024-01-02\n        big: 123456789012345678901234567890\n        'yes': no\n"
	tpl, err := Parse("x", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"i": int64(3), "f": 1.5, "b": true, "n": nil, "s": "3", "d": "2024-01-02", "big": 1.2345678901234568e+29, "yes": "no"}
	if got := tpl.Spec.Steps[0].Input; !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}
