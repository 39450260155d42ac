package permission

import "testing"

// TestActionsNeedTheirRoutesScopes: an action that reads or writes the
// catalog needs the scope of the catalog route that does the same; a
// service holds only its scopes; a user is not limited by scopes.
func TestActionsNeedTheirRoutesScopes(t *testing.T) {
	if got, want := ActionScope("catalog:fetch"), RequiredScope("GET", "/api/catalog/entities/by-name/:kind/:namespace/:name"); got != want || got != CatalogRead {
		t.Errorf("catalog:fetch needs %q; its route %q", got, want)
	}
	if got, want := ActionScope("catalog:register"), RequiredScope("POST", "/api/catalog/locations"); got != want || got != CatalogWrite {
		t.Errorf("catalog:register needs %q; its route %q", got, want)
	}
	for _, a := range []string{"catalog:write", "fs:write", "fetch:plain", "debug:log"} {
		if s := ActionScope(a); s != "" {
			t.Errorf("%s needs %q; it touches only the workspace", a, s)
		}
	}
	cases := []struct {
		who   Subject
		scope string
		want  bool
	}{
		{Subject{Service: true, Scopes: []string{ScaffolderRun}}, CatalogRead, false},
		{Subject{Service: true, Scopes: []string{ScaffolderRun, CatalogRead}}, CatalogRead, true},
		{Subject{Service: true, Scopes: []string{ScaffolderRun, CatalogRead}}, CatalogWrite, false},
		{Subject{Service: true, Scopes: []string{CatalogWrite}}, CatalogRead, true},
		{Subject{Service: true, Scopes: []string{All}}, CatalogWrite, true},
		{Subject{Service: true}, CatalogRead, false},
		{Subject{Ref: "user:default/guest"}, CatalogWrite, true},
	}
	for _, c := range cases {
		if got := c.who.Allows(c.scope); got != c.want {
			t.Errorf("%+v.Allows(%s) = %v, want %v", c.who, c.scope, got, c.want)
		}
	}
}
