package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/auth"
)

// TestGuestReadOnly: rigger server's read-only guest (auth.guest) reads
// catalog entities and nothing else — no templates, tasks, locations,
// validation or audit — and every read it makes is an audit event.
func TestGuestReadOnly(t *testing.T) {
	rec := &recordedEvents{}
	tokens := auth.NewServiceTokens([]auth.ServiceToken{{Name: "ci", Token: "ci-token-0123456789-0123456789-0123", Scopes: []string{"*"}}})
	guest, err := auth.NewNetworkGuest(tokens, []string{"127.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Deps{Logger: discardLogger(), Auth: guest, Catalog: CatalogDeps{Store: testStore(t)},
		Scaffolder: ScaffolderDeps{Actions: contract.NewRegistry(nil)}, Audit: AuditDeps{Recorder: rec, Events: rec}})
	do := func(method, path, body string) *httptest.ResponseRecorder {
		var req *http.Request
		if body != "" {
			req = loopbackRequest(method, path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
		} else {
			req = loopbackRequest(method, path, nil)
		}
		req.RemoteAddr = "127.0.0.1:40000"
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		return w
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/catalog/entities", ""},
		{"GET", "/api/catalog/entities/by-query", ""},
		{"GET", "/api/catalog/entity-facets?facet=kind", ""},
		{"POST", "/api/catalog/entities/by-refs", `{"entityRefs":["component:default/x"]}`},
	} {
		if w := do(c.method, c.path, c.body); w.Code != http.StatusOK {
			t.Errorf("guest %s %s: %d %s", c.method, c.path, w.Code, w.Body)
		}
	}
	reads := 0
	for _, e := range rec.events {
		if e.Action == "catalog.entity.read" && e.ActorKind == audit.ActorAnonymous && e.Actor == auth.GuestRefReadOnly {
			reads++
		}
	}
	if reads != 4 {
		t.Errorf("guest reads audited: %d, want 4: %+v", reads, rec.events)
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/catalog/locations", ""},
		{"POST", "/api/catalog/locations", `{"type":"url","target":"https://example.com/x.yaml"}`},
		{"POST", "/api/catalog/validate-entity", `{"entity":{}}`},
		{"DELETE", "/api/catalog/entities/by-uid/x", ""},
		{"GET", "/api/scaffolder/v2/tasks", ""},
		{"POST", "/api/scaffolder/v2/tasks", `{"templateRef":"template:default/x","values":{}}`},
		{"GET", "/api/scaffolder/v2/actions", ""},
		{"GET", "/api/audit/events", ""},
	} {
		w := do(c.method, c.path, c.body)
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "guests (auth.guest) may only read") {
			t.Errorf("guest %s %s: %d %s, want 401 naming the guest limit", c.method, c.path, w.Code, w.Body)
		}
	}
}

// TestCatalogReadsAudited: every catalog read is one audit event of the
// caller with how many entities it returned — what the catalogReads alert
// rule counts — and only what the policy let through is counted.
func TestCatalogReadsAudited(t *testing.T) {
	rec := &recordedEvents{}
	srv, st := policyServer(t)
	srv = New(Deps{Logger: discardLogger(), Auth: srv.deps.Auth, Catalog: CatalogDeps{Store: st}, Policy: srv.deps.Policy,
		Audit: AuditDeps{Recorder: rec}})
	var list []wireEntity
	if code := call(t, srv, "alice", "GET", "/api/catalog/entities", "", &list); code != http.StatusOK {
		t.Fatalf("list: %d", code)
	}
	var one map[string]any
	if code := call(t, srv, "carol", "GET", "/api/catalog/entities/by-name/component/default/secret-b", "", &one); code != http.StatusOK {
		t.Fatalf("by name: %d", code)
	}
	var refs struct{ Items []any }
	call(t, srv, "alice", "POST", "/api/catalog/entities/by-refs", `{"entityRefs":["component:default/secret-b","component:default/svc-a"]}`, &refs)
	want := []string{"user:default/alice " + strconv.Itoa(len(list)), "user:default/carol 1", "user:default/alice 1"}
	var got []string
	for _, e := range rec.events {
		if e.Action == "catalog.entity.read" {
			got = append(got, e.Actor+" "+e.Details["count"])
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("read events %v, want %v", got, want)
	}
}

// TestAncestryHidesUnreadableLocations: an entity's ancestry names its
// location (type and target URL) only to a caller the policy lets read
// locations; the read-only guest gets the entity alone, and no generated
// location entity by name.
func TestAncestryHidesUnreadableLocations(t *testing.T) {
	srv, st := policyServer(t)
	locs, err := st.ListLocations(context.Background())
	if err != nil || len(locs) != 1 {
		t.Fatalf("locations: %v %v", locs, err)
	}
	var anc struct {
		RootEntityRef string
		Items         []map[string]any
	}
	if code := call(t, srv, "alice", "GET", "/api/catalog/entities/by-name/component/default/svc-a/ancestry", "", &anc); code != http.StatusOK || len(anc.Items) != 2 {
		t.Fatalf("alice's ancestry: %d %+v", code, anc)
	}
	generated := strings.TrimPrefix(anc.RootEntityRef, "location:default/")
	anc.Items = nil
	if code := call(t, srv, "guest", "GET", "/api/catalog/entities/by-name/component/default/svc-a/ancestry", "", &anc); code != http.StatusOK ||
		len(anc.Items) != 1 || strings.HasPrefix(anc.RootEntityRef, "location:") {
		t.Fatalf("the guest's ancestry: %d %+v", code, anc)
	}
	var msg string
	if code := call(t, srv, "guest", "GET", "/api/catalog/entities/by-name/location/default/"+generated, "", &msg); code != http.StatusNotFound {
		t.Errorf("the guest reads the generated location entity: %d %s", code, msg)
	}
}
