package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/templates"
	"github.com/riggerdev/rigger/worker"
)

// TestServiceTokenScopes: a service token may only do what its scopes say
// (deny by default), and request bodies are bounded. Runs the real router
// and a real SQLite store and dry-run runner.
func TestServiceTokenScopes(t *testing.T) {
	st := testStore(t)
	tok := func(c byte) string { return strings.Repeat(string(c), 40) }
	r, err := templates.NewRenderer(templates.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	discard := discardLogger()
	runner := &worker.DryRunner{Scaffold: &activities.Scaffold{Renderer: r, Logger: discard}, Logger: discard}
	srv := New(Deps{
		Logger: discardLogger(),
		Auth: auth.NewServiceTokens([]auth.ServiceToken{
			{Name: "reader", Token: tok('r'), Scopes: []string{"catalog.read"}},
			{Name: "runner", Token: tok('s'), Scopes: []string{"scaffolder.run"}},
			{Name: "none", Token: tok('n')},
			{Name: "root", Token: tok('a'), Scopes: []string{"*"}},
		}),
		Catalog:    CatalogDeps{Store: st},
		Scaffolder: ScaffolderDeps{Actions: contract.NewRegistry(nil), DryRun: runner.DryRun},
	})
	dry := `{"template":{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"t"},"spec":{"type":"x","steps":[{"id":"a","action":"debug:log","input":{"message":"hi"}}]}}}`
	cases := []struct {
		token, method, path, body string
		want                      int
		contains                  string
	}{
		{tok('r'), "GET", "/api/catalog/entities", "", http.StatusOK, ""},
		{tok('r'), "POST", "/api/catalog/validate-entity", `{"entity":{},"location":"url:x"}`, http.StatusBadRequest, ""},
		{tok('r'), "POST", "/api/catalog/locations", `{"type":"url","target":"https://example.com/x.yaml"}`, http.StatusForbidden, "catalog.write scope"},
		{tok('r'), "POST", "/api/scaffolder/v2/dry-run", dry, http.StatusForbidden, ""},
		// analyze-location fetches: it needs catalog.write.
		{tok('r'), "POST", "/api/catalog/analyze-location", `{"location":{"type":"url","target":"https://example.com/x.yaml"}}`, http.StatusForbidden, "catalog.write scope"},
		{tok('r'), "GET", "/api/scaffolder/v2/actions", "", http.StatusForbidden, ""},
		{tok('s'), "GET", "/api/scaffolder/v2/actions", "", http.StatusOK, ""},
		{tok('s'), "POST", "/api/scaffolder/v2/dry-run", dry, http.StatusOK, `"message":"hi"`},
		{tok('s'), "GET", "/api/catalog/entities", "", http.StatusForbidden, ""},
		// A server without scaffolder.runSigningKey starts no task.
		{tok('s'), "POST", "/api/scaffolder/v2/tasks", `{"templateRef":"template:default/x"}`, http.StatusServiceUnavailable, "set scaffolder.runSigningKey"},
		{tok('n'), "GET", "/api/catalog/entities", "", http.StatusForbidden, ""},
		{tok('a'), "GET", "/api/catalog/entities", "", http.StatusOK, ""},
		{"wrong-token-wrong-token-wrong-token-000", "GET", "/api/catalog/entities", "", http.StatusUnauthorized, ""},
		// Bodies are bounded: 3 MiB to an endpoint that takes at most 2.
		{tok('a'), "POST", "/api/catalog/validate-entity", `{"entity":{"x":"` + strings.Repeat("a", 3<<20) + `"}}`, http.StatusBadRequest, "at most 2097152 are accepted"},
	}
	for _, c := range cases {
		req := loopbackRequest(c.method, c.path, strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		if w.Code != c.want || !strings.Contains(w.Body.String(), c.contains) {
			t.Errorf("%s %s with %s…: %d, want %d: %s", c.method, c.path, c.token[:3], w.Code, c.want, w.Body.String()[:min(200, w.Body.Len())])
		}
	}
}
