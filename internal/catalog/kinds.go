package catalog

import (
	"fmt"
	"strings"
)

// The built-in kinds, from Backstage's JSON schemas (packages/catalog-model
// kinds/*.schema.json and scaffolder-common's Template.v1beta3 schema) and
// the processors that emit their relations (BuiltinKindsEntityProcessor,
// ScaffolderEntitiesProcessor). Kinds are matched case-sensitively, as
// Backstage's schemas do ("kind: component" is not a Component).
//
// AiResource and the API spec type "mcp-server" are Backstage's alpha model
// extensions (@backstage/catalog-model/alpha); Backstage's own demo catalog
// uses them, so rigger knows them too.

const (
	apiV1alpha1  = "backstage.io/v1alpha1"
	apiV1beta1   = "backstage.io/v1beta1"
	apiScaffold3 = "scaffolder.backstage.io/v1beta3"
)

// builtinKinds lists the kinds rigger validates, for messages.
const builtinKinds = "API, AiResource, Component, Domain, Group, Location, Resource, System, Template, User"

// kindAPIVersions returns the apiVersions a built-in kind accepts, as text
// for messages, and whether apiVersion is one of them. known is false for
// kinds rigger does not know.
func kindAPIVersions(kind, apiVersion string) (expected string, ok, known bool) {
	switch kind {
	case "Component", "API", "Resource", "System", "Domain", "Group", "User", "Location":
		return apiV1alpha1 + " or " + apiV1beta1, apiVersion == apiV1alpha1 || apiVersion == apiV1beta1, true
	case "AiResource":
		return apiV1alpha1, apiVersion == apiV1alpha1, true
	case "Template":
		return apiScaffold3, apiVersion == apiScaffold3, true
	}
	return "", false, false
}

// fieldType is what a spec field must hold.
type fieldType int

const (
	tString       fieldType = iota // a non-empty string
	tStringList                    // a list of non-empty strings
	tObject                        // an object
	tObjectList                    // a list of objects
	tStringOrBool                  // a string or a boolean
	tParameters                    // an object or a list of objects (Template parameters)
	tRefs                          // an entity ref or a list of them (a model kind's ref field)
)

// fieldSpec is one spec field of a kind: its type, whether it is required,
// and, for fields holding entity refs, the relation pair it emits.
type fieldSpec struct {
	name     string
	typ      fieldType
	required bool
	// minItems is the least number of items a list must hold.
	minItems int
	// isRef marks entity-ref fields; defaultKind is the kind assumed when a
	// ref names none ("" means the ref must name it).
	isRef       bool
	defaultKind string
	rel, rev    string
}

func required(f fieldSpec) fieldSpec { f.required = true; return f }

func refField(name string, typ fieldType, defaultKind, rel, rev string) fieldSpec {
	return fieldSpec{name: name, typ: typ, isRef: true, defaultKind: defaultKind, rel: rel, rev: rev}
}

