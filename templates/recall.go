package templates

import (
	"maps"
	"slices"
)

// Start over (Backstage's "start over with the same values") shows a
// task's values to whoever may read the task. Backstage returned a
// password field's value that way (#14428); Recall keeps only what a
// template author did not mark as sensitive.

// SensitiveField reports whether the property schema p is one whose value
// must not be shown again: a secret (ui:field: Secret), a password widget,
// or a field its review page masks or hides (ui:backstage.review.mask,
// ui:backstage.review.show: false), or format: password.
func SensitiveField(p map[string]any) bool {
	if p["ui:field"] == "Secret" || p["ui:widget"] == "password" || p["format"] == "password" {
		return true
	}
	if opts, _ := p["ui:options"].(map[string]any); opts["inputType"] == "password" {
		return true
	}
	bs, _ := p["ui:backstage"].(map[string]any)
	review, _ := bs["review"].(map[string]any)
	if _, masked := review["mask"]; masked {
		return true
	}
	return review["show"] == false
}

// Recall is values less every field t's parameter pages mark sensitive
// (SensitiveField), at any depth: inside an object its own key goes; a
// list whose items hold a sensitive field goes whole. A key declared in
// several places goes when any of them marks it. values is not modified.
func Recall(t *Template, values map[string]any) map[string]any {
	return walkSensitive(t, values, nil)
}

// RedactValues is values with every field Recall drops replaced by mask, at any
// depth (a list holding a sensitive field is replaced whole): what an
// audit event may show. values is not modified.
func RedactValues(t *Template, values map[string]any, mask string) map[string]any {
	return walkSensitive(t, values, mask)
}

// SecretField reports whether the property schema p is a secret
// (ui:field: Secret): Backstage's form sends its value in the task's
// secrets, never in its values.
func SecretField(p map[string]any) bool { return p["ui:field"] == "Secret" }

// MaskSecretFields is values with every SecretField replaced by mask, at
// any depth, as RedactValues does for sensitive ones: what shows a secret
// given in values. values is not modified.
func MaskSecretFields(t *Template, values map[string]any, mask string) map[string]any {
	return walkFields(t, values, mask, SecretField)
}

// walkSensitive copies values, dropping (mask nil) or replacing by mask
// the fields t's parameter pages mark sensitive.
func walkSensitive(t *Template, values map[string]any, mask any) map[string]any {
	return walkFields(t, values, mask, SensitiveField)
}

// walkFields is walkSensitive of the fields is says are sensitive.
func walkFields(t *Template, values map[string]any, mask any, is func(map[string]any) bool) map[string]any {
	if values == nil {
		return nil
	}
	s := sensitivity{is: is}
	for _, page := range t.Spec.Parameters {
		s.schema(page, 0)
	}
	out, _ := s.keep(values, 0, mask).(map[string]any)
	return out
}

// sensitivity is the shape of the sensitive fields of a set of object
// schemas: drop holds keys to drop; nested, the keys whose values are
// objects (or lists of objects) with sensitive fields of their own.
type sensitivity struct {
	drop   map[string]bool
	nested map[string]*sensitivity
	// is says which fields are sensitive (SensitiveField).
	is func(map[string]any) bool
}

// maxSchemaDepth bounds the walk through hostile schemas; deeper fields
// are treated as sensitive (see keep).
const maxSchemaDepth = 32

