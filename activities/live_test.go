package activities

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/netguard"
	"github.com/riggerdev/rigger/internal/store"
)

// TestSwappedAccessChangesRulesOfNextRefresh: a reload's new catalog.rules
// apply from the next refresh on, without a new Catalog.
func TestSwappedAccessChangesRulesOfNextRefresh(t *testing.T) {
	c, st := newCatalog(t)
	ctx := context.Background()
	f := filepath.Join(t.TempDir(), "catalog-info.yaml")
	if err := os.WriteFile(f, []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: svc}\nspec: {type: service, lifecycle: production, owner: team-a}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	loc, _ := st.AddLocation(ctx, store.Location{Type: "file", Target: f})
	if res, err := c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID}); err != nil || res.Entities != 1 {
		t.Fatalf("default rules: %+v %v", res, err)
	}
	a := c.access()
	c.Live = NewSwapped(a)
	if res, err := c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID}); err != nil || res.Entities != 1 {
		t.Fatalf("the same rules, swappable: %+v %v", res, err)
	}
	a.Rules = catalog.Rules{Global: []catalog.Rule{{Allow: []string{"API"}}}}
	c.Live.Set(a)
	res, err := c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID})
	if err == nil && res.Entities != 0 {
		t.Fatalf("a Component under rules allowing only API: %+v", res)
	}
}

// TestSwappedFetchChangesAllowedHosts: a reload's scaffolder.allowedHosts
// apply to the next download.
func TestSwappedFetchChangesAllowedHosts(t *testing.T) {
	s := &Scaffold{Live: NewSwapped(ScaffoldFetch{})}
	u, _ := url.Parse("https://skeletons.example.com/a.tar.gz")
	if _, err := s.download(context.Background(), u, nil, 1<<20); err == nil || !strings.Contains(err.Error(), "scaffolder.allowedHosts is empty") {
		t.Fatalf("no client: %v", err)
	}
	s.Live.Set(ScaffoldFetch{HTTP: netguard.NewClient(netguard.Policy{AllowedHosts: []string{"other.example.org"}, Setting: "scaffolder.allowedHosts"})})
	_, err := s.download(context.Background(), u, nil, 1<<20)
	if err == nil || !strings.Contains(err.Error(), "not in the allowed hosts [other.example.org]") {
		t.Fatalf("after SetFetch: %v", err)
	}
}
