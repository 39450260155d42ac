package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/store"
)

// modelConfig is a rigger.yaml declaring a Service kind whose spec.owner
// is an ownedBy relation (default kind Group) and whose spec.dependsOn
// refs must name their kind, and a schema for grpc APIs.
const modelConfig = `catalog:
  rules:
    - allow: [Component, API, Resource, System, Domain, Location, Service]
  model:
    kinds:
      - kind: Service
        apiVersions: [acme.com/v1]
        spec:
          type: object
          required: [type, owner]
          properties:
            type: {enum: [web, worker]}
            owner: {type: string}
            replicas: {type: integer, minimum: 1}
        relations:
          - {field: spec.owner, defaultKind: Group, type: ownedBy, reverse: ownerOf}
          - {field: spec.dependsOn, type: dependsOn, reverse: dependencyOf}
    types:
      - kind: API
        type: grpc
        spec:
          required: [definition, package]
`

// modelCatalog holds three services (two owned by team-x), the group, an
// API of type grpc and two invalid documents: a service whose replicas
// break the kind's schema, and a grpc API without a package.
const modelCatalog = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-x}
spec: {type: team, children: []}
---
apiVersion: acme.com/v1
kind: Service
metadata: {name: web-a}
spec: {type: web, owner: team-x, dependsOn: [resource:db]}
---
apiVersion: acme.com/v1
kind: Service
metadata: {name: worker-b}
spec: {type: worker, owner: team-x}
---
apiVersion: acme.com/v1
kind: Service
metadata: {name: web-c}
spec: {type: web, owner: group:team-y}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: pay}
spec: {type: grpc, lifecycle: production, owner: team-x, definition: x, package: acme.pay}
---
apiVersion: acme.com/v1
kind: Service
metadata: {name: broken}
spec:
  type: web
  owner: team-x
  replicas: 0
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: no-package}
spec: {type: grpc, lifecycle: production, owner: team-x, definition: x}
`

// TestCatalogModelOnBothStores: a kind declared in rigger.yaml's
// catalog.model is ingested from a file location by the real refresh,
// its bad documents refused with file, line and field; its spec.owner
// becomes ownedBy (and ownerOf on the group), which by-query filters; its
// spec.type is a facet; validate-entity follows the model. On SQLite and
// PostgreSQL.
func TestCatalogModelOnBothStores(t *testing.T) {
	cfg, err := config.Parse("rigger.yaml", []byte(modelConfig), nil)
	if err != nil {
		t.Fatal(err)
	}
	model, probs := cfg.Catalog.Model.Build()
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	for name, st := range emptyStores(t) {
		t.Run(name, func(t *testing.T) { checkCatalogModel(t, st, model) })
	}
}

func checkCatalogModel(t *testing.T, st store.Store, model *catalog.Model) {
	ctx := context.Background()
	f := filepath.Join(t.TempDir(), "catalog-info.yaml")
	if err := os.WriteFile(f, []byte(modelCatalog), 0o600); err != nil {
		t.Fatal(err)
	}
	loc, err := st.AddLocation(ctx, store.Location{Type: "file", Target: f, Static: true})
	if err != nil {
		t.Fatal(err)
	}
	rules := catalog.DefaultRules()
	rules.Global = []catalog.Rule{{Allow: []string{"Component", "API", "Resource", "System", "Domain", "Location", "Service"}}}
	cat := &activities.Catalog{Store: st, Rules: rules, Limits: catalog.DefaultLimits(), Model: model, Orphans: store.OrphanDelete,
		Logger: discardLogger(), Git: activities.GitSource{AllowLocal: true}}
	res, err := cat.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID})
	if err != nil {
		t.Fatal(err)
	}
	wantErrs := []string{
		f + ": document 6 (line 32): spec.replicas: minimum: got 0, want 1",
		f + ": document 7 (line 37): spec.package: required field is missing",
	}
	if res.Entities != 5 || !slices.Equal(res.Errors, wantErrs) {
		t.Fatalf("refresh: %d entities, errors\n%s\nwant\n%s", res.Entities, strings.Join(res.Errors, "\n"), strings.Join(wantErrs, "\n"))
	}
	srv := New(Deps{Logger: discardLogger(), Auth: auth.Guest{}, Catalog: CatalogDeps{Store: st, Model: model}})

	var q struct {
		Items []struct {
			Kind     string
			Metadata struct{ Name string }
		} `json:"items"`
	}
	get(t, srv, "/api/catalog/entities/by-query?filter="+url.QueryEscape("kind=service,relations.ownedBy=group:default/team-x")+"&orderField=metadata.name,asc", &q)
	var names []string
	for _, it := range q.Items {
		names = append(names, it.Kind+":"+it.Metadata.Name)
	}
	if !slices.Equal(names, []string{"Service:web-a", "Service:worker-b"}) {
		t.Errorf("services owned by team-x: %v", names)
	}

	var group struct {
		Relations []struct{ Type, TargetRef string }
	}
	get(t, srv, "/api/catalog/entities/by-name/group/default/team-x", &group)
	var owns []string
	for _, r := range group.Relations {
		if r.Type == "ownerOf" {
			owns = append(owns, r.TargetRef)
		}
	}
	if !slices.Equal(owns, []string{"api:default/pay", "service:default/web-a", "service:default/worker-b"}) {
		t.Errorf("team-x ownerOf %v", owns)
	}
	var web struct {
		Relations []struct{ Type, TargetRef string }
	}
	get(t, srv, "/api/catalog/entities/by-name/service/default/web-a", &web)
	if !slices.Contains(web.Relations, struct{ Type, TargetRef string }{"dependsOn", "resource:default/db"}) {
		t.Errorf("web-a relations %v", web.Relations)
	}

	var facets struct {
		Facets map[string][]store.FacetCount `json:"facets"`
	}
	get(t, srv, "/api/catalog/entity-facets?facet=spec.type&filter=kind=service", &facets)
	counts := map[string]int{}
	for _, fc := range facets.Facets["spec.type"] {
		counts[fc.Value] = fc.Count
	}
	if len(counts) != 2 || counts["web"] != 2 || counts["worker"] != 1 {
		t.Errorf("spec.type facets of services: %v", facets.Facets)
	}

	validate := func(entity string) (int, string) {
		rec := httptest.NewRecorder()
		req := loopbackRequest("POST", "/api/catalog/validate-entity", strings.NewReader(`{"entity":`+entity+`}`))
		req.Header.Set("Content-Type", "application/json")
		srv.engine.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	if code, body := validate(`{"apiVersion":"acme.com/v1","kind":"Service","metadata":{"name":"n"},"spec":{"type":"web","owner":"team-x"}}`); code != http.StatusOK {
		t.Errorf("validate a good service: %d %s", code, body)
	}
	if code, body := validate(`{"apiVersion":"acme.com/v1","kind":"Service","metadata":{"name":"n"},"spec":{"type":"cron","owner":"team-x"}}`); code != http.StatusBadRequest || !strings.Contains(body, "spec.type: value must be one of 'web', 'worker'") {
		t.Errorf("validate a bad service: %d %s", code, body)
	}
	if code, body := validate(`{"apiVersion":"backstage.io/v1alpha1","kind":"Widget","metadata":{"name":"n"},"spec":{}}`); code != http.StatusBadRequest || !strings.Contains(body, "declare it in catalog.model.kinds") {
		t.Errorf("validate an unknown kind: %d %s", code, body)
	}
}
