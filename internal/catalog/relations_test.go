package catalog

import (
	"slices"
	"strings"
	"testing"
)

func TestRelations(t *testing.T) {
	const v1 = "backstage.io/v1alpha1"
	cases := []struct {
		name string
		src  string
		// want lists the forward edges "type target"; each must come with
		// its reverse, from the target back to the entity.
		want []string
	}{
		{"component", component, []string{
			"ownedBy group:default/team-a", "providesApi api:default/pay-api", "dependsOn resource:default/db", "partOf system:default/payments"}},
		{"component, every field", withSpec(v1, "Component", "  type: a\n  lifecycle: b\n  owner: user:jdoe\n  subcomponentOf: parent\n  providesApis: [a1]\n  consumesApis: [ops/a2]\n  dependsOn: [component:c1]\n  dependencyOf: [Resource:R1]\n  system: s\n"), []string{
			"ownedBy user:default/jdoe", "partOf component:default/parent", "providesApi api:default/a1", "consumesApi api:ops/a2",
			"dependsOn component:default/c1", "dependencyOf resource:default/r1", "partOf system:default/s"}},
		{"api", withSpec(v1, "API", "  type: openapi\n  lifecycle: b\n  owner: o\n  definition: d\n  system: s\n"), []string{
			"ownedBy group:default/o", "partOf system:default/s"}},
		{"resource", withSpec(v1, "Resource", "  type: db\n  owner: o\n  dependsOn: [resource:r]\n  dependencyOf: [component:c]\n  system: s\n"), []string{
			"ownedBy group:default/o", "dependsOn resource:default/r", "dependencyOf component:default/c", "partOf system:default/s"}},
		{"system", withSpec(v1, "System", "  owner: o\n  domain: d\n"), []string{"ownedBy group:default/o", "partOf domain:default/d"}},
		{"domain", withSpec(v1, "Domain", "  owner: o\n  subdomainOf: d\n"), []string{"ownedBy group:default/o", "partOf domain:default/d"}},
		{"group", withSpec(v1, "Group", "  type: team\n  parent: p\n  children: [c1, c2]\n  members: [u1]\n"), []string{
			"childOf group:default/p", "parentOf group:default/c1", "parentOf group:default/c2", "hasMember user:default/u1"}},
		{"user", withSpec(v1, "User", "  memberOf: [g1, other/g2]\n"), []string{"memberOf group:default/g1", "memberOf group:other/g2"}},
		{"template", withSpec("scaffolder.backstage.io/v1beta3", "Template", "  type: service\n  owner: o\n  steps: []\n"), []string{"ownedBy group:default/o"}},
		{"template without owner", withSpec("scaffolder.backstage.io/v1beta3", "Template", "  type: service\n  steps: []\n"), nil},
		{"location", withSpec(v1, "Location", "  targets: [./a.yaml]\n"), nil},
		{"ai resource skill", withSpec(v1, "AiResource", "  type: skill\n  lifecycle: l\n  owner: o\n  system: s\n  dependsOn: [other]\n"), []string{
			"ownedBy group:default/o", "partOf system:default/s", "dependsOn airesource:default/other"}},
		{"refs default to the entity's namespace", "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: X, namespace: ops}\nspec: {owner: Team, domain: default/d}\n", []string{
			"ownedBy group:ops/team", "partOf domain:default/d"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := parseOne(t, c.src)
			edges, probs := Relations(e)
			if len(probs) > 0 {
				t.Fatal(probs)
			}
			self := e.Ref().String()
			var got []string
			for i := 0; i < len(edges); i += 2 {
				fwd, rev := edges[i], edges[i+1]
				if fwd.Source != self || rev.Target != self || rev.Source != fwd.Target || rev.Type != reverse(fwd.Type) {
					t.Errorf("edge pair %v / %v is not a relation and its reverse", fwd, rev)
				}
				got = append(got, fwd.Type+" "+fwd.Target)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func reverse(typ string) string {
	for _, p := range [][2]string{{RelOwnedBy, RelOwnerOf}, {RelPartOf, RelHasPart}, {RelDependsOn, RelDependencyOf},
		{RelProvidesAPI, RelAPIProvidedBy}, {RelConsumesAPI, RelAPIConsumedBy}, {RelMemberOf, RelHasMember}, {RelChildOf, RelParentOf}} {
		switch typ {
		case p[0]:
			return p[1]
		case p[1]:
			return p[0]
		}
	}
	return ""
}

func TestRelationProblems(t *testing.T) {
	cases := []struct {
		spec, want string
	}{
		{"  type: a\n  lifecycle: b\n  owner: c\n  dependsOn: [db]\n", `spec.dependsOn[0]: entity ref "db" has no kind`},
		{"  type: a\n  lifecycle: b\n  owner: 'group:'\n", `spec.owner: entity ref "group:" is not of the form`},
		{"  type: a\n  lifecycle: b\n  owner: c\n  dependencyOf: [ns/x]\n", `spec.dependencyOf[0]: entity ref "ns/x" has no kind`},
	}
	for _, c := range cases {
		docs, _ := ParseWith("r.yaml", []byte(withSpec("backstage.io/v1alpha1", "Component", c.spec)), DefaultLimits(), Policy{})
		if docs[0].Entity != nil {
			t.Errorf("%q accepted", c.spec)
			continue
		}
		// Relations itself reports the same problem for an unvalidated entity.
		e := Entity(mustValue(t, mustNode(t, withSpec("backstage.io/v1alpha1", "Component", c.spec))).(map[string]any))
		_, probs := Relations(e)
		if len(probs) != 1 || !strings.Contains(probs[0].Error(), c.want) {
			t.Errorf("got %v, want %q", probs, c.want)
		}
		if !strings.Contains(docErrors(docs), c.want) {
			t.Errorf("parse: got %s, want %q", docErrors(docs), c.want)
		}
	}
}

func TestRelationsOf(t *testing.T) {
	edges := []Edge{
		{"component:default/a", RelOwnedBy, "group:default/t"},
		{"group:default/t", RelOwnerOf, "component:default/a"},
		{"group:default/t", RelOwnerOf, "api:default/b"},
		{"group:default/t", RelOwnerOf, "api:default/b"},
		{"group:default/t", RelHasMember, "user:default/u"},
	}
	got := RelationsOf("group:default/t", edges)
	want := []Relation{{RelHasMember, "user:default/u"}, {RelOwnerOf, "api:default/b"}, {RelOwnerOf, "component:default/a"}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestRowHash: a row's hash is the entity's Hash, whose value for a given
// entity never changes (a refresh compares it with the hashes stored by
// earlier releases: a change would rewrite every entity of every location),
// and it follows any change to the entity.
func TestRowHash(t *testing.T) {
	e := parseOne(t, component)
	row, err := Row(e)
	if err != nil {
		t.Fatal(err)
	}
	if row.Hash != e.Hash() {
		t.Errorf("row hash %s, entity hash %s", row.Hash, e.Hash())
	}
	if want := "d218c23457f8e33b68ce12565e49ef85"; row.Hash != want {
		t.Errorf("hash of the component fixture is %s, was %s in earlier releases", row.Hash, want)
	}
	e.Spec()["lifecycle"] = "experimental"
	changed, err := Row(e)
	if err != nil {
		t.Fatal(err)
	}
	if changed.Hash == row.Hash {
		t.Error("the hash did not change with the entity")
	}
}
