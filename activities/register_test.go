package activities

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/store"
)

// Found in review: a task user who controls one unquoted value in a skeleton's catalog-info.yaml
// (RHDH's skeletons/catalog-info has `type: ${{ values.applicationType }}`)
// reads any file the worker can read into a catalog entity, here the dev-mode
// secretbox key at <dataDir>/secret.key, via catalog:register catalogInfoPath.
func TestRegisterFromWorkspaceRefusesPlaceholders(t *testing.T) {
	sc, base := newScaffold(t)
	cat, st := newCatalog(t)
	sc.Catalog = cat
	sc.RegisteredDir = filepath.Join(base, "registered") // = <dataDir>/registered
	os.WriteFile(filepath.Join(base, "secret.key"), []byte("TOP-SECRET-AES-KEY"), 0o600)

	tplDir := filepath.Join(base, "tpl")
	os.MkdirAll(filepath.Join(tplDir, "skeleton"), 0o755)
	os.WriteFile(filepath.Join(tplDir, "skeleton", "catalog-info.yaml"), []byte(
		"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${{ values.name }}\nspec:\n  type: ${{ values.applicationType }}\n  lifecycle: production\n  owner: team-a\n"), 0o644)
	ctx := context.Background()
	task := "0b6f3b5e-1111-4222-8333-944455556666"
	_, err := sc.FetchTemplate(ctx, contract.ActionInput{TaskID: task, TemplateBaseURL: "file://" + tplDir + "/template.yaml", Input: map[string]any{
		"url": "./skeleton", "values": map[string]any{"name": "svc", "applicationType": "{$text: ../../secret.key}"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sc.CatalogRegister(ctx, contract.ActionInput{TaskID: task, Input: map[string]any{"catalogInfoPath": "catalog-info.yaml"}})
	if err == nil || !strings.Contains(err.Error(), "uses a $text placeholder") {
		t.Fatalf("want the placeholder refused, got %v", err)
	}
	if e, err := st.EntityByRef(ctx, "component:default/svc"); err == nil {
		t.Fatalf("registered anyway: %s", e.Body)
	}
}

// The same through a nested Location: absolute file targets are followed.
func TestRegisterFromWorkspaceRefusesLocations(t *testing.T) {
	sc, base := newScaffold(t)
	cat, st := newCatalog(t)
	sc.Catalog = cat
	sc.RegisteredDir = filepath.Join(base, "registered")
	other := filepath.Join(base, "elsewhere")
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, "x.yaml"), []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: outside}\nspec: {type: service, lifecycle: production, owner: team-a}\n"), 0o644)
	ctx := context.Background()
	task := "0b6f3b5e-1111-4222-8333-944455556667"
	sc.FsWrite(ctx, contract.ActionInput{TaskID: task, Input: map[string]any{"path": "catalog-info.yaml",
		"content": "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: l}\nspec: {type: file, target: " + other + "/*.yaml}\n"}})
	_, err := sc.CatalogRegister(ctx, contract.ActionInput{TaskID: task, Input: map[string]any{"catalogInfoPath": "catalog-info.yaml"}})
	if err == nil || !strings.Contains(err.Error(), "is a Location") {
		t.Fatalf("want the Location refused, got %v", err)
	}
	if _, err := st.EntityByRef(ctx, "component:default/outside"); err == nil {
		t.Fatalf("a task-registered file location read %s outside its directory", other)
	}
}

// catalog:register of a workspace file applies the worker's catalog.model:
// an entity of a declared kind is registered with its relations, one the
// kind's schema refuses is refused by field, and without the model the
// kind is unknown.
func TestRegisterFromWorkspaceFollowsModel(t *testing.T) {
	model, probs := catalog.NewModel([]catalog.KindDecl{{
		Kind: "Pipeline", APIVersions: []string{"ci.acme.com/v1"},
		Spec:      map[string]any{"type": "object", "required": []any{"owner"}, "properties": map[string]any{"owner": map[string]any{"type": "string"}}},
		Relations: []catalog.RelationDecl{{Field: "spec.owner", DefaultKind: "Group", Type: catalog.RelOwnedBy, Reverse: catalog.RelOwnerOf}},
	}}, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	ctx := context.Background()
	register := func(t *testing.T, m *catalog.Model, task, content string) (store.Store, error) {
		t.Helper()
		sc, base := newScaffold(t)
		cat, st := newCatalog(t)
		cat.Model = m
		cat.Rules.Global = []catalog.Rule{{Allow: []string{"Component", "Pipeline"}}}
		sc.Catalog = cat
		sc.RegisteredDir = filepath.Join(base, "registered")
		if _, err := sc.FsWrite(ctx, contract.ActionInput{TaskID: task, Input: map[string]any{"path": "catalog-info.yaml", "content": content}}); err != nil {
			t.Fatal(err)
		}
		_, err := sc.CatalogRegister(ctx, contract.ActionInput{TaskID: task, Input: map[string]any{"catalogInfoPath": "catalog-info.yaml"}})
		return st, err
	}
	const pipeline = "apiVersion: ci.acme.com/v1\nkind: Pipeline\nmetadata: {name: p}\nspec: {owner: team-a}\n"
	st, err := register(t, model, "0b6f3b5e-1111-4222-8333-944455556670", pipeline)
	if err != nil {
		t.Fatal(err)
	}
	e, err := st.EntityByRef(ctx, "pipeline:default/p")
	if err != nil || len(e.Relations) != 1 || e.Relations[0].Type != catalog.RelOwnedBy || e.Relations[0].Target != "group:default/team-a" {
		t.Fatalf("registered pipeline: %+v %v", e, err)
	}
	_, err = register(t, model, "0b6f3b5e-1111-4222-8333-944455556671", strings.Replace(pipeline, "{owner: team-a}", "{owner: [team-a]}", 1))
	if err == nil || !strings.Contains(err.Error(), "spec.owner: got array, want string") {
		t.Errorf("a pipeline its schema refuses: %v", err)
	}
	_, err = register(t, nil, "0b6f3b5e-1111-4222-8333-944455556672", pipeline)
	if err == nil || !strings.Contains(err.Error(), `unknown kind "Pipeline"`) {
		t.Errorf("without the model: %v", err)
	}
}
