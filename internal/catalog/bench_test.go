package catalog

import (
	"fmt"
	"strings"
	"testing"
)

// benchFile is a catalog file of n documents of the usual kinds.
func benchFile(n int) []byte {
	var b strings.Builder
	for i := range n {
		switch i % 5 {
		case 0, 1:
			fmt.Fprintf(&b, `---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: service-%d
  description: Service number %d, which does things
  annotations:
    backstage.io/techdocs-ref: dir:.
    github.com/project-slug: example/service-%d
  tags: [go, grpc]
  links: [{url: 'https://service-%d.example.com', title: Dashboard}]
spec:
  type: service
  lifecycle: production
  owner: team-%d
  system: system-%d
  providesApis: [api-%d]
  consumesApis: [api-%d]
  dependsOn: [resource:db-%d]
`, i, i, i, i, i%20, i%10, i, i+1, i)
		case 2:
			fmt.Fprintf(&b, "---\napiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: api-%d}\nspec: {type: openapi, lifecycle: production, owner: team-%d, definition: 'openapi: 3.0.0'}\n", i, i%20)
		case 3:
			fmt.Fprintf(&b, "---\napiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata: {name: db-%d}\nspec: {type: database, owner: team-%d, system: system-%d}\n", i, i%20, i%10)
		case 4:
			fmt.Fprintf(&b, "---\napiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: user-%d}\nspec: {memberOf: [team-%d], profile: {displayName: User %d, email: u%d@example.com}}\n", i, i%20, i, i)
		}
	}
	return []byte(b.String())
}

func BenchmarkParse(b *testing.B) {
	data := benchFile(500)
	lim := DefaultLimits()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		docs, err := Parse("bench.yaml", data, lim)
		if err != nil || len(docs) != 500 || docs[499].Entity == nil {
			b.Fatalf("%v %d %s", err, len(docs), docErrors(docs))
		}
	}
}

func BenchmarkSearchRows(b *testing.B) {
	docs, err := Parse("bench.yaml", benchFile(1), DefaultLimits())
	if err != nil || docs[0].Entity == nil {
		b.Fatal(err)
	}
	e := docs[0].Entity
	edges, _ := Relations(e)
	b.ReportAllocs()
	for b.Loop() {
		if rows := SearchRows(e, edges); len(rows) < 20 {
			b.Fatal(len(rows))
		}
	}
}

// BenchmarkRow builds the store row of an entity: what a refresh does for
// each entity after parsing it.
func BenchmarkRow(b *testing.B) {
	docs, err := Parse("bench.yaml", benchFile(1), DefaultLimits())
	if err != nil || docs[0].Entity == nil {
		b.Fatal(err)
	}
	e := docs[0].Entity
	b.ReportAllocs()
	for b.Loop() {
		if row, err := Row(e); err != nil || len(row.Search) < 20 {
			b.Fatal(err, len(row.Search))
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	docs, _ := Parse("bench.yaml", benchFile(1), DefaultLimits())
	e := docs[0].Entity
	b.ReportAllocs()
	for b.Loop() {
		if probs := Validate(e); len(probs) > 0 {
			b.Fatal(probs)
		}
	}
}

func BenchmarkMatchFilter(b *testing.B) {
	docs, _ := Parse("bench.yaml", benchFile(1), DefaultLimits())
	edges, _ := Relations(docs[0].Entity)
	rows := SearchRows(docs[0].Entity, edges)
	f, _ := ParseFilter([]string{"kind=api", "kind=component,spec.lifecycle=production,relations.ownedby=group:default/team-0"})
	b.ReportAllocs()
	for b.Loop() {
		if !MatchFilter(f, rows) {
			b.Fatal("no match")
		}
	}
}