// schema records the sensitive properties of object schema o, including
// those its sub-schemas (dependencies, oneOf/anyOf/allOf, if/then/else)
// declare at the same level.
func (s *sensitivity) schema(o map[string]any, depth int) {
	if depth > maxSchemaDepth {
		return
	}
	if props, ok := o["properties"].(map[string]any); ok {
		for k, v := range props {
			p, ok := v.(map[string]any)
			if !ok {
				continue
			}
			s.property(k, p, depth)
		}
	}
	for _, key := range []string{"oneOf", "anyOf", "allOf"} {
		if list, ok := o[key].([]any); ok {
			for _, sub := range list {
				if m, ok := sub.(map[string]any); ok {
					s.schema(m, depth+1)
				}
			}
		}
	}
	for _, key := range []string{"then", "else"} {
		if m, ok := o[key].(map[string]any); ok {
			s.schema(m, depth+1)
		}
	}
	if deps, ok := o["dependencies"].(map[string]any); ok {
		for _, d := range deps {
			if m, ok := d.(map[string]any); ok {
				s.schema(m, depth+1)
			}
		}
	}
}

// property records property k with schema p. It fails closed: a
// sensitive field anywhere in p outside the object properties walked here
// (list items, additionalProperties, tuples, nested lists, sub-schemas
// Recall does not follow) drops k whole.
func (s *sensitivity) property(k string, p map[string]any, depth int) {
	if s.is(p) {
		s.mark(k)
		return
	}
	for key, v := range p {
		if key != "properties" && holdsField(v, depth+1, s.is) {
			s.mark(k)
			return
		}
	}
	inner := &sensitivity{is: s.is}
	inner.schema(p, depth+1)
	if len(inner.drop) > 0 || len(inner.nested) > 0 {
		if s.nested == nil {
			s.nested = map[string]*sensitivity{}
		}
		if prev := s.nested[k]; prev != nil {
			prev.merge(inner)
		} else {
			s.nested[k] = inner
		}
	}
}

func (s *sensitivity) mark(k string) {
	if s.drop == nil {
		s.drop = map[string]bool{}
	}
	s.drop[k] = true
}

func (s *sensitivity) merge(o *sensitivity) {
	for k := range o.drop {
		s.mark(k)
	}
	for k, n := range o.nested {
		if s.nested == nil {
			s.nested = map[string]*sensitivity{}
		}
		if prev := s.nested[k]; prev != nil {
			prev.merge(n)
		} else {
			s.nested[k] = n
		}
	}
}

// holdsSensitive reports whether any mapping in v, at any depth, is a
// sensitive field's schema; past maxSchemaDepth it says yes.
func holdsSensitive(v any, depth int) bool { return holdsField(v, depth, SensitiveField) }

// holdsField is holdsSensitive of the fields is says are sensitive.
func holdsField(v any, depth int, is func(map[string]any) bool) bool {
	if depth > maxSchemaDepth {
		return true
	}
	switch x := v.(type) {
	case map[string]any:
		if is(x) {
			return true
		}
		for _, e := range x {
			if holdsField(e, depth+1, is) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if holdsField(e, depth+1, is) {
				return true
			}
		}
	}
	return false
}

// keep copies v without the sensitive keys s names (with mask in their
// place when mask is not nil).
func (s *sensitivity) keep(v any, depth int, mask any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			if s.drop[k] {
				if mask != nil {
					out[k] = mask
				}
				continue
			}
			if n := s.nested[k]; n != nil {
				if depth >= maxSchemaDepth {
					if mask != nil {
						out[k] = mask
					}
					continue
				}
				val = n.keep(val, depth+1, mask)
			}
			out[k] = val
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.keep(e, depth+1, mask)
		}
		return out
	default:
		return v
	}
}

// secretLists calls found with the path of every list property of object
// schema o (at any depth) whose items hold a sensitive field: a task's
// secrets are kept by field name, so Rigger's form does not ask for them.
func secretLists(o map[string]any, path string, depth int, found func(path string)) {
	props, _ := o["properties"].(map[string]any)
	if depth > maxSchemaDepth || props == nil {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(props)) {
		p, _ := props[k].(map[string]any)
		if p == nil || SensitiveField(p) {
			continue
		}
		at := path + ".properties." + k
		if items, ok := p["items"]; ok && holdsSensitive(items, depth+1) {
			found(at)
			continue
		}
		secretLists(p, at, depth+1, found)
	}
}
