package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/catalog"
)

// TestValidateEntityLimits: validate-entity applies the catalog's limits
// (nesting depth, string length, entity size) like a location's files.
func TestValidateEntityLimits(t *testing.T) {
	st := testStore(t)
	lim := catalog.DefaultLimits()
	lim.EntityBytes = 100 << 10
	srv := New(Deps{
		Logger:     discardLogger(),
		Auth:       auth.Guest{},
		Catalog:    CatalogDeps{Store: st, Limits: lim},
		Scaffolder: ScaffolderDeps{Actions: contract.NewRegistry(nil)},
	})
	entity := func(extra string) string {
		return `{"entity":{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"a"},` +
			`"spec":{"type":"service","lifecycle":"x","owner":"me","extra":` + extra + `}}}`
	}
	nest := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	for _, c := range []struct {
		name, body string
		want       int
		contains   string
	}{
		{"within the limits", entity(nest(10)), http.StatusOK, ""},
		{"too deep", entity(nest(70)), http.StatusBadRequest, "deeper than the limit of 64"},
		{"string too long", entity(`"` + strings.Repeat("x", 70000) + `"`), http.StatusBadRequest, "more than the limit of 65536"},
		{"entity too big", entity(`[` + strings.Repeat(`"`+strings.Repeat("y", 1000)+`",`, 120) + `1]`), http.StatusBadRequest, "more than the limit of 102400"},
	} {
		req := loopbackRequest("POST", "/api/catalog/validate-entity", strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		if w.Code != c.want || !strings.Contains(w.Body.String(), c.contains) {
			t.Errorf("%s: %d, want %d with %q: %.300s", c.name, w.Code, c.want, c.contains, w.Body.String())
		}
	}
}
