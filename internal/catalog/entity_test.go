package catalog

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

func TestGetPath(t *testing.T) {
	e := parseOne(t, `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: svc
  annotations:
    backstage.io/techdocs-ref: dir:.
    backstage.io: top
  tags: [a, b]
  links: [{url: 'https://a'}, {url: 'https://b', title: B}]
spec:
  type: service
  lifecycle: production
  owner: team
  nested: {list: [{x: 1}, {x: [2, 3]}]}
relations:
  - {type: ownedBy, targetRef: 'group:default/team'}
  - {type: partOf, target: {kind: system, namespace: default, name: s}}
`)
	cases := []struct {
		path string
		want []any
	}{
		{"kind", []any{"Component"}},
		{"spec.owner", []any{"team"}},
		{"metadata.annotations.backstage.io/techdocs-ref", []any{"dir:."}},
		{"metadata.annotations.backstage.io", []any{"top"}},
		{"metadata.tags", []any{"a", "b"}},
		{"metadata.links.url", []any{"https://a", "https://b"}},
		{"metadata.links.title", []any{"B"}},
		{"spec.nested.list.x", []any{int64(1), int64(2), int64(3)}},
		{"relations.ownedBy", []any{"group:default/team"}},
		{"relations.OWNEDBY", []any{"group:default/team"}},
		{"relations.partOf", []any{"system:default/s"}},
		{"spec.missing", nil},
		{"metadata.name.deeper", nil},
		{"", nil},
	}
	for _, c := range cases {
		if got := e.GetPath(c.path); !reflect.DeepEqual(got, c.want) {
			t.Errorf("GetPath(%q) = %#v, want %#v", c.path, got, c.want)
		}
	}
}

func TestTypedRoundTrip(t *testing.T) {
	e := parseOne(t, `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: svc
  title: Svc
  labels: {a: b}
  annotations: {x.io/y: z}
  tags: [go]
  links: [{url: 'https://a', title: A, icon: web, type: docs}]
  addresses: {mktp.io: [{subdomain: api}]}
  owner-notes: free text
spec: {type: service, lifecycle: production, owner: team}
`)
	typed := e.Typed()
	if typed.Metadata.Name != "svc" || typed.Metadata.Namespace != "default" || typed.Metadata.Labels["a"] != "b" ||
		typed.Metadata.Tags[0] != "go" || typed.Metadata.Links[0] != (Link{"https://a", "A", "web", "docs"}) ||
		typed.Metadata.Extra["owner-notes"] != "free text" || typed.Spec["owner"] != "team" {
		t.Fatalf("typed view: %+v", typed)
	}
	b, err := json.Marshal(typed)
	if err != nil {
		t.Fatal(err)
	}
	var back TypedEntity
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Metadata.Extra["owner-notes"] != "free text" {
		t.Errorf("extra metadata lost: %s", b)
	}
	// Converted back, the entity is the same data (numbers aside, none here).
	if got, want := fmt.Sprint(map[string]any(typed.Entity())), fmt.Sprint(jsonRoundTrip(t, e)); got != want {
		t.Errorf("round trip:\ngot  %s\nwant %s", got, want)
	}
	if _, ok := back.Metadata.Extra["name"]; ok {
		t.Error("a known field leaked into Extra")
	}
}

func jsonRoundTrip(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMetadataMarshalDropsCollidingExtra(t *testing.T) {
	m := Metadata{Name: "n", Extra: map[string]any{"name": "other", "x": 1}}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"name":"n","x":1}` {
		t.Errorf("got %s", b)
	}
}

// TestRowHashIsItsBodys: the hash a row stores is its body's
// (IsBodyHash), which a page relies on to splice the body unchecked;
// other bytes, or another hash, are not.
func TestRowHashIsItsBodys(t *testing.T) {
	e := parseOne(t, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: a\n  description: \"<é>\"\nspec:\n  owner: team-a\n  type: service\n  lifecycle: production\n")
	row, err := Row(e)
	if err != nil {
		t.Fatal(err)
	}
	if !IsBodyHash(row.Body, row.Hash) || row.Hash != e.Hash() {
		t.Fatalf("row hash %q is not its body's (entity hash %q)", row.Hash, e.Hash())
	}
	last := byte('0')
	if row.Hash[31] == '0' {
		last = '1'
	}
	if IsBodyHash(append(row.Body[:len(row.Body):len(row.Body)], ' '), row.Hash) || IsBodyHash(row.Body, row.Hash[:31]+string(last)) {
		t.Fatal("other bytes or another hash matched")
	}
}