// specFields calls visit with every spec field the kind defines, in the
// order Backstage's processors emit relations. spec selects variants keyed
// on spec.type (mcp-server APIs, AiResource skills and rules).
func specFields(kind string, spec map[string]any, visit func(fieldSpec)) {
	str := func(name string) fieldSpec { return fieldSpec{name: name, typ: tString} }
	list := func(name string) fieldSpec { return fieldSpec{name: name, typ: tStringList} }
	owner := refField("owner", tString, "Group", RelOwnedBy, RelOwnerOf)
	system := refField("system", tString, "System", RelPartOf, RelHasPart)
	specType, _ := spec["type"].(string)
	switch kind {
	case "Component":
		visit(required(str("type")))
		visit(required(str("lifecycle")))
		visit(required(owner))
		visit(refField("subcomponentOf", tString, "Component", RelPartOf, RelHasPart))
		visit(refField("providesApis", tStringList, "API", RelProvidesAPI, RelAPIProvidedBy))
		visit(refField("consumesApis", tStringList, "API", RelConsumesAPI, RelAPIConsumedBy))
		visit(refField("dependsOn", tStringList, "", RelDependsOn, RelDependencyOf))
		visit(refField("dependencyOf", tStringList, "", RelDependencyOf, RelDependsOn))
		visit(system)
	case "API":
		visit(required(str("type")))
		visit(required(str("lifecycle")))
		visit(required(owner))
		if specType == "mcp-server" {
			visit(required(fieldSpec{name: "remotes", typ: tObjectList, minItems: 1}))
		} else {
			visit(required(str("definition")))
		}
		visit(system)
	case "Resource":
		visit(required(str("type")))
		visit(required(owner))
		visit(refField("dependsOn", tStringList, "", RelDependsOn, RelDependencyOf))
		visit(refField("dependencyOf", tStringList, "", RelDependencyOf, RelDependsOn))
		visit(system)
	case "System":
		visit(required(owner))
		visit(refField("domain", tString, "Domain", RelPartOf, RelHasPart))
		visit(str("type"))
	case "Domain":
		visit(required(owner))
		visit(refField("subdomainOf", tString, "Domain", RelPartOf, RelHasPart))
		visit(str("type"))
	case "Group":
		visit(required(str("type")))
		visit(fieldSpec{name: "profile", typ: tObject})
		visit(refField("parent", tString, "Group", RelChildOf, RelParentOf))
		visit(required(refField("children", tStringList, "Group", RelParentOf, RelChildOf)))
		visit(refField("members", tStringList, "User", RelHasMember, RelMemberOf))
	case "User":
		visit(fieldSpec{name: "profile", typ: tObject})
		visit(required(refField("memberOf", tStringList, "Group", RelMemberOf, RelHasMember)))
	case "Location":
		visit(str("type"))
		visit(str("target"))
		visit(list("targets"))
		visit(str("presence"))
	case "Template":
		visit(required(str("type")))
		visit(owner)
		visit(fieldSpec{name: "parameters", typ: tParameters})
		visit(required(fieldSpec{name: "steps", typ: tObjectList}))
		visit(fieldSpec{name: "output", typ: tObject})
	case "AiResource":
		visit(required(str("type")))
		visit(required(str("lifecycle")))
		visit(required(owner))
		visit(system)
		switch specType {
		case "skill":
			visit(list("disciplines"))
			visit(list("categories"))
			visit(list("agents"))
			visit(refField("dependsOn", tStringList, "AiResource", RelDependsOn, RelDependencyOf))
		case "rule":
			visit(list("disciplines"))
			visit(required(str("category")))
			visit(required(str("rationale")))
		}
	}
}

// checkSpec validates spec against the kind's fields; spec is nil when the
// entity has none.
func checkSpec(kind string, spec map[string]any, v *fieldErrors) {
	if spec == nil {
		v.add("spec", "required object is missing")
		return
	}
	specFields(kind, spec, func(f fieldSpec) {
		path := "spec." + f.name
		val, present := spec[f.name]
		switch {
		case val == nil && f.required:
			v.add(path, "required field is missing")
		case !present:
		default: // a null optional field is an error, as in JSON schema
			checkField(path, f, val, v)
		}
	})
	switch kind {
	case "Template":
		checkTemplate(spec, v)
	case "Location":
		if p, ok := spec["presence"].(string); ok && p != "required" && p != "optional" {
			v.add("spec.presence", fmt.Sprintf("must be \"required\" or \"optional\", got %q", p))
		}
	case "API":
		if remotes, ok := spec["remotes"].([]any); ok && spec["type"] == "mcp-server" {
			for i, r := range remotes {
				if m, ok := r.(map[string]any); ok {
					p := fmt.Sprintf("spec.remotes[%d]", i)
					requireString(p+".type", m["type"], v)
					requireString(p+".url", m["url"], v)
				}
			}
		}
	case "Group", "User":
		if profile, ok := spec["profile"].(map[string]any); ok {
			for _, k := range []string{"displayName", "email", "picture"} {
				if raw, present := profile[k]; present {
					checkString("spec.profile."+k, raw, v)
				}
			}
		}
	}
}

