package catalog

import (
	"strings"
	"testing"
)

func TestRules(t *testing.T) {
	ent := func(kind, specType string) Entity {
		return Entity{"kind": kind, "metadata": map[string]any{"name": "x"}, "spec": map[string]any{"type": specType}}
	}
	registered := Source{Type: "url", Target: "https://github.com/org/repo/blob/main/catalog-info.yaml"}
	static := Source{Type: "file", Target: "/etc/rigger/org.yaml", Static: true}
	strict := Rules{Global: []Rule{
		{Allow: []string{"Component"}, Locations: []RuleLocation{{Type: "file", Pattern: "/repo/*.yaml"}}},
		{AllowTypes: []KindType{{Kind: "resource", SpecType: "Database"}}},
		{Allow: []string{"Template"}, Locations: []RuleLocation{{Type: "url", Pattern: "https://github.com/org/**/template.yaml"}}},
		{Allow: []string{"API"}, Locations: []RuleLocation{{Type: "url", Target: "https://x/api.yaml"}}},
		{Allow: []string{"System"}, Locations: []RuleLocation{}},
	}}
	cases := []struct {
		name  string
		rules Rules
		e     Entity
		src   Source
		extra []Rule
		want  string // "" allowed, else a fragment of the error
	}{
		{"default: component anywhere", DefaultRules(), ent("Component", ""), registered, nil, ""},
		{"default: kind case-insensitive", DefaultRules(), ent("component", ""), registered, nil, ""},
		{"default: user from registered", DefaultRules(), ent("User", ""), registered, nil, "kind User is not allowed from registered locations; only locations in rigger.yaml"},
		{"default: group from static", DefaultRules(), ent("Group", ""), static, nil, ""},
		{"default: template from static", DefaultRules(), ent("Template", ""), static, nil, ""},
		{"default: custom kind", DefaultRules(), ent("Widget", ""), static, nil, "kind Widget is not allowed from file location /etc/rigger/org.yaml by catalog.rules"},
		{"location's own rules", DefaultRules(), ent("Widget", ""), static, []Rule{{Allow: []string{"widget"}}}, ""},
		{"pattern match", strict, ent("Component", ""), Source{Type: "file", Target: "/repo/a.yaml"}, nil, ""},
		{"pattern ignores case", strict, ent("Component", ""), Source{Type: "file", Target: "/REPO/A.YAML"}, nil, ""},
		{"pattern star stays in a segment", strict, ent("Component", ""), Source{Type: "file", Target: "/repo/sub/a.yaml"}, nil, "not allowed"},
		{"pattern type must match", strict, ent("Component", ""), Source{Type: "url", Target: "/repo/a.yaml"}, nil, "not allowed"},
		{"double star spans segments", strict, ent("Template", ""), Source{Type: "url", Target: "https://github.com/org/a/blob/main/template.yaml"}, nil, ""},
		{"double star wrong file", strict, ent("Template", ""), Source{Type: "url", Target: "https://github.com/org/a/blob/main/other.yaml"}, nil, "not allowed"},
		{"exact target", strict, ent("API", ""), Source{Type: "url", Target: "https://x/api.yaml"}, nil, ""},
		{"exact target mismatch", strict, ent("API", ""), Source{Type: "url", Target: "https://x/api2.yaml"}, nil, "not allowed"},
		{"spec.type", strict, ent("Resource", "database"), registered, nil, ""},
		{"spec.type mismatch", strict, ent("Resource", "s3-bucket"), registered, nil, "not allowed"},
		{"empty location list matches none", strict, ent("System", ""), registered, nil, "not allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.rules.Allowed(c.e, c.src, c.extra)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestRulesValidate(t *testing.T) {
	cases := []struct {
		rules Rules
		want  string
	}{
		{DefaultRules(), ""},
		{Rules{Global: []Rule{{}}}, "catalog rule 0: allows no kind"},
		{Rules{Global: []Rule{{Allow: []string{"A"}, Locations: []RuleLocation{{Type: "url", Target: "x", Pattern: "y"}}}}}, "both target and pattern"},
		{Rules{Global: []Rule{{Allow: []string{"A"}, Locations: []RuleLocation{{Type: "url", Pattern: "[a"}}}}}, `pattern "[a"`},
		{Rules{Global: []Rule{{AllowTypes: []KindType{{SpecType: "x"}}}}}, "an allow entry has no kind"},
	}
	for _, c := range cases {
		err := c.rules.Validate()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: got %v, want %q", c.rules, err, c.want)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		pattern, target string
		want            bool
	}{
		{"/a/*.yaml", "/a/b.yaml", true},
		{"/a/*.yaml", "/a/b/c.yaml", false},
		{"/a/**/*.yaml", "/a/b.yaml", true},
		{"/a/**/*.yaml", "/a/b/c/d.yaml", true},
		{"**", "anything/at/all", true},
		{"/a/**", "/a", true},
		{"/a/?.yaml", "/a/bb.yaml", false},
		{"/a/[bc].yaml", "/a/c.yaml", true},
		{"https://github.com/org/*/blob/*/catalog-info.yaml", "https://github.com/org/repo/blob/main/catalog-info.yaml", true},
		{"https://github.com/org/*/blob/*/catalog-info.yaml", "https://github.com/evil/repo/blob/main/catalog-info.yaml", false},
		{"/a/.hidden", "/a/.HIDDEN", true},
		{"/a/*", "/a/.dot", true},
	}
	for _, c := range cases {
		got, err := globMatch(c.pattern, c.target)
		if err != nil || got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, %v; want %v", c.pattern, c.target, got, err, c.want)
		}
	}
}
