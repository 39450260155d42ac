package catalog

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/riggerdev/rigger/internal/yamlsafe"
)

// validateYAML decodes one document and validates it.
func validateYAML(t *testing.T, src string, p Policy) []FieldError {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	v, err := yamlsafe.Value(n.Content[0])
	if err != nil {
		t.Fatal(err)
	}
	return ValidateWith(Entity(v.(map[string]any)), p)
}

func TestValidate(t *testing.T) {
	const v1 = "backstage.io/v1alpha1"
	meta := func(lines string) string {
		return "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata:\n  name: x\n" + lines + "spec: {owner: o}\n"
	}
	cases := []struct {
		name   string
		src    string
		policy Policy
		// want lists "path: message fragment" for every expected problem;
		// none means valid.
		want []string
	}{
		{name: "component", src: component},
		{name: "component v1beta1", src: withSpec("backstage.io/v1beta1", "Component", "  type: a\n  lifecycle: b\n  owner: c\n")},
		{name: "component missing fields", src: withSpec(v1, "Component", "  type: service\n"),
			want: []string{"spec.lifecycle: required field is missing", "spec.owner: required field is missing"}},
		{name: "null required field", src: withSpec(v1, "Component", "  type: a\n  lifecycle: b\n  owner:\n"),
			want: []string{"spec.owner: required field is missing"}},
		{name: "empty string", src: withSpec(v1, "Component", "  type: ''\n  lifecycle: b\n  owner: c\n"),
			want: []string{"spec.type: must not be empty"}},
		{name: "null optional field", src: withSpec(v1, "Component", "  type: a\n  lifecycle: b\n  owner: c\n  system:\n"),
			want: []string{"spec.system: must be a string, got null"}},
		{name: "wrong types", src: withSpec(v1, "Component", "  type: 1\n  lifecycle: true\n  owner: [a]\n  providesApis: x\n  consumesApis: [1, '']\n"),
			want: []string{"spec.type: must be a string, got a number", "spec.lifecycle: must be a string, got a boolean", "spec.owner: must be a string, got a list",
				"spec.providesApis: must be a list of strings, got a string", "spec.consumesApis[0]: must be a string, got a number", "spec.consumesApis[1]: must not be empty"}},
		{name: "extra spec fields are free", src: withSpec(v1, "Component", "  type: a\n  lifecycle: b\n  owner: c\n  custom: {deep: [1]}\n")},
		{name: "spec missing", src: "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x}\n",
			want: []string{"spec: required object is missing"}},
		{name: "spec not an object", src: "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x}\nspec: [a]\n",
			want: []string{"spec: must be an object, got a list"}},
		{name: "api definition", src: withSpec(v1, "API", "  type: openapi\n  lifecycle: b\n  owner: c\n  definition: 'openapi: 3.0.0'\n")},
		{name: "api definition placeholder", src: withSpec(v1, "API", "  type: openapi\n  lifecycle: b\n  owner: c\n  definition: {$text: ./api.yaml}\n")},
		{name: "api definition object", src: withSpec(v1, "API", "  type: openapi\n  lifecycle: b\n  owner: c\n  definition: {openapi: 3}\n"),
			want: []string{"spec.definition: must be a string, got an object"}},
		{name: "api without definition", src: withSpec(v1, "API", "  type: openapi\n  lifecycle: b\n  owner: c\n"),
			want: []string{"spec.definition: required field is missing"}},
		{name: "mcp server api", src: withSpec(v1, "API", "  type: mcp-server\n  lifecycle: b\n  owner: c\n  remotes: [{type: sse, url: 'https://x'}]\n")},
		{name: "mcp server api without remotes", src: withSpec(v1, "API", "  type: mcp-server\n  lifecycle: b\n  owner: c\n  remotes: []\n"),
			want: []string{"spec.remotes: must hold at least 1 item"}},
		{name: "mcp server remote without url", src: withSpec(v1, "API", "  type: mcp-server\n  lifecycle: b\n  owner: c\n  remotes: [{type: sse}]\n"),
			want: []string{"spec.remotes[0].url: required field is missing"}},
		{name: "owner as placeholder is no ref", src: withSpec(v1, "Resource", "  type: db\n  owner: {$text: x}\n"),
			want: []string{"spec.owner: must be a string, got an object"}},
		{name: "resource", src: withSpec(v1, "Resource", "  type: db\n  owner: c\n  dependsOn: [component:x]\n  dependencyOf: [component:y]\n  system: s\n")},
		{name: "system", src: withSpec(v1, "System", "  owner: c\n  domain: d\n  type: product\n")},
		{name: "domain", src: withSpec(v1, "Domain", "  owner: c\n  subdomainOf: d\n")},
		{name: "domain without owner", src: withSpec(v1, "Domain", "  subdomainOf: d\n"), want: []string{"spec.owner: required field is missing"}},
		{name: "group", src: withSpec(v1, "Group", "  type: team\n  children: []\n  parent: p\n  members: [u]\n  profile: {displayName: X, email: x@y.z}\n")},
		{name: "group without children", src: withSpec(v1, "Group", "  type: team\n"), want: []string{"spec.children: required field is missing"}},
		{name: "group empty profile field", src: withSpec(v1, "Group", "  type: team\n  children: []\n  profile: {email: ''}\n"),
			want: []string{"spec.profile.email: must not be empty"}},
		{name: "user", src: withSpec(v1, "User", "  memberOf: []\n  profile: {displayName: X}\n")},
		{name: "user without memberOf", src: withSpec(v1, "User", "  profile: {displayName: X}\n"), want: []string{"spec.memberOf: required field is missing"}},
		{name: "location", src: withSpec(v1, "Location", "  type: url\n  targets: [./a.yaml]\n  presence: optional\n")},
		{name: "location without target", src: withSpec(v1, "Location", "  type: url\n")},
		{name: "location presence", src: withSpec(v1, "Location", "  target: ./a.yaml\n  presence: maybe\n"),
			want: []string{`spec.presence: must be "required" or "optional"`}},
		{name: "template", src: withSpec("scaffolder.backstage.io/v1beta3", "Template",
			"  type: service\n  owner: o\n  parameters: [{title: T}]\n  steps: [{id: a, action: debug:log, input: {m: x}, if: '${{ true }}'}]\n  output: {links: [{url: x}]}\n")},
		{name: "template parameters object", src: withSpec("scaffolder.backstage.io/v1beta3", "Template", "  type: s\n  parameters: {title: T}\n  steps: []\n")},
		{name: "template bad steps", src: withSpec("scaffolder.backstage.io/v1beta3", "Template", "  type: s\n  steps: [{name: 1}, x]\n  parameters: 3\n"),
			want: []string{"spec.steps[0].action: required field is missing", "spec.steps[0].name: must be a string", "spec.steps[1]: must be an object", "spec.parameters: must be an object or a list of objects"}},
		{name: "template page conditions", src: withSpec("scaffolder.backstage.io/v1beta3", "Template",
			"  type: s\n  parameters:\n    - {title: A, if: '${{ parameters.x }}'}\n    - {title: B, if: false}\n    - {title: C, if: {properties: {a: {const: 1}}}, then: {required: [a]}}\n  steps: []\n")},
		{name: "template bad page conditions", src: withSpec("scaffolder.backstage.io/v1beta3", "Template",
			"  type: s\n  parameters:\n    - {title: A, if: 3}\n    - {title: B, if: [x]}\n    - {title: C, if: null}\n  steps: []\n"),
			want: []string{"spec.parameters[0].if: must be a boolean, an expression string or a JSON Schema object, got a number",
				"spec.parameters[1].if: must be a boolean, an expression string or a JSON Schema object, got a list",
				"spec.parameters[2].if: must be a boolean, an expression string or a JSON Schema object, got null"}},
		{name: "template old apiVersion", src: withSpec("backstage.io/v1beta2", "Template", "  type: s\n  steps: []\n"),
			want: []string{`apiVersion: "backstage.io/v1beta2" is not a valid apiVersion for kind Template (expected scaffolder.backstage.io/v1beta3)`}},
		{name: "ai resource skill", src: withSpec(v1, "AiResource", "  type: skill\n  lifecycle: l\n  owner: o\n  agents: [claude-code]\n  dependsOn: [other]\n")},
		{name: "ai resource rule", src: withSpec(v1, "AiResource", "  type: rule\n  lifecycle: l\n  owner: o\n"),
			want: []string{"spec.category: required field is missing", "spec.rationale: required field is missing"}},
		{name: "kind is case-sensitive", src: withSpec(v1, "component", "  type: a\n"),
			want: []string{`kind: unknown kind "component"; kinds are case-sensitive, did you mean "Component"?`}},
		{name: "unknown kind", src: withSpec("example.com/v1", "Widget", "  size: 3\n"),
			want: []string{`kind: unknown kind "Widget"`}},
		{name: "unknown kind allowed", src: withSpec("example.com/v1", "Widget", "  size: 3\n"), policy: Policy{AllowUnknownKinds: true}},
		{name: "unknown kind allowed without spec", src: "apiVersion: v1\nkind: Widget\nmetadata: {name: w}\n", policy: Policy{AllowUnknownKinds: true}},
		{name: "unknown kind allowed, null spec", src: "apiVersion: v1\nkind: Widget\nmetadata: {name: w}\nspec:\n", policy: Policy{AllowUnknownKinds: true},
			want: []string{"spec: must be an object, got null"}},
		{name: "wrong apiVersion for kind", src: withSpec("example.com/v1", "Component", "  type: a\n  lifecycle: b\n  owner: c\n"),
			want: []string{`apiVersion: "example.com/v1" is not a valid apiVersion for kind Component`}},
		{name: "envelope missing", src: "a: 1\n",
			want: []string{"apiVersion: required field is missing", "kind: required field is missing", "metadata: required object is missing", "a: unknown top-level field"}},
		{name: "envelope types", src: "apiVersion: 1\nkind: [x]\nmetadata: x\n",
			want: []string{"apiVersion: must be a string, got a number", "kind: must be a string, got a list", "metadata: must be an object, got a string"}},
		{name: "bad apiVersion and kind", src: "apiVersion: Backstage.io/v1\nkind: 1Thing\nmetadata: {name: x}\n",
			want: []string{`apiVersion: "Backstage.io/v1" is not valid`, `kind: "1Thing" is not valid`}},
		{name: "relations and status", src: "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: x}\nspec: {owner: o}\nrelations: x\nstatus: []\n",
			want: []string{"relations: must be a list of objects, got a string", "status: must be an object, got a list"}},
		// metadata
		{name: "name rules", src: "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: -x}\nspec: {owner: o}\n",
			want: []string{`metadata.name: "-x" is not valid`}},
		{name: "name missing", src: "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {title: x}\nspec: {owner: o}\n",
			want: []string{"metadata.name: required field is missing"}},
		{name: "namespace", src: meta("  namespace: Bad_NS\n"), want: []string{`metadata.namespace: "Bad_NS" is not valid`}},
		{name: "namespace double hyphen", src: meta("  namespace: a--b\n"), want: []string{`metadata.namespace: "a--b" is not valid`}},
		{name: "namespace null", src: meta("  namespace:\n"), want: []string{"metadata.namespace: must be a string, got null"}},
		{name: "title empty", src: meta("  title: ''\n"), want: []string{"metadata.title: must not be empty"}},
		{name: "description number", src: meta("  description: 3\n"), want: []string{"metadata.description: must be a string, got a number"}},
		{name: "description empty", src: meta("  description: ''\n")},
		{name: "extra metadata", src: meta("  addresses: {x: [1]}\n  needs:\n")},
		{name: "labels", src: meta("  labels: {example.com/team: a-b, plain: '', bad key: x, k: 'bad value', n: 1}\n"),
			want: []string{"metadata.labels.bad key: label key is not valid", `metadata.labels.k: label value "bad value" is not valid`, "metadata.labels.n: label value must be a string, got a number"}},
		{name: "annotations", src: meta("  annotations: {backstage.io/techdocs-ref: 'dir:.', a/b/c: x, Upper.Case/x: y, n: 1, e: ''}\n"),
			want: []string{"metadata.annotations.a/b/c: annotation key is not valid", "metadata.annotations.Upper.Case/x: annotation key is not valid", "metadata.annotations.n: annotation value must be a string, got a number"}},
		{name: "annotations null", src: meta("  annotations:\n"), want: []string{"metadata.annotations: must be an object of string values, got null"}},
		{name: "annotation value null", src: meta("  annotations: {a: }\n"), want: []string{"metadata.annotations.a: annotation value must be a string, got null"}},
		{name: "tags", src: meta("  tags: [java, c++, 'c#', 'k8s:prod', Java, a--b, '', 1]\n"),
			want: []string{`metadata.tags[4]: tag "Java" is not valid`, `metadata.tags[5]: tag "a--b"`, `metadata.tags[6]: tag ""`, "metadata.tags[7]: tag a number"}},
		{name: "tag too long", src: meta("  tags: [" + strings.Repeat("a", 64) + "]\n"), want: []string{"metadata.tags[0]: tag"}},
		{name: "links", src: meta("  links: [{url: 'https://x.io', title: X, icon: dashboard, type: admin}, {url: 'mailto:a@b.c'}, {url: 'https:x.io'}]\n")},
		{name: "bad links", src: meta("  links: [{title: X}, {url: ''}, {url: /relative}, {url: 'https://'}, {url: 'https://x', title: '', icon: 'a b'}, x]\n"),
			want: []string{"metadata.links[0].url: required field is missing", `metadata.links[1].url: "" is not a valid absolute URL`, `metadata.links[2].url: "/relative" is not a valid absolute URL`,
				`metadata.links[3].url: "https://" is not a valid absolute URL`, "metadata.links[4].title: must not be empty", `metadata.links[4].icon: icon "a b" is not valid`, "metadata.links[5]: must be an object"}},
		{name: "keys differing in case", src: "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: x}\nspec: {owner: o, Owner: p}\n",
			want: []string{`spec.owner: key differs from "spec.Owner" only in case`}},
		{name: "keys differing in case across list items", src: "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: x}\nspec: {owner: o, ports: [{name: a}, {Name: b}]}\n",
			want: []string{`spec.ports.name: key differs from "spec.ports.Name" only in case`}},
		{name: "dotted key against nested key", src: "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: x}\nspec: {owner: o, a.b: 1, a: {B: 2}}\n",
			want: []string{`spec.a.b: key differs from "spec.a.B" only in case`}},
		{name: "same key in list items is fine", src: "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: x}\nspec: {owner: o, ports: [{name: a}, {name: b}], tags: [A, a]}\n"},
		{name: "metadata.Name collides with name", src: "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: x, Name: y}\nspec: {owner: o}\n",
			want: []string{`metadata.name: key differs from "metadata.Name" only in case`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := validateYAML(t, c.src, c.policy)
			var gotText []string
			for _, fe := range got {
				gotText = append(gotText, fe.Error())
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(c.want), strings.Join(gotText, "\n"))
			}
			for _, w := range c.want {
				found := false
				for _, g := range gotText {
					found = found || strings.Contains(g, w)
				}
				if !found {
					t.Errorf("no problem contains %q in:\n%s", w, strings.Join(gotText, "\n"))
				}
			}
		})
	}
}

