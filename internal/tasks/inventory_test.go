package tasks

import (
	"reflect"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/store"
)

func inventoryTemplate(ref, steps string) *store.StoredEntity {
	return &store.StoredEntity{Ref: ref, Body: []byte(`{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template",
"metadata":{"name":"x"},"spec":{"owner":"group:default/a","type":"service","steps":` + steps + `}}`)}
}

func TestInventory(t *testing.T) {
	reg := contract.NewRegistry([]string{"fs:delete"})
	inv := BuildInventory([]*store.StoredEntity{
		inventoryTemplate("template:default/b", `[{"id":"a","action":"debug:log","input":{}},{"id":"b","action":"acme:deploy"}]`),
		inventoryTemplate("template:default/a", `[{"id":"a","action":"fetch:template","input":{"url":"./s"}},{"id":"b","action":"fs:delete","input":{"files":["x"]}},{"id":"c","action":"debug:log"}]`),
		{Ref: "template:default/bad", Body: []byte(`{"kind":"Template","spec":{"steps":"not a list"}}`)},
	}, reg)
	use := map[string]ActionUse{}
	for _, a := range inv.Actions {
		use[a.ID] = a
	}
	for id, want := range map[string]ActionUse{
		"debug:log":      {ID: "debug:log", Status: ActionAvailable, Queue: contract.QueueDefault, Templates: []string{"template:default/a", "template:default/b"}},
		"fs:delete":      {ID: "fs:delete", Status: ActionDisabled, Templates: []string{"template:default/a"}},
		"acme:deploy":    {ID: "acme:deploy", Status: ActionUnknown, Templates: []string{"template:default/b"}},
		"fetch:template": {ID: "fetch:template", Status: ActionAvailable, Queue: contract.QueueDefault, Templates: []string{"template:default/a"}},
		"fs:write":       {ID: "fs:write", Status: ActionAvailable, Queue: contract.QueueDefault, Templates: []string{}},
	} {
		if got := use[id]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, want %+v", id, got, want)
		}
	}
	if want := []TemplateUse{
		{Ref: "template:default/a", Actions: []string{"debug:log", "fetch:template", "fs:delete"}, Broken: []string{"fs:delete"}},
		{Ref: "template:default/b", Actions: []string{"acme:deploy", "debug:log"}, Broken: []string{"acme:deploy"}},
	}; !reflect.DeepEqual(inv.Templates, want) {
		t.Errorf("templates: %+v", inv.Templates)
	}
	if len(inv.Invalid) != 1 || inv.Invalid[0].Ref != "template:default/bad" || inv.Invalid[0].Error == "" {
		t.Errorf("invalid: %+v", inv.Invalid)
	}
	if got, want := inv.Breaks([]string{"debug:log", "fs:write", "fs:delete"}), map[string][]string{
		"debug:log": {"template:default/a", "template:default/b"}, "fs:delete": {"template:default/a"},
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("breaks: %v, want %v", got, want)
	}
}
