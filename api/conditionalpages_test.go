package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/templates"
	"github.com/riggerdev/rigger/workflows"
)

// conditionalTemplate has a page shown only when needsDatabase is set, a
// page never shown, and a JSON Schema if/then on the first page (not a
// page condition).
const conditionalTemplate = `{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template",
"metadata":{"name":"cond","namespace":"default","title":"Conditional"},
"spec":{"type":"service","parameters":[
 {"title":"Service","required":["name"],"properties":{"name":{"type":"string"},"needsDatabase":{"type":"boolean"}},
  "if":{"properties":{"name":{"const":"x"}}},"then":{"required":["needsDatabase"]}},
 {"title":"Database","if":"${{ parameters.needsDatabase }}","required":["dbName"],"properties":{"dbName":{"type":"string","pattern":"^[a-z]+$"}}},
 {"title":"Never","if":false,"required":["ghost"],"properties":{"ghost":{"type":"integer"}}}
],
"steps":[{"id":"a","action":"debug:log","input":{"message":"hi"}}]}}`

// TestParameterSchemaConditionalPages: each step carries its page's if as
// written, the schema without it; a JSON Schema if stays in the schema.
func TestParameterSchemaConditionalPages(t *testing.T) {
	srv := conditionalServer(t, nil)
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, loopbackRequest("GET", "/api/scaffolder/v2/templates/default/template/cond/parameter-schema", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var got struct {
		Title string
		Steps []map[string]any
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Title != "Conditional" || len(got.Steps) != 3 {
		t.Fatalf("%s", w.Body)
	}
	wantIf := []any{nil, "${{ parameters.needsDatabase }}", false}
	for i, st := range got.Steps {
		cond, has := st["if"]
		if (wantIf[i] == nil) == has || (has && cond != wantIf[i]) {
			t.Errorf("step %d: if %v (present %v), want %v", i, cond, has, wantIf[i])
		}
		schema := st["schema"].(map[string]any)
		if _, inSchema := schema["if"]; inSchema != (i == 0) {
			t.Errorf("step %d: schema %v: a page condition must leave the schema, JSON Schema's if stay", i, schema)
		}
		if schema["title"] != st["title"] || schema["required"] == nil {
			t.Errorf("step %d: schema lost keys: %v", i, schema)
		}
	}
}

// TestDryRunHonoursConditionalPages: POST /v2/dry-run validates values
// against the shown pages only and runs with the hidden pages' values
// dropped.
func TestDryRunHonoursConditionalPages(t *testing.T) {
	var ran map[string]any
	srv := conditionalServer(t, func(_ context.Context, p templates.Plan, _ map[string]string, _ []contract.DryRunFile, _ permission.Subject) (*workflows.DryRunResult, error) {
		ran = p.Parameters
		return &workflows.DryRunResult{}, nil
	})
	for _, c := range []struct {
		name, values string
		code         int
		contains     string
		params       map[string]any
	}{
		{"hidden page not required, its values dropped", `{"name":"a","dbName":"NOT VALID","ghost":"x"}`, http.StatusOK, "", map[string]any{"name": "a"}},
		{"shown page required", `{"name":"a","needsDatabase":true}`, http.StatusBadRequest, `parameters.dbName: required (page 2 \"Database\")`, nil},
		{"shown page kept", `{"name":"a","needsDatabase":true,"dbName":"orders"}`, http.StatusOK, "", map[string]any{"name": "a", "needsDatabase": true, "dbName": "orders"}},
	} {
		ran = nil
		body := `{"template":` + conditionalTemplate + `,"values":` + c.values + `}`
		req := loopbackRequest("POST", "/api/scaffolder/v2/dry-run", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		if w.Code != c.code || !strings.Contains(w.Body.String(), c.contains) {
			t.Errorf("%s: %d %s; want %d with %s", c.name, w.Code, w.Body, c.code, c.contains)
			continue
		}
		if !reflect.DeepEqual(ran, c.params) {
			t.Errorf("%s: ran with %v, want %v", c.name, ran, c.params)
		}
	}
}

func conditionalServer(t *testing.T, dryRun DryRunFunc) *Server {
	t.Helper()
	st := testStore(t)
	loc, err := st.AddLocation(t.Context(), store.Location{Type: "file", Target: "/t.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ReplaceLocation(t.Context(), loc.ID, []store.Entity{{Ref: "template:default/cond", Body: []byte(conditionalTemplate), Hash: "1"}},
		store.ReplaceOptions{Orphans: store.OrphanDelete}); err != nil {
		t.Fatal(err)
	}
	return New(Deps{Logger: discardLogger(), Auth: auth.Guest{}, Catalog: CatalogDeps{Store: st},
		Scaffolder: ScaffolderDeps{Actions: contract.NewRegistry(nil), DryRun: dryRun}})
}
