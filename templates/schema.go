package templates

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/riggerdev/rigger/internal/jschema"
)

// JSON Schema handling: parameter pages and action input schemas are
// draft-07 schemas compiled with santhosh-tekuri/jsonschema. Keywords the
// library does not know (ui:*, enumNames, Backstage field options) are
// ignored. Remote and file $refs are refused: a schema can only refer to
// itself.

// compileSchema compiles one schema document. name only labels the
// resource.
func compileSchema(doc any, name string) (*jsonschema.Schema, error) {
	v, err := importValue(doc, MaxYAMLDepth+1)
	if err != nil {
		return nil, err
	}
	return jschema.Compile(exportValue(v), "rigger:///"+name+".json")
}

// compileSchemaBytes compiles a JSON schema given as bytes. Compiled
// schemas are kept by name and bytes (schemaCache): a task's compile
// checked each step's input against its action's schema compiled anew,
// about a third of the CPU of starting a task. A compiled schema is read
// only: validations may share it.
func compileSchemaBytes(data []byte, name string) (*jsonschema.Schema, error) {
	key := name + "\x00" + string(data)
	schemaCache.Lock()
	sch, ok := schemaCache.m[key]
	schemaCache.Unlock()
	if ok {
		return sch, nil
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(data)))
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	sch, err = jschema.Compile(doc, "rigger:///"+name+".json")
	if err != nil || len(data) > schemaCacheMaxBytes {
		return sch, err // errors are not kept
	}
	schemaCache.Lock()
	if len(schemaCache.m) >= schemaCacheMaxEntries {
		clear(schemaCache.m)
	}
	schemaCache.m[key] = sch
	schemaCache.Unlock()
	return sch, nil
}

// schemaCache holds compiled schemas by name and bytes, up to
// schemaCacheMaxEntries (then it is emptied), each of at most
// schemaCacheMaxBytes: the actions' schemas and their properties', a few
// hundred at most.
var schemaCache = struct {
	sync.Mutex
	m map[string]*jsonschema.Schema
}{m: map[string]*jsonschema.Schema{}}

const (
	schemaCacheMaxEntries = 512
	schemaCacheMaxBytes   = 64 << 10
)

// CheckSchema compiles a JSON Schema (draft-07) the way action input
// schemas are compiled, so configuration can refuse one that no step could
// be checked against. name only labels the schema in messages.
func CheckSchema(data []byte, name string) error {
	_, err := compileSchemaBytes(data, name)
	return err
}

// ValidateValue checks a JSON value against a JSON Schema (draft-07) and
// returns one problem per failing leaf, located under prefix
// (input.name, output.items[2]). value is encoded as JSON first, so any
// JSON-shaped Go value works.
func ValidateValue(schema []byte, name string, value any, prefix string) ([]Problem, error) {
	sch, err := compileSchemaBytes(schema, name)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(value)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if err := sch.Validate(doc); err != nil {
		return schemaProblems(err, prefix), nil
	}
	return nil, nil
}

// schemaProblems turns a validation failure into one problem per failing
// leaf, located as prefix plus the instance path (parameters.owner.name,
// input.files[2].path). A missing required property is reported at the
// property itself, with the message "required".
func schemaProblems(err error, prefix string) []Problem {
	var out []Problem
	for _, l := range jschema.Leaves(err, prefix) {
		out = append(out, Problem{Severity: SeverityError, Path: l.Path, Message: l.Message})
	}
	return out
}

// parameterNames collects every property name a parameter schema can
// define at its top level: properties, required, dependencies (both forms),
// allOf/anyOf/oneOf and if/then/else, recursively. open reports whether the
// schema may hold other names too (patternProperties, or
// additionalProperties not false).
func parameterNames(schema map[string]any, names map[string]bool, depth int) (open bool) {
	if depth > MaxYAMLDepth {
		return true
	}
	if props, ok := schema["properties"].(map[string]any); ok {
		for k := range props {
			names[k] = true
		}
	}
	if req, ok := schema["required"].([]any); ok {
		for _, r := range req {
			if s, ok := r.(string); ok {
				names[s] = true
			}
		}
	}
	if _, ok := schema["patternProperties"]; ok {
		open = true
	}
	if ap, ok := schema["additionalProperties"]; !ok || ap != false {
		open = true
	}
	if deps, ok := schema["dependencies"].(map[string]any); ok {
		for k, d := range deps {
			names[k] = true
			switch dv := d.(type) {
			case map[string]any:
				parameterNames(dv, names, depth+1)
			case []any:
				for _, n := range dv {
					if s, ok := n.(string); ok {
						names[s] = true
					}
				}
			}
		}
	}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		if list, ok := schema[key].([]any); ok {
			for _, s := range list {
				if sm, ok := s.(map[string]any); ok {
					parameterNames(sm, names, depth+1)
				}
			}
		}
	}
	for _, key := range []string{"if", "then", "else"} {
		if sm, ok := schema[key].(map[string]any); ok {
			parameterNames(sm, names, depth+1)
		}
	}
	return open
}

// applyDefaults fills values with the `default` of every property of
// schema that values lack, walking into nested object properties whose
// value is present. Conditional schemas (dependencies, if/then) are not
// consulted: their defaults are the form's business.
func applyDefaults(values map[string]any, schema map[string]any, depth int) {
	if depth > MaxYAMLDepth {
		return
	}
	props, ok := schema["properties"].(map[string]any)
	if !ok {
		return
	}
	for name, ps := range props {
		prop, ok := ps.(map[string]any)
		if !ok {
			continue
		}
		cur, present := values[name]
		if !present {
			if def, ok := prop["default"]; ok {
				values[name] = deepCopy(def)
			}
			continue
		}
		if sub, ok := cur.(map[string]any); ok {
			applyDefaults(sub, prop, depth+1)
		}
	}
}

// deepCopy copies maps and slices of a JSON-shaped value.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}