func checkField(path string, f fieldSpec, val any, v *fieldErrors) {
	switch f.typ {
	case tString:
		// Placeholders such as {$text: ./openapi.yaml} are replaced by the
		// content they point at before the entity is stored, as Backstage's
		// PlaceholderProcessor does; refs cannot be placeholders.
		if !f.isRef && isPlaceholder(val) {
			return
		}
		checkString(path, val, v)
	case tStringList:
		l, ok := val.([]any)
		if !ok {
			v.add(path, "must be a list of strings, got "+typeName(val))
			return
		}
		for i, item := range l {
			checkString(fmt.Sprintf("%s[%d]", path, i), item, v)
		}
	case tObject:
		if _, ok := val.(map[string]any); !ok {
			v.add(path, "must be an object, got "+typeName(val))
		}
	case tObjectList:
		l, ok := val.([]any)
		if !ok {
			v.add(path, "must be a list of objects, got "+typeName(val))
			return
		}
		if len(l) < f.minItems {
			v.add(path, fmt.Sprintf("must hold at least %d item", f.minItems))
		}
		for i, item := range l {
			if _, ok := item.(map[string]any); !ok {
				v.add(fmt.Sprintf("%s[%d]", path, i), "must be an object, got "+typeName(item))
			}
		}
	case tStringOrBool:
		switch val.(type) {
		case string, bool:
		default:
			v.add(path, "must be a string or a boolean, got "+typeName(val))
		}
	case tParameters:
		switch t := val.(type) {
		case map[string]any:
		case []any:
			for i, item := range t {
				if _, ok := item.(map[string]any); !ok {
					v.add(fmt.Sprintf("%s[%d]", path, i), "must be an object (a JSON schema form step), got "+typeName(item))
				}
			}
		default:
			v.add(path, "must be an object or a list of objects, got "+typeName(val))
		}
	case tRefs:
		if l, ok := val.([]any); ok {
			for i, item := range l {
				checkString(fmt.Sprintf("%s[%d]", path, i), item, v)
			}
			return
		}
		if _, ok := val.(string); !ok {
			v.add(path, "must be an entity ref or a list of entity refs, got "+typeName(val))
			return
		}
		checkString(path, val, v)
	}
}

// checkTemplate checks the steps and output of a v1beta3 Template.
func checkTemplate(spec map[string]any, v *fieldErrors) {
	steps, _ := spec["steps"].([]any)
	for i, s := range steps {
		step, ok := s.(map[string]any)
		if !ok {
			continue // reported by checkField
		}
		p := fmt.Sprintf("spec.steps[%d]", i)
		switch a := step["action"].(type) {
		case string:
		case nil:
			v.add(p+".action", "required field is missing")
		default:
			v.add(p+".action", "must be a string, got "+typeName(a))
		}
		for _, k := range []string{"id", "name"} {
			if raw, present := step[k]; present {
				if _, ok := raw.(string); !ok {
					v.add(p+"."+k, "must be a string, got "+typeName(raw))
				}
			}
		}
		if raw, present := step["input"]; present {
			checkField(p+".input", fieldSpec{typ: tObject}, raw, v)
		}
		if raw, present := step["if"]; present {
			checkField(p+".if", fieldSpec{typ: tStringOrBool}, raw, v)
		}
	}
	// A page's if is its condition (a boolean or an expression string, see
	// templates.PageCondition) or JSON Schema's if (an object).
	pages, _ := spec["parameters"].([]any)
	if page, ok := spec["parameters"].(map[string]any); ok {
		pages = []any{page}
	}
	for i, pg := range pages {
		page, _ := pg.(map[string]any)
		switch c := page["if"].(type) {
		case nil, bool, string, map[string]any:
			if _, present := page["if"]; present && c == nil {
				v.add(fmt.Sprintf("spec.parameters[%d].if", i), "must be a boolean, an expression string or a JSON Schema object, got null")
			}
		default:
			v.add(fmt.Sprintf("spec.parameters[%d].if", i), "must be a boolean, an expression string or a JSON Schema object, got "+typeName(c))
		}
	}
	if out, ok := spec["output"].(map[string]any); ok {
		if links, present := out["links"]; present {
			checkField("spec.output.links", fieldSpec{typ: tObjectList}, links, v)
		}
	}
}

// checkString reports val unless it is a non-empty string (JSON schema's
// type string with minLength 1).
func checkString(path string, val any, v *fieldErrors) {
	s, ok := val.(string)
	switch {
	case !ok:
		v.add(path, "must be a string, got "+typeName(val))
	case s == "":
		v.add(path, "must not be empty")
	}
}

func requireString(path string, val any, v *fieldErrors) {
	if val == nil {
		v.add(path, "required field is missing")
		return
	}
	checkString(path, val, v)
}

// isPlaceholder reports a Backstage placeholder object such as
// {$text: ./openapi.yaml}: one key among $text, $json, $yaml, $openapi,
// $asyncapi, whose value is a string.
func isPlaceholder(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false
	}
	for k, val := range m {
		switch k {
		case "$text", "$json", "$yaml", "$openapi", "$asyncapi":
			_, isStr := val.(string)
			return isStr
		}
	}
	return false
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	default:
		return "a number"
	}
}

// suggestKind returns the built-in kind that kind matches but for case.
func suggestKind(kind string) string {
	for _, k := range strings.Split(builtinKinds, ", ") {
		if strings.EqualFold(k, kind) {
			return k
		}
	}
	return ""
}
