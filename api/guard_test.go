package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
)

// TestBrowserGuard: in dev (guest, no token) a page in the user's browser
// can neither post text/plain or forms, nor post from another origin, nor
// reach the API through a rebound host name; loopback names, the baseUrl
// host and origin, JSON and bodiless changes pass.
func TestBrowserGuard(t *testing.T) {
	st := testStore(t)
	srv := New(Deps{
		Logger:     discardLogger(),
		Auth:       auth.Guest{},
		Dev:        true,
		BaseURL:    "https://rigger.example.com",
		Catalog:    CatalogDeps{Store: st},
		Scaffolder: ScaffolderDeps{Actions: contract.NewRegistry(nil)},
	})
	const validate = "/api/catalog/validate-entity"
	entity := `{"entity":{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"a"},"spec":{"type":"service","lifecycle":"x","owner":"me"}}}`
	cases := []struct {
		name, method, path, host, origin, ct, body string
		want                                       int
	}{
		{"json from loopback", "POST", validate, "127.0.0.1:7007", "", "application/json", entity, http.StatusOK},
		{"json with charset", "POST", validate, "localhost:7007", "", "application/json; charset=utf-8", entity, http.StatusOK},
		{"ipv6 loopback", "POST", validate, "[::1]:7007", "", "application/json", entity, http.StatusOK},
		{"same origin", "POST", validate, "127.0.0.1:7007", "http://127.0.0.1:7007", "application/json", entity, http.StatusOK},
		{"baseUrl origin and host", "POST", validate, "rigger.example.com", "https://rigger.example.com", "application/json", entity, http.StatusOK},
		{"text/plain", "POST", validate, "127.0.0.1:7007", "", "text/plain", entity, http.StatusUnsupportedMediaType},
		{"form", "POST", validate, "127.0.0.1:7007", "", "application/x-www-form-urlencoded", "entity=x", http.StatusUnsupportedMediaType},
		{"body without a type", "POST", validate, "127.0.0.1:7007", "", "", entity, http.StatusUnsupportedMediaType},
		{"text/plain to the dev route", "POST", "/api/dev/hello", "127.0.0.1:7007", "", "text/plain;charset=UTF-8", `{"name":"x"}`, http.StatusUnsupportedMediaType},
		{"cross-origin json", "POST", validate, "127.0.0.1:7007", "http://evil.example", "application/json", entity, http.StatusForbidden},
		{"other loopback port", "POST", validate, "127.0.0.1:7007", "http://localhost:3000", "application/json", entity, http.StatusForbidden},
		{"null origin", "DELETE", "/api/catalog/locations/x", "127.0.0.1:7007", "null", "", "", http.StatusForbidden},
		{"cross-origin delete", "DELETE", "/api/catalog/locations/x", "127.0.0.1:7007", "https://evil.example", "", "", http.StatusForbidden},
		{"bodiless delete", "DELETE", "/api/catalog/locations/x", "127.0.0.1:7007", "", "", "", http.StatusNotFound},
		{"rebound host", "GET", "/api/catalog/entities", "evil.example:7007", "", "", "", http.StatusMisdirectedRequest},
		{"rebound host posting", "POST", validate, "attacker.test", "http://attacker.test", "application/json", entity, http.StatusMisdirectedRequest},
		{"loopback lookalike", "GET", "/api/catalog/entities", "127.0.0.1.evil.example", "", "", "", http.StatusMisdirectedRequest},
		{"cross-origin GET is a read", "GET", "/api/catalog/entities", "127.0.0.1:7007", "http://evil.example", "", "", http.StatusOK},
		{"probe with a pod address", "GET", "/healthz", "10.1.2.3:7007", "", "", "", http.StatusOK},
	}
	for _, c := range cases {
		req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		req.Host = c.host
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		if c.ct != "" {
			req.Header.Set("Content-Type", c.ct)
		}
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		if w.Code != c.want {
			t.Errorf("%s: %d, want %d: %s", c.name, w.Code, c.want, w.Body.String())
		}
	}
}
