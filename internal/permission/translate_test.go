package permission

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/pgtest"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/postgres"
	"github.com/riggerdev/rigger/internal/store/sqlite"
)

var pg pgtest.Shared

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(pg.Main(m, "permission"))
}

// fixture entities: sensitive ones (and a "TRUE" spelled one), nested
// namespaces, tags, labels, a user-owned resource, templates.
var fixture = []string{
	`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"svc-a","tags":["go","api"]},"spec":{"type":"service","lifecycle":"production","owner":"team-a"}}`,
	`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"svc-b","tags":["js"],"annotations":{"rigger.dev/sensitive":"true"}},"spec":{"type":"website","lifecycle":"experimental","owner":"team-b"}}`,
	`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"svc-c","namespace":"payments","annotations":{"rigger.dev/sensitive":"true"}},"spec":{"type":"service","lifecycle":"production","owner":"group:default/team-a"}}`,
	`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"svc-d","annotations":{"rigger.dev/sensitive":"false"},"labels":{"tier":"gold"}},"spec":{"type":"Service","lifecycle":"Production","owner":"team-b","system":"sys-1"}}`,
	`{"apiVersion":"backstage.io/v1alpha1","kind":"Resource","metadata":{"name":"db-x","annotations":{"Rigger.dev/Sensitive":"TRUE"}},"spec":{"type":"database","owner":"user:alice"}}`,
	`{"apiVersion":"backstage.io/v1alpha1","kind":"API","metadata":{"name":"api-e","namespace":"ops","labels":{"tier":"silver"},"annotations":{"rigger.dev/sensitive":"true"}},"spec":{"type":"openapi","lifecycle":"production","owner":"team-c","definition":"x"}}`,
	`{"apiVersion":"backstage.io/v1alpha1","kind":"System","metadata":{"name":"sys-1"},"spec":{"owner":"team-b"}}`,
	`{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"deploy","tags":["privileged"]},"spec":{"type":"service","owner":"platform-admins","steps":[]}}`,
	`{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"hello"},"spec":{"type":"service","owner":"team-a","steps":[]}}`,
	`{"apiVersion":"backstage.io/v1alpha1","kind":"Group","metadata":{"name":"team-a"},"spec":{"type":"team","children":[],"parent":"platform-team"}}`,
	`{"apiVersion":"backstage.io/v1alpha1","kind":"User","metadata":{"name":"alice"},"spec":{"memberOf":["team-a"]}}`,
	`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"svc-f","annotations":{"rigger.dev/sensitive":"true"},"tags":["go"]},"spec":{"type":"library","lifecycle":"production","owner":"platform-team"}}`,
	// spec.owner where the catalog emits no ownedBy relation (a custom kind,
	// a Group): no owner for the policy either, as for the SQL filter.
	`{"apiVersion":"acme.example.com/v1","kind":"Secret","metadata":{"name":"s1","annotations":{"rigger.dev/sensitive":"true"}},"spec":{"owner":"team-a"}}`,
	`{"apiVersion":"backstage.io/v1alpha1","kind":"Group","metadata":{"name":"security"},"spec":{"type":"team","children":[],"owner":"team-b"}}`,
}

