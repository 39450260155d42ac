package catalog

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/store"
)

// testModel declares a Service kind (acme.com/v1) whose spec must have a
// tier and may name an owner (a Group by default), a runbook document and
// dependencies (refs naming their kind); and a schema for API specs of type
// grpc (a definition and a package name).
func testModel(t testing.TB) *Model {
	t.Helper()
	m, probs := NewModel([]KindDecl{{
		Kind:        "Service",
		APIVersions: []string{"acme.com/v1", "acme.com/v2"},
		Spec: map[string]any{
			"type":     "object",
			"required": []any{"tier", "owner"},
			"properties": map[string]any{
				"tier":  map[string]any{"enum": []any{"gold", "silver"}},
				"owner": map[string]any{"type": "string"},
				"ports": map[string]any{"type": "array", "items": map[string]any{
					"type": "object", "required": []any{"number"},
					"properties": map[string]any{"number": map[string]any{"type": "integer", "maximum": 65535}},
				}},
			},
		},
		Relations: []RelationDecl{
			{Field: "spec.owner", DefaultKind: "Group", Type: RelOwnedBy, Reverse: RelOwnerOf},
			{Field: "spec.runbook", DefaultKind: "Doc", Type: "documentedBy", Reverse: "documents"},
			{Field: "spec.dependsOn", Type: RelDependsOn, Reverse: RelDependencyOf},
		},
	}}, []TypeDecl{{Kind: "API", Type: "grpc", Spec: map[string]any{
		"required":   []any{"definition", "package"},
		"properties": map[string]any{"package": map[string]any{"type": "string", "pattern": "^[a-z.]+$"}},
	}}})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	return m
}

const service = `apiVersion: acme.com/v1
kind: Service
metadata:
  name: checkout
  namespace: shop
spec:
  tier: gold
  owner: payments
  runbook: checkout-runbook
  dependsOn: [resource:default/db, service:cart]
  ports:
    - number: 8080
`

