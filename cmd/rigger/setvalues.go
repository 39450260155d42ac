package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// parameterSchema maps each parameter name of a template to its JSON Schema,
// gathered from every parameter page (and the properties of its
// dependencies, allOf/anyOf/oneOf and then/else branches). A nil schema
// knows no parameter: every --set value stays a string.
type parameterSchema map[string]map[string]any

// newParameterSchema gathers the properties of the template's parameter
// pages; the first definition of a name wins.
func newParameterSchema(pages []map[string]any) parameterSchema {
	ps := parameterSchema{}
	for _, p := range pages {
		ps.gather(p, 0)
	}
	return ps
}

func (ps parameterSchema) gather(s map[string]any, depth int) {
	if s == nil || depth > 16 {
		return
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for name, v := range props {
			if m, ok := v.(map[string]any); ok {
				if _, seen := ps[name]; !seen {
					ps[name] = m
				}
			}
		}
	}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		if list, ok := s[key].([]any); ok {
			for _, item := range list {
				m, _ := item.(map[string]any)
				ps.gather(m, depth+1)
			}
		}
	}
	for _, key := range []string{"then", "else"} {
		m, _ := s[key].(map[string]any)
		ps.gather(m, depth+1)
	}
	if deps, ok := s["dependencies"].(map[string]any); ok {
		for _, d := range deps {
			m, _ := d.(map[string]any)
			ps.gather(m, depth+1)
		}
	}
}

// convert turns the text of --set key=value into the type the parameter's
// schema declares, as Backstage's form would send it: integer, number,
// boolean, array (a,b,c or a JSON array; items converted by their type) and
// object (JSON). Anything else, and unknown parameters, stay strings.
func (ps parameterSchema) convert(key, val string) (any, error) {
	return convertValue(ps[key], val)
}

func convertValue(schema map[string]any, val string) (any, error) {
	switch schemaType(schema) {
	case "integer":
		i, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer (the parameter's type is integer)", val)
		}
		return i, nil
	case "number":
		f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number (the parameter's type is number)", val)
		}
		return f, nil
	case "boolean":
		switch strings.ToLower(strings.TrimSpace(val)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not a boolean: write true or false", val)
	case "array":
		if t := strings.TrimSpace(val); strings.HasPrefix(t, "[") {
			var out []any
			if err := json.Unmarshal([]byte(t), &out); err != nil {
				return nil, fmt.Errorf("%q is not a JSON array: %v", val, err)
			}
			return out, nil
		}
		out := []any{}
		if strings.TrimSpace(val) == "" {
			return out, nil
		}
		items, _ := schema["items"].(map[string]any)
		for _, part := range strings.Split(val, ",") {
			v, err := convertValue(items, strings.TrimSpace(part))
			if err != nil {
				return nil, fmt.Errorf("item %w", err)
			}
			out = append(out, v)
		}
		return out, nil
	case "object":
		var out map[string]any
		if err := json.Unmarshal([]byte(val), &out); err != nil {
			return nil, fmt.Errorf("%q is not a JSON object (the parameter's type is object)", val)
		}
		return out, nil
	}
	return val, nil
}

// schemaType is the schema's type; of a list of types, the first that is
// not null.
func schemaType(schema map[string]any) string {
	switch t := schema["type"].(type) {
	case string:
		return t
	case []any:
		for _, x := range t {
			if s, ok := x.(string); ok && s != "null" {
				return s
			}
		}
	}
	return ""
}

// parameterSchema fetches a template's parameter schema from the server.
func (a *apiClient) parameterSchema(ctx context.Context, ref string) (parameterSchema, error) {
	kind, rest, ok := strings.Cut(ref, ":")
	if !ok {
		kind, rest = "template", ref
	}
	ns, name, ok := strings.Cut(rest, "/")
	if !ok {
		ns, name = "default", rest
	}
	var resp struct {
		Steps []struct {
			Schema map[string]any `json:"schema"`
		} `json:"steps"`
	}
	path := fmt.Sprintf("/api/scaffolder/v2/templates/%s/%s/%s/parameter-schema", url.PathEscape(ns), url.PathEscape(kind), url.PathEscape(name))
	if err := a.doContext(ctx, "GET", path, nil, &resp); err != nil {
		return nil, err
	}
	pages := make([]map[string]any, 0, len(resp.Steps))
	for _, s := range resp.Steps {
		pages = append(pages, s.Schema)
	}
	return newParameterSchema(pages), nil
}
