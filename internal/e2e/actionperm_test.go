package e2e

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const fetchTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: fetches}
spec:
  type: service
  steps:
    - {id: fetch, name: Fetch, action: catalog:fetch, input: {entityRef: "component:default/billing"}}
    - {id: show, name: Show, action: debug:log, input: {message: "owner ${{ steps.fetch.output.entity.spec.owner }}"}}
`

// Service tokens of TestActionsActWithTheUsersPermissions.
const (
	runOnlyToken = "run-only-token-0123456789-abcdefghijklmn"
	readerToken  = "run-read-token-0123456789-abcdefghijklmn"
)

// waitTaskAs polls a task with a bearer token until it leaves processing.
func waitTaskAs(t *testing.T, token, api, id string) taskResp {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var tr taskResp
	for time.Now().Before(deadline) {
		if code := doJSONAs(t, token, "GET", api+"/api/scaffolder/v2/tasks/"+id, nil, &tr); code != http.StatusOK {
			t.Fatalf("get task: %d", code)
		}
		if tr.Status != "processing" {
			return tr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("task %s still processing", id)
	return tr
}

// TestActionsActWithTheUsersPermissions: an action that reads rigger's
// catalog checks the permission the catalog API would, for the user the
// run belongs to (from the signed run). In the production shape (rigger
// server + rigger worker, service tokens): a token with only
// scaffolder.run gets 403 on the catalog API, and its task and its dry run
// of a template with catalog:fetch fail that step with a permission error;
// with scaffolder.run and catalog.read both complete.
func TestActionsActWithTheUsersPermissions(t *testing.T) {
	needBinary(t)
	_, temporal := startTemporalOnly(t, t.TempDir())
	dir := t.TempDir()
	tpl := filepath.Join(dir, "template.yaml")
	os.WriteFile(tpl, []byte(fetchTemplate), 0o600)
	comp := filepath.Join(dir, "billing.yaml")
	os.WriteFile(comp, []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: billing}\nspec: {type: service, lifecycle: production, owner: team-secret}\n"+
		"---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: vault, annotations: {rigger.dev/sensitive: 'true'}}\nspec: {type: service, lifecycle: production, owner: team-hidden}\n"), 0o600)
	hiddenTpl := filepath.Join(dir, "hidden.yaml")
	os.WriteFile(hiddenTpl, []byte(strings.NewReplacer("name: fetches", "name: fetches-hidden", "component:default/billing", "component:default/vault").Replace(fetchTemplate)), 0o600)
	// The default policy, and services may not read sensitive entities.
	defaultPolicy, _ := filepath.Abs(filepath.Join("..", "..", "examples", "policies", "default.cedar"))
	servicePolicy := filepath.Join(dir, "services.cedar")
	os.WriteFile(servicePolicy, []byte(`forbid (principal is Rigger::Service, action == Rigger::Action::"catalog.entity.read", resource is Rigger::Entity)
when { resource.annotations has "rigger.dev/sensitive" && resource.annotations["rigger.dev/sensitive"] == "true" };
`), 0o600)
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	cfg := filepath.Join(dir, "rigger.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`server: {dataDir: %s}
catalog:
  locations:
    - {type: file, target: %s}
    - {type: file, target: %s}
    - {type: file, target: %s}
scaffolder:
  runSigningKey: ${RUN_KEY}
permission:
  policyFiles: [%s, %s]
auth:
  serviceTokens:
    - {name: runner, token: %s, scopes: [scaffolder.run]}
    - {name: reader, token: %s, scopes: [scaffolder.run, catalog.read]}