func TestModelValidatesCustomKind(t *testing.T) {
	m := testModel(t)
	p := Policy{Model: m}
	cases := []struct {
		name string
		src  string
		want []string // "line path: message" of every problem; none: valid
	}{
		{"valid", service, nil},
		{"second apiVersion", strings.Replace(service, "acme.com/v1", "acme.com/v2", 1), nil},
		{"wrong apiVersion", strings.Replace(service, "acme.com/v1", "acme.com/v3", 1),
			[]string{`1 apiVersion: "acme.com/v3" is not a valid apiVersion for kind Service (expected acme.com/v1 or acme.com/v2)`}},
		{"enum", strings.Replace(service, "tier: gold", "tier: bronze", 1),
			[]string{"7 spec.tier: value must be one of 'gold', 'silver'"}},
		{"nested field, its own line", strings.Replace(service, "number: 8080", "number: 70000", 1),
			[]string{"12 spec.ports[0].number: maximum: got 70,000, want 65,535"}},
		{"missing required field points at spec", strings.Replace(service, "  tier: gold\n", "", 1),
			[]string{"6 spec.tier: required field is missing"}},
		{"missing spec", "apiVersion: acme.com/v1\nkind: Service\nmetadata: {name: x}\n",
			[]string{"1 spec: required object is missing"}},
		{"ref field of the wrong type", strings.Replace(service, "runbook: checkout-runbook", "runbook: {doc: x}", 1),
			[]string{"9 spec.runbook: must be an entity ref or a list of entity refs, got an object"}},
		{"ref that does not parse", strings.Replace(service, "service:cart", "cart", 1),
			[]string{`10 spec.dependsOn[1]: ` + refProblem(t, "cart", "", "shop")}},
		{"kind in another case", strings.Replace(service, "kind: Service", "kind: service", 1),
			[]string{`2 kind: unknown kind "service"; kinds are case-sensitive, did you mean "Service"?`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			docs, err := ParseWith("s.yaml", []byte(c.src), DefaultLimits(), p)
			if err != nil || len(docs) != 1 {
				t.Fatalf("%v %v", docs, err)
			}
			var got []string
			for _, e := range docs[0].Errors {
				got = append(got, strconv.Itoa(e.Line)+" "+e.Path+": "+e.Message)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			if (docs[0].Entity != nil) != (c.want == nil) {
				t.Errorf("entity %v with errors %v", docs[0].Entity != nil, got)
			}
		})
	}
}

func refProblem(t *testing.T, ref, kind, ns string) string {
	t.Helper()
	_, err := ParseRef(ref, kind, ns)
	if err == nil {
		t.Fatalf("ref %q parses", ref)
	}
	return err.Error()
}

func TestModelUnknownKindNamesCatalogModel(t *testing.T) {
	src := strings.Replace(service, "kind: Service", "kind: Widget", 1)
	for _, p := range []Policy{{}, {Model: testModel(t)}} {
		docs, _ := ParseWith("w.yaml", []byte(src), DefaultLimits(), p)
		msg := docErrors(docs)
		if !strings.Contains(msg, `kind: unknown kind "Widget"`) || !strings.Contains(msg, "catalog.model") {
			t.Errorf("model %v: %s", p.Model != nil, msg)
		}
		if p.Model != nil && !strings.Contains(msg, "declared in catalog.model: Service") {
			t.Errorf("the message does not list the declared kinds: %s", msg)
		}
	}
	// Without the model, the Service kind is unknown too.
	docs, _ := Parse("s.yaml", []byte(service), DefaultLimits())
	if !strings.Contains(docErrors(docs), `unknown kind "Service"`) {
		t.Errorf("a model kind is accepted without the model: %s", docErrors(docs))
	}
	// AllowUnknownKinds still accepts a kind nobody declared.
	docs, _ = ParseWith("w.yaml", []byte(src), DefaultLimits(), Policy{AllowUnknownKinds: true, Model: testModel(t)})
	if docs[0].Entity == nil {
		t.Errorf("AllowUnknownKinds refused: %s", docErrors(docs))
	}
}

func TestModelTypeSchema(t *testing.T) {
	m := testModel(t)
	api := func(typ, extra string) string {
		return withSpec("backstage.io/v1alpha1", "API", "  type: "+typ+"\n  lifecycle: production\n  owner: team\n"+extra)
	}
	cases := []struct {
		name, src string
		want      string // every problem, joined; "" valid
	}{
		{"grpc valid", api("grpc", "  definition: x\n  package: acme.pay\n"), ""},
		{"grpc without package", api("grpc", "  definition: x\n"), "spec.package: required field is missing"},
		{"type compared ignoring case", api("GRPC", "  definition: x\n  package: Acme\n"), "spec.package: "},
		{"kind rules still apply", api("grpc", "  package: acme\n"), "spec.definition: required field is missing"},
		{"other types untouched", api("openapi", "  definition: x\n"), ""},
		{"mcp-server with remotes needs no definition", api("mcp-server", "  remotes: [{type: sse, url: 'https://x'}]\n"), ""},
		{"mcp-server with neither", api("mcp-server", ""), "spec.remotes: required field is missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			docs, err := ParseWith("a.yaml", []byte(c.src), DefaultLimits(), Policy{Model: m})
			if err != nil {
				t.Fatal(err)
			}
			got := docErrors(docs)
			if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	// Without the model, the grpc API without a package is valid.
	if docs, _ := Parse("a.yaml", []byte(api("grpc", "  definition: x\n")), DefaultLimits()); docs[0].Entity == nil {
		t.Errorf("refused without a model: %s", docErrors(docs))
	}
}

func TestModelRelations(t *testing.T) {
	m := testModel(t)
	e := parseOneWith(t, service, Policy{Model: m})
	edges, probs := m.Relations(e)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	var got []string
	for _, ed := range edges {
		got = append(got, ed.Source+" "+ed.Type+" "+ed.Target)
	}
	want := []string{
		"service:shop/checkout ownedBy group:shop/payments", "group:shop/payments ownerOf service:shop/checkout",
		"service:shop/checkout documentedBy doc:shop/checkout-runbook", "doc:shop/checkout-runbook documents service:shop/checkout",
		"service:shop/checkout dependsOn resource:default/db", "resource:default/db dependencyOf service:shop/checkout",
		"service:shop/checkout dependsOn service:shop/cart", "service:shop/cart dependencyOf service:shop/checkout",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The built-in Relations knows nothing of the model's kinds.
	if edges, _ := Relations(e); len(edges) != 0 {
		t.Errorf("Relations without the model: %v", edges)
	}
	// Row stores the relations, which relations.<type> filters read, and
	// no search row of them (store.StoredSearchKey).
	row, err := m.Row(e)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range row.Relations {
		found = found || r == store.Relation{Source: "service:shop/checkout", Type: "ownedBy", Target: "group:shop/payments"}
	}
	for _, s := range row.Search {
		found = found && !strings.HasPrefix(s.Key, "relations.")
	}
	if !found || len(row.Relations) != len(want) {
		t.Errorf("row search %v relations %v", row.Search, row.Relations)
	}
	// Built-in kinds keep their relations under a model.
	c := parseOneWith(t, component, Policy{Model: m})
	a, _ := m.Relations(c)
	b, _ := Relations(c)
	if len(a) == 0 || !slices.Equal(a, b) {
		t.Errorf("built-in relations differ under a model: %v vs %v", a, b)
	}
}

func parseOneWith(t testing.TB, src string, p Policy) Entity {
	t.Helper()
	docs, err := ParseWith("t.yaml", []byte(src), DefaultLimits(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || docs[0].Entity == nil {
		t.Fatalf("want one valid entity, got %s", docErrors(docs))
	}
	return docs[0].Entity
}

func TestNewModelErrors(t *testing.T) {
	ok := func(k KindDecl) KindDecl {
		if k.Kind == "" {
			k.Kind = "Widget"
		}
		if k.APIVersions == nil {
			k.APIVersions = []string{"acme.com/v1"}
		}
		return k
	}
	cases := []struct {
		name  string
		kinds []KindDecl
		types []TypeDecl
		want  string
	}{
		{"clash with a built-in kind", []KindDecl{ok(KindDecl{Kind: "Component"})}, nil,
			`kinds[0].kind: "Component" is the built-in kind Component; a model may add kinds, not redefine built-in ones`},
		{"clash with a built-in kind in another case", []KindDecl{ok(KindDecl{Kind: "api"})}, nil,
			`kinds[0].kind: "api" is the built-in kind API`},
		{"two kinds differing in case", []KindDecl{ok(KindDecl{}), ok(KindDecl{Kind: "WIDGET"})}, nil,
			`kinds[1].kind: "WIDGET" is also declared by kinds[0]`},
		{"bad kind name", []KindDecl{ok(KindDecl{Kind: "my-kind"})}, nil, `kinds[0].kind: "my-kind" is not a valid kind`},
		{"no apiVersions", []KindDecl{{Kind: "Widget"}}, nil, "kinds[0].apiVersions: kind Widget needs at least one apiVersion"},
		{"bad apiVersion", []KindDecl{ok(KindDecl{APIVersions: []string{"acme.com/v1/x"}})}, nil, `kinds[0].apiVersions[0]: "acme.com/v1/x" is not valid`},
		{"bad schema names the kind", []KindDecl{ok(KindDecl{Spec: map[string]any{"type": "objekt"}})}, nil,
			"kinds[0].spec: the spec schema of kind Widget is not a valid JSON Schema"},
		{"schema with a remote ref", []KindDecl{ok(KindDecl{Spec: map[string]any{"$ref": "https://example.com/s.json"}})}, nil,
			"only references inside the schema are allowed"},
		{"bad relation name", []KindDecl{ok(KindDecl{Relations: []RelationDecl{{Field: "spec.owner", Type: "owned-by", Reverse: "ownerOf"}}})}, nil,
			`kinds[0].relations[0].type: "owned-by" is not a valid relation type`},
		{"a reverse that owns another entity", []KindDecl{ok(KindDecl{Relations: []RelationDecl{{Field: "spec.owns", Type: "ownerOf", Reverse: "ownedBy"}}})}, nil,
			`kinds[0].relations[0].reverse: ownedBy may not be a reverse`},
		{"a reverse that puts a user in a group", []KindDecl{ok(KindDecl{Relations: []RelationDecl{{Field: "spec.members", Type: "hasMember", Reverse: "memberOf"}}})}, nil,
			`kinds[0].relations[0].reverse: memberOf may not be a reverse`},
		{"a built-in relation in another case", []KindDecl{ok(KindDecl{Relations: []RelationDecl{{Field: "spec.owns", Type: "ownerof", Reverse: "ownedby"}}})}, nil,
			`kinds[0].relations[0].type: "ownerof" is the built-in relation ownerOf in another case`},
		{"missing reverse", []KindDecl{ok(KindDecl{Relations: []RelationDecl{{Field: "spec.x", Type: "uses"}}})}, nil,
			"kinds[0].relations[0].reverse: required field is missing"},
		{"built-in relation with another reverse", []KindDecl{ok(KindDecl{Relations: []RelationDecl{{Field: "spec.owner", Type: "ownedBy", Reverse: "hasPart"}}})}, nil,
			`kinds[0].relations[0].reverse: "hasPart" does not pair with the built-in relation ownedBy, whose reverse is ownerOf`},
		{"field not in spec", []KindDecl{ok(KindDecl{Relations: []RelationDecl{{Field: "metadata.owner", Type: "a", Reverse: "b"}}})}, nil,
			`kinds[0].relations[0].field: "metadata.owner" is not a top-level spec field`},
		{"bad default kind", []KindDecl{ok(KindDecl{Relations: []RelationDecl{{Field: "spec.x", DefaultKind: "9x", Type: "a", Reverse: "b"}}})}, nil,
			`kinds[0].relations[0].defaultKind: "9x" is not a valid kind`},
		{"type of an unknown kind", nil, []TypeDecl{{Kind: "Gadget", Type: "x", Spec: map[string]any{}}},
			`types[0].kind: unknown kind "Gadget"`},
		{"type schema missing", nil, []TypeDecl{{Kind: "API", Type: "grpc"}}, "types[0].spec: required field is missing"},
		{"bad type schema", nil, []TypeDecl{{Kind: "API", Type: "grpc", Spec: map[string]any{"required": "definition"}}},
			"types[0].spec: the schema of kind API type grpc is not a valid JSON Schema"},
		{"two schemas for one type", nil, []TypeDecl{{Kind: "API", Type: "grpc", Spec: map[string]any{}}, {Kind: "API", Type: "GRPC", Spec: map[string]any{}}},
			"types[1].type: kind API type GRPC has a schema already"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, probs := NewModel(c.kinds, c.types)
			var msgs []string
			for _, p := range probs {
				msgs = append(msgs, p.Error())
			}
			got := strings.Join(msgs, "\n")
			if m != nil || !strings.Contains(got, c.want) {
				t.Errorf("got model %v, problems\n%s\nwant %q", m != nil, got, c.want)
			}
		})
	}
	// A type schema may name a kind the model declares, and a type any
	// text.
	if _, probs := NewModel([]KindDecl{ok(KindDecl{})}, []TypeDecl{{Kind: "Widget", Type: "x", Spec: map[string]any{}}, {Kind: "API", Type: "my type/#1", Spec: map[string]any{}}}); len(probs) > 0 {
		t.Error(probs)
	}
}

// BenchmarkValidateModelKind validates one entity of a catalog.model kind
// (schema, ref fields); compare BenchmarkValidate (a built-in Component).
func BenchmarkValidateModelKind(b *testing.B) {
	m := testModel(b)
	e := parseOneWith(b, service, Policy{Model: m})
	p := Policy{Model: m}
	b.ReportAllocs()
	for b.Loop() {
		if probs := ValidateWith(e, p); len(probs) > 0 {
			b.Fatal(probs)
		}
	}
}
