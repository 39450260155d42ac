package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// TestRefusedCopyKeepsTheCatalog: a batch the database refuses (a value
// that is not UTF-8) fails the write with the database's reason, and the
// location's entities stay as they were: none of the batch is kept.
func TestRefusedCopyKeepsTheCatalog(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, freshDB(t))
	entity := func(name, original string) store.Entity {
		ref := "component:default/" + name
		return store.Entity{Ref: ref, Hash: fmt.Sprintf("%s %x", ref, original), Body: []byte(`{"kind":"Component","metadata":{"name":"` + name + `"}}`),
			Search: []store.SearchRow{{Key: "kind", Value: "component"}, {Key: "spec.owner", Value: "team-a", Original: original}}}
	}
	loc, err := s.AddLocation(ctx, store.Location{Type: "file", Target: "/c.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	kept := entity("kept", "Team-A")
	if _, err := s.ReplaceLocation(ctx, loc.ID, []store.Entity{kept}, store.ReplaceOptions{Orphans: store.OrphanDelete}); err != nil {
		t.Fatal(err)
	}
	_, err = s.ReplaceLocation(ctx, loc.ID, []store.Entity{entity("kept", "TEAM-A"), entity("bad", "Team-\xff")},
		store.ReplaceOptions{Orphans: store.OrphanDelete})
	if err == nil || !strings.Contains(err.Error(), "rows into search: ") || !strings.Contains(err.Error(), "UTF8") {
		t.Fatalf("a value that is not UTF-8: %v", err)
	}
	got, err := s.EntityByRef(ctx, kept.Ref)
	if err != nil || !bytes.Equal(got.Body, kept.Body) || got.Hash != kept.Hash {
		t.Fatalf("the stored entity after the refused write: %v, %+v", err, got)
	}
	if _, err := s.EntityByRef(ctx, "component:default/bad"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("the refused batch's entity: %v", err)
	}
	facets, err := s.Facets(ctx, nil, []string{"spec.owner"})
	if err != nil {
		t.Fatal(err)
	}
	if f := facets["spec.owner"]; len(f) != 1 || f[0] != (store.FacetCount{Value: "Team-A", Count: 1}) {
		t.Fatalf("spec.owner facets after the refused write: %+v", f)
	}
}