// principals: team members, a member of a nested group (carol is in
// sub-team, under platform-team: Ent holds both), the guest, services.
var principals = []Principal{
	{Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-a"}},
	{Ref: "user:default/bob", Ent: []string{"user:default/bob", "group:default/team-b"}},
	{Ref: "user:default/carol", Ent: []string{"user:default/carol", "group:default/sub-team", "group:default/platform-team"}},
	{Ref: "user:default/dave", Ent: []string{"user:default/dave", "group:ops/team-c", "group:default/platform-admins"}},
	{Ref: "user:default/nobody"},
	{Ref: "user:default/guest", Ent: []string{"user:default/guest"}, Guest: true},
	{Ref: "service:ci", Service: true, Scopes: []string{"catalog.read"}},
	{Ref: "service:x", Service: true, Scopes: []string{"x"}},
	{Ref: "service:none", Service: true},
	{Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-a"}, Channel: ChannelMCP},
	{Ref: "service:ci", Service: true, Scopes: []string{"catalog.read"}, Channel: ChannelMCP},
}

// byChannel forbids agents (context.channel == "mcp") what the REST API
// allows: a translatable condition that does not read the resource.
const byChannel = `
permit (principal, action, resource is Rigger::Entity);
@id("no-systems-to-agents")
forbid (principal, action, resource is Rigger::Entity)
when { context.channel == "mcp" && resource.kind == "system" };
`

// rich exercises every translatable form, errors included: the forbid's
// annotation read fails where the annotation is missing, so it does not
// apply there.
const rich = `
permit (principal, action == Rigger::Action::"catalog.entity.read", resource is Rigger::Entity)
when { resource.kind == "component" && resource.namespace != "payments" && !(resource.tags.contains("js")) };
permit (principal is Rigger::User, action == Rigger::Action::"catalog.entity.read", resource)
when { resource.labels has "tier" && resource.labels["tier"] == "gold" };
permit (principal, action, resource)
when { resource.type == "" && (resource.kind == "system" || resource.system != "") };
permit (principal in Rigger::Group::"group:default/team-b", action == Rigger::Action::"catalog.entity.read", resource)
when { resource.lifecycle == "production" || resource.ref == "template:default/hello" || resource.name == "db-x" };
forbid (principal, action, resource)
when { resource.annotations["rigger.dev/sensitive"] == "true" }
unless { principal.ent.contains(resource.owner) };
permit (principal, action, resource == Rigger::Entity::"user:default/alice");
permit (principal, action, resource in Rigger::Entity::"api:ops/api-e") when { principal is Rigger::User };
permit (principal is Rigger::Service, action, resource)
when { principal.scopes.contains("x") && (resource.owner == "group:default/team-b" || ["group:default/team-a"].contains(resource.owner)) };
permit (principal, action == Rigger::Action::"catalog.entity.read", resource)
when { resource.labels["tier"] == "silver" || resource.annotations["rigger.dev/sensitive"] == "false" };
permit (principal, action, resource) when { resource.kind == "Component" };
permit (principal is Rigger::Guest, action == Rigger::Action::"catalog.entity.delete", resource)
unless { resource.labels["tier"] == "gold" };
permit (principal is Rigger::Guest, action, resource) when { resource has owner && resource.tags.contains("go") && !(resource.annotations has "Rigger.dev/sensitive") };
`

// untranslatable holds conditions EntityFilter cannot express: the filter
// must then show a subset of what Authorize allows, never more.
const untranslatable = `
permit (principal, action, resource is Rigger::Entity) when { resource.name like "svc-*" };
forbid (principal, action, resource) when { resource.name like "*-b" };
permit (principal, action, resource) when { if resource.kind == "group" then true else resource.owner like "*team-a" };
`

// rowOf builds a store row the way the catalog's refresh does.
func rowOf(t testing.TB, body string) store.Entity {
	t.Helper()
	var e catalog.Entity
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatal(err)
	}
	e.Normalize()
	if _, problems := catalog.Relations(e); len(problems) > 0 {
		t.Fatalf("%s: %v", body, problems)
	}
	row, err := catalog.Row(e)
	if err != nil {
		t.Fatal(err)
	}
	return row
}

func seedStore(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	loc, err := st.AddLocation(ctx, store.Location{Type: "file", Target: "/fixture.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]store.Entity, len(fixture))
	for i, b := range fixture {
		rows[i] = rowOf(t, b)
	}
	if _, err := st.ReplaceLocation(ctx, loc.ID, rows, store.ReplaceOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestEntityFilterMatchesAuthorizeSQLite(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	seedStore(t, st)
	checkFilter(t, st)
}

func TestEntityFilterMatchesAuthorizePostgres(t *testing.T) {
	st, err := postgres.Open(t.Context(), pg.DB(t, "permission"), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	seedStore(t, st)
	checkFilter(t, st)
}

// checkFilter: for every policy set, principal and action, an entity is in
// Query(Access = EntityFilter) iff Authorize allows it (a subset where the
// policy holds untranslatable conditions), totalItems counts exactly those,
// and facets count only them.
func checkFilter(t *testing.T, st store.Store) {
	ctx := context.Background()
	all, err := st.Query(ctx, store.Query{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Entities) != len(fixture) {
		t.Fatalf("stored %d entities, want %d", len(all.Entities), len(fixture))
	}
	def, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	sets := []struct {
		name  string
		p     *Policy
		exact bool
	}{
		{"default", def, true},
		{"default with admins", def.WithAdmins([]string{"group:default/team-b"}), true},
		{"rich", mustParse(t, rich), true},
		{"untranslatable", mustParse(t, untranslatable), false},
		{"by channel", mustParse(t, byChannel), true},
	}
	for _, set := range sets {
		if set.exact && len(set.p.Warnings()) > 0 {
			t.Errorf("%s: unexpected warnings %q", set.name, set.p.Warnings())
		}
		if !set.exact && len(set.p.Warnings()) == 0 {
			t.Errorf("%s: no warning for untranslatable conditions", set.name)
		}
		sawAllowed, sawDenied := false, false
		for _, pr := range principals {
			for _, action := range []string{EntityRead, EntityDelete, TemplateExecute} {
				want := map[string]bool{}
				kinds := map[string]int{}
				for _, e := range all.Entities {
					res, err := StoredResource(e)
					if err != nil {
						t.Fatal(err)
					}
					if set.p.Authorize(pr, action, res).Allowed {
						want[e.Ref] = true
						var k struct{ Kind string }
						_ = json.Unmarshal(e.Body, &k)
						kinds[k.Kind]++
						sawAllowed = true
					} else {
						sawDenied = true
					}
				}
				access, err := set.p.EntityFilter(pr, action)
				if err != nil {
					t.Fatal(err)
				}
				page, err := st.Query(ctx, store.Query{Access: access, Limit: 1000})
				if err != nil {
					t.Fatalf("%s %s %s: %v", set.name, pr.Ref, action, err)
				}
				got := map[string]bool{}
				for _, e := range page.Entities {
					got[e.Ref] = true
				}
				what := fmt.Sprintf("%s: %s %s", set.name, pr.Ref, action)
				for ref := range got {
					if !want[ref] {
						t.Errorf("%s: filter shows %s, which Authorize denies", what, ref)
					}
				}
				if set.exact {
					for ref := range want {
						if !got[ref] {
							t.Errorf("%s: filter hides %s, which Authorize allows", what, ref)
						}
					}
				}
				if page.TotalItems != len(got) {
					t.Errorf("%s: totalItems %d, rows %d", what, page.TotalItems, len(got))
				}
				// HiddenRefs (relation pruning) decides as the list does:
				// it names exactly the stored entities the list leaves
				// out; a ref of no entity is absent, whatever it holds.
				refs := []string{"component:default/no-such-entity", `x:y/"a,b{c}\' d`}
				for _, e := range all.Entities {
					refs = append(refs, e.Ref)
				}
				hidden, err := st.HiddenRefs(ctx, refs, access)
				if err != nil {
					t.Fatal(err)
				}
				if hidden["component:default/no-such-entity"] || hidden[`x:y/"a,b{c}\' d`] {
					t.Errorf("%s: HiddenRefs names a ref of no entity", what)
				}
				for _, e := range all.Entities {
					if hidden[e.Ref] == got[e.Ref] {
						t.Errorf("%s: HiddenRefs says %s is hidden: %v, the list shows it: %v", what, e.Ref, hidden[e.Ref], got[e.Ref])
					}
				}
				if len(hidden)+len(got) != len(all.Entities) {
					t.Errorf("%s: HiddenRefs names %d refs, the list shows %d of %d", what, len(hidden), len(got), len(all.Entities))
				}
				// HiddenSet (what the service caches per predicate) names
				// the same entities, found from the other side.
				_, cached, whole, err := st.HiddenSet(ctx, access, len(all.Entities))
				if err != nil {
					t.Fatal(err)
				}
				if !whole || fmt.Sprint(cached) != fmt.Sprint(hidden) {
					t.Errorf("%s: HiddenSet names %v (whole: %v), HiddenRefs %v", what, cached, whole, hidden)
				}
				if !set.exact {
					continue
				}
				facets, err := st.FacetsAccess(ctx, nil, access, []string{"kind"})
				if err != nil {
					t.Fatal(err)
				}
				gotKinds := map[string]int{}
				for _, fc := range facets["kind"] {
					gotKinds[fc.Value] = fc.Count
				}
				if fmt.Sprint(gotKinds) != fmt.Sprint(kinds) {
					t.Errorf("%s: kind facets %v, readable %v", what, gotKinds, kinds)
				}
			}
		}
		if !sawAllowed || !sawDenied {
			t.Errorf("%s: the fixture must have allowed and denied entities (allowed %v, denied %v)", set.name, sawAllowed, sawDenied)
		}
	}
}

func mustParse(t *testing.T, text string) *Policy {
	t.Helper()
	p, err := Parse("test.cedar", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDefaultPolicyDecisions spells out the default policy's promises.
func TestDefaultPolicyDecisions(t *testing.T) {
	p, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	res := func(i int) Resource {
		r, err := EntityResource([]byte(fixture[i]))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	alice, bob, carol, dave, guest, ci := principals[0], principals[1], principals[2], principals[3], principals[5], principals[6]
	cases := []struct {
		pr     Principal
		action string
		res    Resource
		want   bool
	}{
		{alice, EntityRead, res(0), true},
		{alice, EntityRead, res(1), false}, // team-b's sensitive entity
		{bob, EntityRead, res(1), true},    // its owner
		{carol, EntityRead, res(1), true},  // platform-team, through a nested group
		{alice, EntityRead, res(4), true},  // owned by alice herself, "TRUE"
		{bob, EntityRead, res(4), false},
		{guest, EntityRead, res(0), true},
		{guest, EntityRead, res(1), false},
		{guest, TemplateExecute, res(8), false},
		{alice, TemplateExecute, res(8), true},
		{alice, TemplateExecute, res(7), false}, // privileged
		{dave, TemplateExecute, res(7), true},   // platform-admins
		{ci, EntityRead, res(1), true},
		{ci, EntityDelete, res(0), false},
		{alice, TaskRead, TaskResource("t1", "user:default/alice", "template:default/hello", "group:default/team-a"), true},
		{bob, TaskRead, TaskResource("t1", "user:default/alice", "template:default/hello", "group:default/team-a"), false},
		{dave, TaskRead, TaskResource("t1", "user:default/alice", "template:default/hello", "group:default/team-a"), true},
		{bob, TaskCancel, TaskResource("t1", "user:default/alice", "template:default/hello", "group:default/team-a"), false},
		{alice, AuditReadAction, SystemResource("audit"), false},
		{alice, PayloadDecode, SystemResource("temporal"), false},
		{dave, PayloadDecode, SystemResource("temporal"), false},
		{alice, DocsPublish, res(0), true}, // team-a's own entity
		{bob, DocsPublish, res(0), false},  // another team's
		{guest, DocsPublish, res(0), false},
		{ci, DocsPublish, res(0), false}, // catalog.read only
		// No agent's run skips the approval by default.
		{alice, TaskRunUnattended, res(0), false},
		{dave, TaskRunUnattended, res(0), false},
	}
	for _, c := range cases {
		if d := p.Authorize(c.pr, c.action, c.res); d.Allowed != c.want {
			t.Errorf("%s %s %s: %+v, want allowed=%v", c.pr, c.action, c.res, d, c.want)
		}
	}
	if !slices.Contains(Actions(), PayloadDecode) || strings.Count(strings.Join(Actions(), ","), ",") != 22 {
		t.Errorf("actions: %v", Actions())
	}
}

// TestPrincipalCacheKey: the translated filters are cached by
// Principal.cacheKey, so two principals a translation could tell apart
// must never share a key (a shared key would hand one the other's
// filter), and the same principal must find its entry whatever the order
// of its lists.
func TestPrincipalCacheKey(t *testing.T) {
	base := Principal{Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/a"}, Scopes: []string{"catalog.read"}}
	variants := map[string]Principal{
		"base":               base,
		"other ref":          {Ref: "user:default/bob", Ent: base.Ent, Scopes: base.Scopes},
		"one group less":     {Ref: base.Ref, Ent: base.Ent[:1], Scopes: base.Scopes},
		"groups joined":      {Ref: base.Ref, Ent: []string{"user:default/alice group:default/a"}, Scopes: base.Scopes},
		"group as scope":     {Ref: base.Ref, Ent: base.Ent[:1], Scopes: []string{"group:default/a", "catalog.read"}},
		"no scopes":          {Ref: base.Ref, Ent: base.Ent},
		"empty scope":        {Ref: base.Ref, Ent: base.Ent, Scopes: []string{""}},
		"service":            {Ref: base.Ref, Ent: base.Ent, Scopes: base.Scopes, Service: true},
		"alice as guest":     {Ref: base.Ref, Ent: base.Ent, Scopes: base.Scopes, Guest: true},
		"mcp":                {Ref: base.Ref, Ent: base.Ent, Scopes: base.Scopes, Channel: ChannelMCP},
		"quote in ref":       {Ref: `user:default/alice" 2 "x`, Ent: base.Ent, Scopes: base.Scopes},
		"separator in group": {Ref: base.Ref, Ent: []string{"user:default/alice\x00group:default/a"}, Scopes: base.Scopes},
		// Cedar reads a service's ref as it is: case tells two apart.
		"service bot":       {Ref: "service:external/bot", Service: true, Scopes: base.Scopes},
		"service Bot":       {Ref: "service:external/Bot", Service: true, Scopes: base.Scopes},
		"guest":             {Ref: "user:default/guest", Guest: true},
		"guest, other case": {Ref: "user:default/Guest", Guest: true},
	}
	seen := map[string]string{}
	for name, pr := range variants {
		key := pr.cacheKey(EntityRead)
		if other, ok := seen[key]; ok {
			t.Errorf("%s and %s share the cache key %q", name, other, key)
		}
		seen[key] = name
		if pr.cacheKey(EntityDelete) == key {
			t.Errorf("%s: the same key for two actions", name)
		}
	}
	same := []Principal{
		{Ref: "User:Default/Alice", Ent: []string{"group:default/a", "user:default/alice"}, Scopes: base.Scopes},
		{Ref: base.Ref, Ent: base.Ent, Scopes: base.Scopes, Channel: ChannelAPI},
	}
	for _, pr := range same {
		if got, want := pr.cacheKey(EntityRead), base.cacheKey(EntityRead); got != want {
			t.Errorf("%+v: key %q, want base's %q", pr, got, want)
		}
	}
}
