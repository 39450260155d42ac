package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/tasks"
	"github.com/riggerdev/rigger/templates"
	"github.com/riggerdev/rigger/workflows"
)

// refuseTemplates is an Authorizer that refuses every template action.
type refuseTemplates struct{ tasks.DefaultAuthorizer }

func (refuseTemplates) Template(_ context.Context, _ auth.Identity, action string, _ tasks.TemplateInfo) error {
	return errors.New("refused by the test policy: " + action)
}

// unreachableAuthorizer cannot decide: the database its checks read
// broke in use (the ConnError a store gives, with the database's address).
type unreachableAuthorizer struct{ tasks.DefaultAuthorizer }

func (unreachableAuthorizer) Template(context.Context, auth.Identity, string, tasks.TemplateInfo) error {
	return &store.ConnError{Err: &net.OpError{Op: "read", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 9, 8, 7), Port: 5432}, Err: errors.New("connection reset by peer")}}
}

// TestScaffolderRoutesAskTheConfiguredAuthorizer: ScaffolderDeps.Authorizer
// is what the routes ask: with one that refuses templates, the parameter
// schema is not found (404) and a dry run forbidden (403, with its reason)
// before anything runs; without it (today's rules) both answer 200.
func TestScaffolderRoutesAskTheConfiguredAuthorizer(t *testing.T) {
	st := testStore(t)
	loc, err := st.AddLocation(t.Context(), store.Location{Type: "file", Target: "/t.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	tpl := `{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"t","namespace":"default"},"spec":{"type":"x","steps":[{"id":"a","action":"debug:log","input":{"message":"hi"}}]}}`
	if _, err := st.ReplaceLocation(t.Context(), loc.ID, []store.Entity{{Ref: "template:default/t", Body: []byte(tpl), Hash: "1"}},
		store.ReplaceOptions{Orphans: store.OrphanDelete}); err != nil {
		t.Fatal(err)
	}
	ran := 0
	dryRun := func(context.Context, templates.Plan, map[string]string, []contract.DryRunFile, permission.Subject) (*workflows.DryRunResult, error) {
		ran++
		return &workflows.DryRunResult{}, nil
	}
	for _, c := range []struct {
		name             string
		authz            tasks.Authorizer
		schema, dry, ran int
	}{
		{"refusing", refuseTemplates{}, http.StatusNotFound, http.StatusForbidden, 0},
		{"default", nil, http.StatusOK, http.StatusOK, 1},
		// A check that cannot decide is no refusal (review 34 L2): 503,
		// without the database's address.
		{"unreachable", unreachableAuthorizer{}, http.StatusServiceUnavailable, http.StatusServiceUnavailable, 0},
	} {
		ran = 0
		srv := New(Deps{Logger: discardLogger(), Auth: auth.Guest{}, Catalog: CatalogDeps{Store: st},
			Scaffolder: ScaffolderDeps{Actions: contract.NewRegistry(nil), DryRun: dryRun, Authorizer: c.authz}})
		for _, r := range []struct {
			method, path, body string
			want               int
		}{
			{"GET", "/api/scaffolder/v2/templates/default/template/t/parameter-schema", "", c.schema},
			{"POST", "/api/scaffolder/v2/dry-run", `{"template":` + tpl + `}`, c.dry},
		} {
			req := loopbackRequest(r.method, r.path, strings.NewReader(r.body))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			srv.Handler().ServeHTTP(w, req)
			if w.Code != r.want || (r.want == http.StatusForbidden && !strings.Contains(w.Body.String(), "refused by the test policy")) ||
				strings.Contains(w.Body.String(), "10.9.8.7") {
				t.Errorf("%s: %s %s: %d %s, want %d", c.name, r.method, r.path, w.Code, w.Body.String(), r.want)
			}
		}
		if ran != c.ran {
			t.Errorf("%s: the dry run ran %d times, want %d", c.name, ran, c.ran)
		}
	}
}