`, filepath.Join(dir, "data"), tpl, comp, hiddenTpl, defaultPolicy, servicePolicy, runOnlyToken, readerToken)), 0o600)
	env := cleanEnv("RIGGER_CONFIG="+cfg, "RIGGER_TEMPORAL_ADDRESS="+temporal, "RUN_KEY="+key)
	w := startBin(t, riggerBin, dir, env, "worker", "--queue", "rigger-default")
	w.waitStdout(t, "Rigger worker is ready", 60*time.Second)
	api := freePorts(t).api
	s := startBin(t, riggerBin, dir, env, "server", "--listen", fmt.Sprintf("127.0.0.1:%d", api))
	s.api = fmt.Sprintf("http://127.0.0.1:%d", api)
	s.waitReady(t, 60*time.Second)
	deadline := time.Now().Add(60 * time.Second)
	for doJSONAs(t, readerToken, "GET", s.api+"/api/catalog/entities/by-name/template/default/fetches", nil, nil) != http.StatusOK ||
		doJSONAs(t, readerToken, "GET", s.api+"/api/catalog/entities/by-name/template/default/fetches-hidden", nil, nil) != http.StatusOK ||
		doJSONAs(t, readerToken, "GET", s.api+"/api/catalog/entities/by-name/component/default/billing", nil, nil) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the catalog never held the template and the component")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The server tells operators the public key for workers, never the key.
	if out := s.stderr.String() + w.stderr.String(); !strings.Contains(s.stderr.String(), `"runSigningPublicKey":"ed25519-public:`) || strings.Contains(out, key) {
		t.Errorf("the server should log the public run signing key and no process the private one:\n%s", tail(out, 4000))
	}
	if code := doJSONAs(t, runOnlyToken, "GET", s.api+"/api/catalog/entities", nil, nil); code != http.StatusForbidden {
		t.Errorf("GET /api/catalog/entities with only scaffolder.run: %d, want 403", code)
	}
	const denied = "permission denied: catalog:fetch needs the catalog.read scope, which service:runner lacks"
	template := map[string]any{"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": map[string]any{"name": "fetches"},
		"spec": map[string]any{"type": "service", "steps": []any{
			map[string]any{"id": "fetch", "name": "Fetch", "action": "catalog:fetch", "input": map[string]any{"entityRef": "component:default/billing"}},
		}}}
	for _, c := range []struct {
		name, token string
		allowed     bool
	}{{"scaffolder.run only", runOnlyToken, false}, {"scaffolder.run and catalog.read", readerToken, true}} {
		t.Run(c.name, func(t *testing.T) {
			var created struct{ ID string }
			if code := doJSONAs(t, c.token, "POST", s.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/fetches"}, &created); code != http.StatusCreated {
				t.Fatalf("create task: %d", code)
			}
			tr := waitTaskAs(t, c.token, s.api, created.ID)
			if c.allowed && tr.Status != "completed" {
				t.Errorf("task: %+v, want completed", tr)
			}
			if !c.allowed && (tr.Status != "failed" || len(tr.Steps) == 0 || tr.Steps[0].ID != "fetch" || !strings.Contains(tr.Steps[0].Error, denied)) {
				t.Errorf("task: %+v, want its fetch step failed with %q", tr, denied)
			}
			var events []struct {
				Body struct{ Message string } `json:"body"`
			}
			doJSONAs(t, c.token, "GET", s.api+"/api/scaffolder/v2/tasks/"+created.ID+"/events", nil, &events)
			if leaked := strings.Contains(fmt.Sprint(events), "team-secret"); leaked != c.allowed {
				t.Errorf("the entity's owner in the task's events: %v, want %v: %v", leaked, c.allowed, events)
			}

			var dry struct {
				Status string
				Error  struct{ Message string }
				Steps  []struct{ ID, Status string }
			}
			if code := doJSONAs(t, c.token, "POST", s.api+"/api/scaffolder/v2/dry-run", map[string]any{"template": template, "values": map[string]any{}}, &dry); code != http.StatusOK {
				t.Fatalf("dry run: %d", code)
			}
			if c.allowed && dry.Status != "completed" {
				t.Errorf("dry run: %+v, want completed", dry)
			}
			if !c.allowed && (dry.Status != "failed" || !strings.Contains(dry.Error.Message, denied)) {
				t.Errorf("dry run: %+v, want failed with %q", dry, denied)
			}
		})
	}

	// An entity the policy hides from the reader (sensitive, another
	// team's) is hidden from its actions too: the API answers 404, and
	// catalog:fetch finds nothing, in a task and in a dry run, and shows
	// nothing of it.
	t.Run("hidden entity", func(t *testing.T) {
		if code := doJSONAs(t, readerToken, "GET", s.api+"/api/catalog/entities/by-name/component/default/vault", nil, nil); code != http.StatusNotFound {
			t.Fatalf("the reader reads the sensitive entity through the API: %d, want 404", code)
		}
		var created struct{ ID string }
		if code := doJSONAs(t, readerToken, "POST", s.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/fetches-hidden"}, &created); code != http.StatusCreated {
			t.Fatalf("create task: %d", code)
		}
		tr := waitTaskAs(t, readerToken, s.api, created.ID)
		if tr.Status != "failed" || len(tr.Steps) == 0 || !strings.Contains(tr.Steps[0].Error, "component:default/vault not found") {
			t.Errorf("task fetching a hidden entity: %+v, want its fetch step failed with not found", tr)
		}
		var events []struct {
			Body struct{ Message string } `json:"body"`
		}
		doJSONAs(t, readerToken, "GET", s.api+"/api/scaffolder/v2/tasks/"+created.ID+"/events", nil, &events)
		if strings.Contains(fmt.Sprint(events), "team-hidden") {
			t.Errorf("the hidden entity's owner is in the task's events: %v", events)
		}
		hidden := map[string]any{"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": map[string]any{"name": "peek"},
			"spec": map[string]any{"type": "service", "owner": "team-a", "steps": []any{
				map[string]any{"id": "fetch", "name": "Fetch", "action": "catalog:fetch", "input": map[string]any{"entityRef": "component:default/vault"}},
				map[string]any{"id": "show", "name": "Show", "action": "debug:log", "input": map[string]any{"message": "owner ${{ steps.fetch.output.entity.spec.owner }}"}},
			}}}
		var raw map[string]any
		if code := doJSONAs(t, readerToken, "POST", s.api+"/api/scaffolder/v2/dry-run", map[string]any{"template": hidden, "values": map[string]any{}}, &raw); code != http.StatusOK {
			t.Fatalf("dry run: %d", code)
		}
		if text := fmt.Sprint(raw); strings.Contains(text, "team-hidden") || !strings.Contains(text, "not found") {
			t.Errorf("a dry run fetching a hidden entity: %s; want it not found, its owner absent", text)
		}
	})
}
