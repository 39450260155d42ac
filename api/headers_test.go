package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
)

// TestSecurityHeaders: every response — API, error, unknown route, probe —
// carries the CSP (no inline script, no framing), nosniff and the referrer
// policy; HSTS only when baseUrl is https.
func TestSecurityHeaders(t *testing.T) {
	for _, base := range []string{"https://rigger.example.com", "http://127.0.0.1:7007"} {
		srv := New(Deps{Logger: discardLogger(), Auth: auth.NewServiceTokens(nil), BaseURL: base,
			Catalog: CatalogDeps{Store: testStore(t)}})
		for _, path := range []string{"/healthz", "/api/catalog/entities", "/nope", "/api/auth/refresh"} {
			w := httptest.NewRecorder()
			srv.Handler().ServeHTTP(w, loopbackRequest("GET", path, nil))
			h := w.Header()
			csp := h.Get("Content-Security-Policy")
			if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") ||
				strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("%s %s: CSP %q", base, path, csp)
			}
			for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
				if h.Get(k) != v {
					t.Errorf("%s %s: %s = %q, want %q", base, path, k, h.Get(k), v)
				}
			}
			if got, want := h.Get("Strict-Transport-Security") != "", strings.HasPrefix(base, "https"); got != want {
				t.Errorf("%s %s: HSTS present %v, want %v", base, path, got, want)
			}
			if got, want := h.Get("Cache-Control") == "no-store", strings.HasPrefix(path, "/api/auth/"); got != want {
				t.Errorf("%s %s: Cache-Control %q", base, path, h.Get("Cache-Control"))
			}
		}
	}
}

// TestCSRFGuard: a state-changing request that carries cookies passes only
// with the server's own Origin or Sec-Fetch-Site: same-origin; without an
// Origin (a form, an old browser) or from elsewhere it is refused before
// any handler runs. Requests without cookies (the CLI) are not affected.
func TestCSRFGuard(t *testing.T) {
	srv := New(Deps{Logger: discardLogger(), Auth: auth.Guest{}, Dev: true, BaseURL: "https://rigger.example.com",
		Catalog: CatalogDeps{Store: testStore(t)}, Scaffolder: ScaffolderDeps{Actions: contract.NewRegistry(nil)}})
	const validate = "/api/catalog/validate-entity"
	entity := `{"entity":{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"a"},"spec":{"type":"service","lifecycle":"x","owner":"me"}}}`
	cases := []struct {
		name, cookie, origin, site, host string
		want                             int
	}{
		{"no cookie, no origin (CLI)", "", "", "", "127.0.0.1:7007", http.StatusOK},
		{"cookie, own origin", "rigger_refresh=x", "http://127.0.0.1:7007", "", "127.0.0.1:7007", http.StatusOK},
		{"cookie, baseUrl origin", "rigger_refresh=x", "https://rigger.example.com", "", "rigger.example.com", http.StatusOK},
		{"cookie, same-origin fetch metadata", "rigger_refresh=x", "", "same-origin", "127.0.0.1:7007", http.StatusOK},
		{"cookie, no origin", "rigger_refresh=x", "", "", "127.0.0.1:7007", http.StatusForbidden},
		{"cookie, cross-site fetch metadata", "rigger_refresh=x", "", "cross-site", "127.0.0.1:7007", http.StatusForbidden},
		{"cookie, same-site but other origin", "rigger_refresh=x", "", "same-site", "127.0.0.1:7007", http.StatusForbidden},
	}
	for _, c := range cases {
		req := loopbackRequest("POST", validate, strings.NewReader(entity))
		req.Header.Set("Content-Type", "application/json")
		req.Host = c.host
		if c.cookie != "" {
			req.Header.Set("Cookie", c.cookie)
		}
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		if c.site != "" {
			req.Header.Set("Sec-Fetch-Site", c.site)
		}
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		if w.Code != c.want {
			t.Errorf("%s: status %d, want %d: %s", c.name, w.Code, c.want, w.Body)
		}
		if c.want == http.StatusForbidden && !strings.Contains(w.Body.String(), "own pages") {
			t.Errorf("%s: message %s", c.name, w.Body)
		}
	}
}
