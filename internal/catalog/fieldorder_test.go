package catalog

import (
	"reflect"
	"testing"
)

func TestTemplateFieldOrderKept(t *testing.T) {
	const doc = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: ordered}
spec:
  type: service
  parameters:
    - title: Service
      properties:
        zeta: {type: string}
        alpha: {type: string}
        middle:
          type: object
          properties:
            yes: {type: boolean}
            no: {type: boolean}
        list:
          type: array
          items:
            type: object
            properties:
              second: {type: string}
              first: {type: string}
    - title: Chosen by the author
      ui:order: [b, a]
      properties:
        b: {type: string}
        a: {type: string}
    - title: One field
      properties:
        only: {type: string}
  steps:
    - {id: a, action: debug:log, input: {message: hi}}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: c}
spec:
  type: service
  lifecycle: production
  owner: team-a
  properties:
    z: 1
    a: 2
`
	docs, err := Parse("t.yaml", []byte(doc), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	pages := docs[0].Entity.Spec()["parameters"].([]any)
	page := func(i int) map[string]any { return pages[i].(map[string]any) }
	props := page(0)["properties"].(map[string]any)
	for _, c := range []struct {
		where string
		got   any
		want  []any
	}{
		{"page 1", page(0)["ui:order"], []any{"zeta", "alpha", "middle", "list", "*"}},
		{"an object property", props["middle"].(map[string]any)["ui:order"], []any{"yes", "no", "*"}},
		{"a list's items", props["list"].(map[string]any)["items"].(map[string]any)["ui:order"], []any{"second", "first", "*"}},
		{"the author's own order", page(1)["ui:order"], []any{"b", "a"}},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: ui:order %v, want %v", c.where, c.got, c.want)
		}
	}
	if o, has := page(2)["ui:order"]; has {
		t.Errorf("a page of one field got ui:order %v", o)
	}
	if o, has := docs[1].Entity.Spec()["ui:order"]; has {
		t.Errorf("a Component got ui:order %v", o)
	}
}
