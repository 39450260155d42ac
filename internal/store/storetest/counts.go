package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/store"
)

// testCountsAfterWrites: a count alone (Query.CountOnly) equals the
// number of entities the pages list, for filters on search keys beside
// kind and namespace, after a first load, after a refresh that changes,
// retags and removes entities, and with another location's entities
// beside them: the count reads the search rows, never stale ones.
func testCountsAfterWrites(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/counts.yaml"}))
	other := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/other.yaml"}))
	tags := []string{"go", "java", "GRPC", "kafka"}
	// round shifts owners and tags and leaves out every seventh entity.
	batch := func(round int) []store.Entity {
		var out []store.Entity
		for i := range 240 {
			if round > 0 && i%7 == 0 {
				continue
			}
			ns := "default"
			if i%5 == 0 {
				ns = "Payments"
			}
			kind := "Component"
			if i%4 == 3 {
				kind = "API"
			}
			spec := map[string]string{"owner": fmt.Sprintf("team-%d", (i+round)%6), "type": "service"}
			if (i+round)%3 != 0 {
				spec["lifecycle"] = "production"
			}
			out = append(out, entIn(kind, ns, fmt.Sprintf("svc-%03d", i), spec, tags[(i+round)%4], tags[(i*3+round)%4]))
		}
		return out
	}
	c := func(k string, v ...string) store.Cond { return store.Cond{Key: k, Values: v} }
	filters := []store.Filter{
		{{c("kind", "component"), c("spec.owner", "team-2")}},
		{{c("spec.owner", "TEAM-3", "team-4")}},
		{{c("metadata.tags", "grpc", "java")}},
		{{c("metadata.tags", "kafka"), c("kind", "api", "component"), c("metadata.namespace", "payments")}},
		{{c("metadata.tags", "kafka"), c("kind", "api", "component")}},
		{{c("spec.lifecycle"), c("kind", "API")}},
		{{c("spec.lifecycle"), c("kind")}},
		{{c("metadata.name", "svc-010", "SVC-011", "svc-700")}},
		{{c("spec.owner", "team-1")}, {c("metadata.tags", "go")}},
		{{c("kind", "component"), c("spec.owner", "team-1"), c("metadata.tags", "java")}},
	}
	check := func(when string) {
		t.Helper()
		for _, f := range filters {
			listed := len(must(s.Query(ctx, store.Query{Filter: f, Limit: store.MaxLimit})).Entities)
			counted := must(s.Query(ctx, store.Query{Filter: f, CountOnly: true})).TotalItems
			if counted != listed || listed == 0 {
				t.Fatalf("%s: filter %v counts %d, the pages list %d (want equal, not 0)", when, f, counted, listed)
			}
		}
	}
	must(s.ReplaceLocation(ctx, loc.ID, batch(0), store.ReplaceOptions{Orphans: store.OrphanDelete}))
	check("first load")
	must(s.ReplaceLocation(ctx, other.ID, []store.Entity{entIn("Component", "default", "elsewhere", map[string]string{"owner": "team-2", "type": "service", "lifecycle": "production"}, "kafka")}, store.ReplaceOptions{Orphans: store.OrphanDelete}))
	res := must(s.ReplaceLocation(ctx, loc.ID, batch(1), store.ReplaceOptions{Orphans: store.OrphanDelete}))
	if res.Removed == 0 || res.Updated == 0 {
		t.Fatalf("refresh: %+v, want entities updated and removed", res)
	}
	check("after a refresh")
	// Under a policy that hides more entities than a count subtracts in
	// one statement (here 1,100 resources and the APIs): the count tests
	// the policy on each match instead, and still agrees with the pages.
	var resources []store.Entity
	for i := range 1100 {
		resources = append(resources, entIn("Resource", "default", fmt.Sprintf("db-%04d", i), map[string]string{"owner": "team-2", "type": "service"}))
	}
	many := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/resources.yaml"}))
	must(s.ReplaceLocation(ctx, many.ID, resources, store.ReplaceOptions{Orphans: store.OrphanDelete}))
	components := store.Match("kind", "component")
	for _, f := range []store.Filter{{{c("spec.type", "service")}}, {{c("spec.owner", "team-2")}}, {{c("metadata.tags", "kafka")}}} {
		listed := len(must(s.Query(ctx, store.Query{Filter: f, Access: components, Limit: store.MaxLimit})).Entities)
		counted := must(s.Query(ctx, store.Query{Filter: f, Access: components, CountOnly: true})).TotalItems
		if counted != listed || listed == 0 {
			t.Fatalf("components only, filter %v: counts %d, the pages list %d (want equal, not 0)", f, counted, listed)
		}
	}
}

// entIn is ent in namespace ns.
func entIn(kind, ns, name string, spec map[string]string, tags ...string) store.Entity {
	e := ent(kind, name, spec, tags...)
	if ns == "default" {
		return e
	}
	e.Ref = strings.ToLower(kind + ":" + ns + "/" + name)
	for i, r := range e.Search {
		if r.Key == "metadata.namespace" {
			e.Search[i] = store.SearchRow{Key: r.Key, Value: strings.ToLower(ns), Original: ns}
		}
	}
	return e
}
