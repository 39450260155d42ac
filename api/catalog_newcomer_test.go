package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/store"
)

// catalogServer is the real router on a real SQLite store holding the
// entities of yaml, read by the real ingestion activity from a file
// location.
func catalogServer(t testing.TB, yaml string) (*Server, store.Location) {
	t.Helper()
	st := testStore(t)
	loc := ingestYAML(t, st, yaml)
	return New(Deps{Logger: discardLogger(), Auth: auth.Guest{}, Catalog: CatalogDeps{Store: st}}), loc
}

// ingestYAML stores the entities of yaml in st as the real ingestion
// activity reads them from a static file location.
func ingestYAML(t testing.TB, st store.Store, yaml string) store.Location {
	t.Helper()
	dir := t.TempDir()
	f := filepath.Join(dir, "catalog-info.yaml")
	if err := os.WriteFile(f, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	loc, err := st.AddLocation(context.Background(), store.Location{Type: "file", Target: f, Static: true})
	if err != nil {
		t.Fatal(err)
	}
	discard := discardLogger()
	cat := &activities.Catalog{Store: st, Rules: catalog.DefaultRules(), Limits: catalog.DefaultLimits(), Orphans: store.OrphanDelete, Logger: discard,
		Git: activities.GitSource{AllowLocal: true}}
	if res, err := cat.RefreshLocation(context.Background(), contract.CatalogRefreshInput{LocationID: loc.ID}); err != nil || res.Entities == 0 {
		t.Fatalf("refresh: %+v %v", res, err)
	}
	return loc
}

func get(t *testing.T, srv *Server, path string, out any) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	req := loopbackRequest("GET", path, nil)
	srv.engine.ServeHTTP(rec, req)
	if out != nil && rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	return rec.Result()
}

// TestEntitiesLinkKeepsParameters: the Link rel="next" header of
// GET /entities keeps limit, fields and filter, so following it pages
// through the same view.
func TestEntitiesLinkKeepsParameters(t *testing.T) {
	var docs []string
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		docs = append(docs, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: "+n+", description: d}\nspec: {type: service, lifecycle: production, owner: team-a}\n")
	}
	docs = append(docs, "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: s}\nspec: {owner: team-a}\n")
	srv, _ := catalogServer(t, strings.Join(docs, "---\n"))
	link := regexp.MustCompile(`^<([^>]*)>; rel="next"$`)
	path := "/api/catalog/entities?limit=2&fields=metadata.name&filter=kind=component&order=asc:metadata.name"
	var names []string
	for range 10 {
		var items []map[string]any
		resp := get(t, srv, path, &items)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		if len(items) > 2 {
			t.Errorf("%s: %d items, limit 2", path, len(items))
		}
		for _, it := range items {
			if len(it) != 1 {
				t.Errorf("%s: item %v has more than the requested field", path, it)
			}
			md, _ := it["metadata"].(map[string]any)
			names = append(names, md["name"].(string))
		}
		m := link.FindStringSubmatch(resp.Header.Get("Link"))
		if m == nil {
			break
		}
		u, err := url.Parse(m[1])
		if err != nil {
			t.Fatal(err)
		}
		if q := u.Query(); q.Get("limit") != "2" || q.Get("fields") != "metadata.name" || q.Get("filter") != "kind=component" || q.Get("after") == "" {
			t.Errorf("next link %s lost parameters", m[1])
		}
		path = m[1]
	}
	if strings.Join(names, ",") != "a,b,c,d,e" {
		t.Errorf("paged names %v, want a..e", names)
	}
}

// TestAncestryRootExists: the root that ancestry names can be fetched.
func TestAncestryRootExists(t *testing.T) {
	srv, loc := catalogServer(t, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: svc}\nspec: {type: service, lifecycle: production, owner: team-a}\n")
	var anc struct {
		RootEntityRef string `json:"rootEntityRef"`
		Items         []struct {
			ParentEntityRefs []string `json:"parentEntityRefs"`
		}
	}
	if resp := get(t, srv, "/api/catalog/entities/by-name/component/default/svc/ancestry", &anc); resp.StatusCode != http.StatusOK || len(anc.Items) != 2 {
		t.Fatalf("ancestry: %d %+v", resp.StatusCode, anc)
	}
	ref, err := catalog.ParseRef(anc.RootEntityRef, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var root struct {
		Kind string
		Spec struct{ Target string }
	}
	if resp := get(t, srv, "/api/catalog/entities/by-name/"+ref.Kind+"/"+ref.Namespace+"/"+ref.Name, &root); resp.StatusCode != http.StatusOK || root.Kind != "Location" || root.Spec.Target != loc.Target {
		t.Errorf("root %s: %d %+v", anc.RootEntityRef, resp.StatusCode, root)
	}
	if resp := get(t, srv, "/api/catalog/entities/by-name/"+ref.Kind+"/"+ref.Namespace+"/"+ref.Name+"/ancestry", &anc); resp.StatusCode != http.StatusOK || len(anc.Items) != 1 {
		t.Errorf("ancestry of the root: %d %+v", resp.StatusCode, anc)
	}
	if resp := get(t, srv, "/api/catalog/entities/by-name/location/default/generated-0000", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown generated location: %d", resp.StatusCode)
	}
}
