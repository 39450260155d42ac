package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
)

// TestFetchRoutesRateLimited: analyze-location and dry-run registrations
// are limited per caller (429 with Retry-After), one caller's use does not
// spend another's, and the bucket refills.
func TestFetchRoutesRateLimited(t *testing.T) {
	st := testStore(t)
	alice, bob := strings.Repeat("a", 40), strings.Repeat("b", 40)
	srv := New(Deps{
		Logger: discardLogger(),
		Auth: auth.NewServiceTokens([]auth.ServiceToken{
			{Name: "alice", Token: alice, Scopes: []string{"catalog.write"}},
			{Name: "bob", Token: bob, Scopes: []string{"catalog.write"}},
		}),
		Catalog:    CatalogDeps{Store: st},
		Scaffolder: ScaffolderDeps{Actions: contract.NewRegistry(nil)},
	})
	now := time.Unix(1000, 0)
	srv.fetches.now = func() time.Time { return now }
	// An empty target is refused by the handler (400) without fetching:
	// what matters is whether the limiter let the request through.
	post := func(token, path string) *httptest.ResponseRecorder {
		req := loopbackRequest("POST", path, strings.NewReader(`{"location":{"target":""},"target":""}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		return w
	}
	for i := 0; i < fetchBurst; i++ {
		path := "/api/catalog/analyze-location"
		if i%2 == 1 {
			path = "/api/catalog/locations?dryRun=true"
		}
		if w := post(alice, path); w.Code != http.StatusBadRequest {
			t.Fatalf("request %d within the burst: %d %s", i, w.Code, w.Body)
		}
	}
	for _, path := range []string{"/api/catalog/analyze-location", "/api/catalog/locations?dryRun=true"} {
		w := post(alice, path)
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "6" {
			t.Fatalf("%s past the burst: %d Retry-After %q: %s", path, w.Code, w.Header().Get("Retry-After"), w.Body)
		}
	}
	if w := post(alice, "/api/catalog/locations"); w.Code != http.StatusBadRequest {
		t.Fatalf("a registration without dryRun is not limited: %d %s", w.Code, w.Body)
	}
	if w := post(bob, "/api/catalog/analyze-location"); w.Code != http.StatusBadRequest {
		t.Fatalf("another caller is not limited by alice's use: %d %s", w.Code, w.Body)
	}
	now = now.Add(fetchInterval)
	if w := post(alice, "/api/catalog/analyze-location"); w.Code != http.StatusBadRequest {
		t.Fatalf("after one interval one request passes: %d %s", w.Code, w.Body)
	}
	if w := post(alice, "/api/catalog/analyze-location"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("but only one: %d %s", w.Code, w.Body)
	}
}
