package catalog

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// A form shows a template's fields in the order the author wrote them.
// Backstage's catalog keeps that order for free (a JavaScript object keeps
// its keys' order); an entity here is a Go map, which does not. So
// fieldOrder writes the order down where every form engine reads it: each
// object schema of a Template's spec.parameters with two or more
// properties and no ui:order of its own gets one, its properties as
// written and then "*" (for properties that dependencies or oneOf add).

// maxOrderDepth bounds the walk; the document was screened for depth.
const maxOrderDepth = 32

// fieldOrder adds the ui:order of every parameter schema of template e,
// read from its document root.
func fieldOrder(root *yaml.Node, e Entity) {
	if !strings.EqualFold(e.Kind(), "Template") {
		return
	}
	params := child(child(root, "spec"), "parameters")
	if params == nil {
		return
	}
	switch v := e.Spec()["parameters"].(type) {
	case []any:
		if params.Kind != yaml.SequenceNode || len(params.Content) != len(v) {
			return
		}
		for i, page := range v {
			if m, ok := page.(map[string]any); ok {
				orderSchema(params.Content[i], m, 0)
			}
		}
	case map[string]any:
		orderSchema(params, v, 0)
	}
}

// orderSchema adds ui:order to schema m (written as node n) and to the
// object schemas in its properties and items.
func orderSchema(n *yaml.Node, m map[string]any, depth int) {
	if n == nil || n.Kind != yaml.MappingNode || depth > maxOrderDepth {
		return
	}
	if props, pm := child(n, "properties"), asMap(m["properties"]); props != nil && props.Kind == yaml.MappingNode && pm != nil {
		if _, has := m["ui:order"]; !has && len(props.Content) >= 4 {
			order := make([]any, 0, len(props.Content)/2+1)
			for i := 0; i+1 < len(props.Content); i += 2 {
				order = append(order, props.Content[i].Value)
			}
			m["ui:order"] = append(order, "*")
		}
		for i := 0; i+1 < len(props.Content); i += 2 {
			if sub := asMap(pm[props.Content[i].Value]); sub != nil {
				orderSchema(props.Content[i+1], sub, depth+1)
			}
		}
	}
	if items := asMap(m["items"]); items != nil {
		orderSchema(child(n, "items"), items, depth+1)
	}
}

// child is the value of key in mapping node n, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
