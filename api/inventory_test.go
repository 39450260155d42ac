package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/tasks"
)

// inventoryCatalog: team-a's open template and team-b's sensitive one,
// which uses an action nobody else's template uses.
const inventoryCatalog = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-b}
spec: {type: team, children: []}
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: open-hello}
spec: {type: service, owner: team-a, steps: [{id: log, action: 'debug:log', input: {message: hi}}]}
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: hidden-db
  annotations: {rigger.dev/sensitive: "true"}
spec: {type: resource, owner: team-b, steps: [{id: w, action: 'fs:delete', input: {files: [x]}}]}
`

// TestInventoryHidesUnreadableTemplates: the inventory is built over the
// templates the caller may read, so alice (team-a) learns neither the
// name of team-b's sensitive template nor that it uses fs:delete, while
// carol of the platform team sees both.
func TestInventoryHidesUnreadableTemplates(t *testing.T) {
	base, _ := catalogServer(t, inventoryCatalog)
	pol, err := permission.Default()
	if err != nil {
		t.Fatal(err)
	}
	users := fakeSignIn{
		"alice": {Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-a"}},
		"carol": {Ref: "user:default/carol", Ent: []string{"user:default/carol", "group:default/platform-team"}},
	}
	srv := New(Deps{Logger: discardLogger(), Auth: users, Policy: pol,
		Catalog:    CatalogDeps{Store: base.deps.Catalog.Store},
		Scaffolder: ScaffolderDeps{Actions: contract.NewRegistry(nil)}})
	for _, c := range []struct {
		user string
		want []string
	}{
		{"alice", []string{"template:default/open-hello"}},
		{"carol", []string{"template:default/hidden-db", "template:default/open-hello"}},
	} {
		var inv tasks.Inventory
		if code := call(t, srv, c.user, "GET", "/api/scaffolder/v2/inventory", "", &inv); code != http.StatusOK {
			t.Fatalf("%s: inventory answered %d", c.user, code)
		}
		var got []string
		for _, tu := range inv.Templates {
			got = append(got, tu.Ref)
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s's inventory lists templates %v, want %v", c.user, got, c.want)
		}
		var deleters []string
		for _, a := range inv.Actions {
			if a.ID == "fs:delete" {
				deleters = a.Templates
			}
		}
		seesHidden := slices.Contains(deleters, "template:default/hidden-db")
		if seesHidden != (c.user == "carol") {
			t.Errorf("%s: fs:delete used by %v", c.user, deleters)
		}
	}
	var raw json.RawMessage
	call(t, srv, "alice", "GET", "/api/scaffolder/v2/inventory", "", &raw)
	if len(raw) == 0 || strings.Contains(string(raw), "hidden-db") {
		t.Errorf("alice's inventory names the hidden template (or is empty): %s", raw)
	}
}