func TestFieldFormats(t *testing.T) {
	cases := []struct {
		name  string
		check func(string) bool
		ok    []string
		bad   []string
	}{
		{"object name", validObjectName,
			[]string{"a", "A", "my-svc", "a_b.c-d", "x1", strings.Repeat("a", 63)},
			[]string{"", "-a", "a-", "a b", "a/b", "ä", strings.Repeat("a", 64), "_a", "a."}},
		{"dns label", validDNSLabel,
			[]string{"default", "a-b", "a1", "1"},
			[]string{"", "A", "a--b", "-a", "a-", "a_b", "a.b", strings.Repeat("a", 64)}},
		{"apiVersion", validAPIVersion,
			[]string{"backstage.io/v1alpha1", "v1", "my-company.net/v1", "a/B2"},
			[]string{"", "a/b/c", "/v1", "x/", "Backstage.io/v1", "a..b/v1", "a/v-1", "a/v.1"}},
		{"kind", validKind,
			[]string{"Component", "API", "x", "AiResource2"},
			[]string{"", "1x", "a-b", "a_b", strings.Repeat("K", 64)}},
		{"key", validKey,
			[]string{"backstage.io/techdocs-ref", "plain", "a.b.c/x_y", "github.com/project-slug"},
			[]string{"", "a/b/c", "A.io/x", "x/", "/x", "a b", "a..b/x"}},
		{"tag", validTag,
			[]string{"java", "c++", "c#", "k8s:prod", "a-b-c", "1"},
			[]string{"", "Java", "a_b", "a.b", "a--b", "-a", "a-", strings.Repeat("a", 64)}},
		{"url", validURL,
			[]string{"https://example.com/x", "http://localhost:8080", "mailto:a@b.c", "slack://channel", "https:example.com", "file:///tmp/x"},
			[]string{"", "/relative", "example.com", "https://", "http:", "::"}},
	}
	for _, c := range cases {
		for _, s := range c.ok {
			if !c.check(s) {
				t.Errorf("%s: %q rejected", c.name, s)
			}
		}
		for _, s := range c.bad {
			if c.check(s) {
				t.Errorf("%s: %q accepted", c.name, s)
			}
		}
	}
}
