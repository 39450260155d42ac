package config

import (
	"os"
	"strings"
	"testing"
)

// modelYAML declares a Service kind and a schema for grpc APIs.
const modelYAML = `catalog:
  rules: [{allow: [Component, API, Service]}]
  model:
    kinds:
      - kind: Service
        apiVersions: [acme.com/v1]
        spec:
          type: object
          required: [owner, tier]
          properties:
            tier: {enum: [gold, silver]}
            port: {type: integer, maximum: 65535}
        relations:
          - field: spec.owner
            defaultKind: Group
            type: ownedBy
            reverse: ownerOf
    types:
      - kind: API
        type: grpc
        spec:
          required: [definition, package]
`

func TestCatalogModelParses(t *testing.T) {
	cfg, err := Parse("rigger.yaml", []byte(modelYAML), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("valid model: %v", err)
	}
	m, probs := cfg.Catalog.Model.Build()
	if len(probs) > 0 || m == nil {
		t.Fatal(probs)
	}
	if got := m.Kinds(); len(got) != 1 || got[0] != "Service" {
		t.Fatalf("kinds %v", got)
	}
	// rigger config check prints it back, and that parses and builds again.
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse("printed", out, nil)
	if err != nil {
		t.Fatalf("printed config does not parse: %v\n%s", err, out)
	}
	if err := again.Validate(); err != nil || len(again.Catalog.Model.Kinds[0].Relations) != 1 {
		t.Fatalf("printed model: %v %+v", err, again.Catalog.Model)
	}
}

func TestCatalogModelErrors(t *testing.T) {
	cases := []struct {
		name     string
		from, to string
		want     string // one line of the error
	}{
		{"clash with a built-in kind", "kind: Service", "kind: Component",
			`rigger.yaml:5: catalog.model.kinds[0].kind: "Component" is the built-in kind Component; a model may add kinds, not redefine built-in ones (use catalog.model.types for a schema per spec.type)`},
		{"bad spec schema names the kind", "type: object", "type: objekt",
			"rigger.yaml:7: catalog.model.kinds[0].spec: the spec schema of kind Service is not a valid JSON Schema: "},
		{"bad relation name", "type: ownedBy", "type: owned by",
			`rigger.yaml:16: catalog.model.kinds[0].relations[0].type: "owned by" is not a valid relation type; expected a lower-case letter then letters and digits, like ownedBy`},
		{"relation field outside spec", "field: spec.owner", "field: owner",
			`rigger.yaml:14: catalog.model.kinds[0].relations[0].field: "owner" is not a top-level spec field; expected spec.<name>, like spec.owner`},
		{"no apiVersions: the kind's line", "        apiVersions: [acme.com/v1]\n", "",
			"rigger.yaml:5: catalog.model.kinds[0].apiVersions: kind Service needs at least one apiVersion, like acme.com/v1"},
		{"type of an unknown kind", "kind: API", "kind: Gadget",
			`rigger.yaml:19: catalog.model.types[0].kind: unknown kind "Gadget" (built-in kinds: API, AiResource, Component, Domain, Group, Location, Resource, System, Template, User; declared in catalog.model: Service)`},
		{"bad type schema", "required: [definition, package]", "required: definition",
			"rigger.yaml:21: catalog.model.types[0].spec: the schema of kind API type grpc is not a valid JSON Schema: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(modelYAML, c.from, c.to, 1)
			if src == modelYAML {
				t.Fatalf("%q is not in the test config", c.from)
			}
			_, err := Parse("rigger.yaml", []byte(src), nil)
			found := false
			for _, p := range Problems(err) {
				found = found || strings.HasPrefix(p.Error(), c.want)
			}
			if !found {
				t.Errorf("got\n%v\nwant a line starting with\n%s", err, c.want)
			}
		})
	}
	// A declared kind that no rule allows is a mistake.
	cfg, err := Parse("rigger.yaml", []byte(strings.Replace(modelYAML, "allow: [Component, API, Service]", "allow: [Component, API]", 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); !hasLine(err, "catalog.model.kinds[0].kind: kind Service is declared but no location may define it: add it to a catalog.rules allow list (or to a location's rules)") {
		t.Errorf("kind no rule allows: %v", err)
	}
	// A configuration built in code is checked by Validate.
	cfg = Default()
	cfg.Catalog.Model.Kinds = []CatalogKind{{Kind: "Group", APIVersions: []string{"v1"}}}
	if err := cfg.Validate(); !hasLine(err, `catalog.model.kinds[0].kind: "Group" is the built-in kind Group; a model may add kinds, not redefine built-in ones (use catalog.model.types for a schema per spec.type)`) {
		t.Errorf("Validate: %v", err)
	}
}

// TestReadmeCatalogModel: the catalog.model example of README.md parses,
// validates and builds.
func TestReadmeCatalogModel(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n### Catalog model\n")
	_, block, ok2 := strings.Cut(section, "```yaml\n")
	block, _, ok3 := strings.Cut(block, "```\n")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no yaml block under ### Catalog model")
	}
	cfg, err := Parse("README.md", []byte(block), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Catalog.Model.Kinds) != 1 || len(cfg.Catalog.Model.Types) != 1 || len(cfg.Catalog.Model.Kinds[0].Relations) != 2 {
		t.Fatalf("model %+v", cfg.Catalog.Model)
	}
	// The error README shows for a clash with a built-in kind.
	_, err = Parse("rigger.yaml", []byte(strings.Replace(block, "kind: Service", "kind: Component", 1)), nil)
	if err == nil || !strings.HasPrefix(err.Error(), `rigger.yaml:7: catalog.model.kinds[0].kind: "Component" is the built-in kind Component; `) {
		t.Errorf("clash: %v", err)
	}
}

// A date in a schema stays a string, as in the catalog files it checks.
func TestCatalogModelSchemaDates(t *testing.T) {
	src := strings.Replace(modelYAML, "port: {type: integer, maximum: 65535}", "since: {const: 2024-01-01}", 1)
	cfg, err := Parse("rigger.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	props := cfg.Catalog.Model.Kinds[0].Spec["properties"].(map[string]any)
	if c := props["since"].(map[string]any)["const"]; c != "2024-01-01" {
		t.Errorf("const decoded as %T %v", c, c)
	}
}
