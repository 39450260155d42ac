package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/audit"
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

// TestTrustedProxies: behind a trusted proxy (server.trustedProxies) the
// sign-in limit and audit events key on the client the proxy names, so
// users behind one proxy do not share a bucket; a caller that is not a
// trusted proxy cannot pick its address with X-Forwarded-For.
func TestTrustedProxies(t *testing.T) {
	st := testStore(t)
	log := audit.New(audit.Options{Store: st})
	defer log.Close()
	proxies, err := auth.ParseProxies([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Deps{Logger: discardLogger(), Proxies: proxies, Auth: auth.NewServiceTokens(nil),
		Catalog: CatalogDeps{Store: st}, Audit: AuditDeps{Recorder: log, Events: log}})
	call := func(path, peer, forwarded string) *httptest.ResponseRecorder {
		req := loopbackRequest("GET", path, nil)
		req.RemoteAddr = peer + ":4000"
		if forwarded != "" {
			req.Header.Set("X-Forwarded-For", forwarded)
		}
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		return w
	}
	for i := 0; i < authBurst; i++ {
		if w := call("/api/auth/providers", "10.0.0.2", "198.51.100.1"); w.Code != http.StatusOK {
			t.Fatalf("request %d of the first client: %d %s", i, w.Code, w.Body)
		}
	}
	if w := call("/api/auth/providers", "10.0.0.2", "198.51.100.1"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("the first client past its burst: %d", w.Code)
	}
	if w := call("/api/auth/providers", "10.0.0.2", "198.51.100.2"); w.Code != http.StatusOK {
		t.Fatalf("another client behind the same proxy shares the bucket: %d %s", w.Code, w.Body)
	}
	// Not a trusted proxy: each new X-Forwarded-For is still the same caller.
	for i := 0; i <= authBurst; i++ {
		w := call("/api/auth/providers", "203.0.113.5", fmt.Sprintf("198.51.100.%d", 10+i))
		if i < authBurst && w.Code != http.StatusOK || i == authBurst && w.Code != http.StatusTooManyRequests {
			t.Fatalf("untrusted caller, request %d: %d (a forged X-Forwarded-For must not earn a new bucket)", i, w.Code)
		}
	}
	// Audit: the source of a refused request is the client the proxy named.
	if w := call("/api/catalog/entities", "10.0.0.2", "198.51.100.3"); w.Code != http.StatusUnauthorized {
		t.Fatalf("catalog without a token: %d", w.Code)
	}
	if w := call("/api/catalog/entities", "203.0.113.5", "198.51.100.4"); w.Code != http.StatusUnauthorized {
		t.Fatalf("catalog without a token: %d", w.Code)
	}
	if err := log.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	page, err := log.Events(t.Context(), audit.Query{Action: "auth.denied"})
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, it := range page.Events {
		sources = append(sources, it.Event.SourceIP)
	}
	slices.Sort(sources)
	if !slices.Equal(sources, []string{"198.51.100.3", "203.0.113.5"}) {
		t.Fatalf("audit sources %v, want the proxied client and the untrusted peer", sources)
	}
}

// TestAbandonedRequestIsNotAServerError: an error the request's own
// cancellation caused answers 499, not 500.
func TestAbandonedRequestIsNotAServerError(t *testing.T) {
	for err, want := range map[error]int{
		fmt.Errorf("query: %w", context.Canceled): statusClientClosed,
		errors.New("disk on fire"):                http.StatusInternalServerError,
	} {
		if got, _ := classify(err); got != want {
			t.Errorf("classify(%v) = %d, want %d", err, got, want)
		}
	}
}
