package catalog

import (
	"fmt"
	"strings"
)

// fieldType is what a spec field must hold.
type fieldType int

const (
	tString fieldType = iota
	tStringList
	tObject
	tStringOrList
	tAny
)

// refField is a spec field that names other entities and the relation pair
// it creates.
type refField struct {
	field       string
	defaultKind string
	rel, revRel string
}

type kindSpec struct {
	apiVersions []string
	required    []string
	types       map[string]fieldType
	refs        []refField
}

var v1alpha1 = []string{"backstage.io/v1alpha1", "backstage.io/v1beta1"}

// kinds describes Backstage's built-in kinds (from their JSON schemas).
func kinds() map[string]kindSpec {
	owner := refField{"owner", "Group", RelOwnedBy, RelOwnerOf}
	system := refField{"system", "System", RelPartOf, RelHasPart}
	return map[string]kindSpec{
		"component": {
			apiVersions: v1alpha1,
			required:    []string{"type", "lifecycle", "owner"},
			types: map[string]fieldType{"type": tString, "lifecycle": tString, "owner": tString, "system": tString,
				"subcomponentOf": tString, "providesApis": tStringList, "consumesApis": tStringList,
				"dependsOn": tStringList, "dependencyOf": tStringList},
			refs: []refField{owner, system,
				{"subcomponentOf", "Component", RelPartOf, RelHasPart},
				{"providesApis", "API", RelProvidesAPI, RelAPIProvidedBy},
				{"consumesApis", "API", RelConsumesAPI, RelAPIConsumedBy},
				{"dependsOn", "Component", RelDependsOn, RelDependencyOf},
				{"dependencyOf", "Component", RelDependencyOf, RelDependsOn}},
		},
		"api": {
			apiVersions: v1alpha1,
			required:    []string{"type", "lifecycle", "owner", "definition"},
			types:       map[string]fieldType{"type": tString, "lifecycle": tString, "owner": tString, "definition": tString, "system": tString},
			refs:        []refField{owner, system},
		},
		"resource": {
			apiVersions: v1alpha1,
			required:    []string{"type", "owner"},
			types:       map[string]fieldType{"type": tString, "owner": tString, "system": tString, "dependsOn": tStringList, "dependencyOf": tStringList},
			refs: []refField{owner, system,
				{"dependsOn", "", RelDependsOn, RelDependencyOf},
				{"dependencyOf", "", RelDependencyOf, RelDependsOn}},
		},
		"system": {
			apiVersions: v1alpha1,
			required:    []string{"owner"},
			types:       map[string]fieldType{"owner": tString, "domain": tString, "type": tString},
			refs:        []refField{owner, {"domain", "Domain", RelPartOf, RelHasPart}},
		},
		"domain": {
			apiVersions: v1alpha1,
			required:    []string{"owner"},
			types:       map[string]fieldType{"owner": tString, "subdomainOf": tString, "type": tString},
			refs:        []refField{owner, {"subdomainOf", "Domain", RelPartOf, RelHasPart}},
		},
		"group": {
			apiVersions: v1alpha1,
			required:    []string{"type", "children"},
			types:       map[string]fieldType{"type": tString, "parent": tString, "children": tStringList, "members": tStringList, "profile": tObject},
			refs: []refField{
				{"parent", "Group", RelChildOf, RelParentOf},
				{"children", "Group", RelParentOf, RelChildOf},
				{"members", "User", RelHasMember, RelMemberOf}},
		},
		"user": {
			apiVersions: v1alpha1,
			types:       map[string]fieldType{"memberOf": tStringList, "profile": tObject},
			refs:        []refField{{"memberOf", "Group", RelMemberOf, RelHasMember}},
		},
		"location": {
			apiVersions: v1alpha1,
			types:       map[string]fieldType{"type": tString, "target": tString, "targets": tStringList, "presence": tString},
		},
		"template": {
			apiVersions: []string{"scaffolder.backstage.io/v1beta3"},
			required:    []string{"type", "steps"},
			types:       map[string]fieldType{"type": tString, "owner": tString, "steps": tAny, "parameters": tAny, "output": tObject},
			refs:        []refField{owner},
		},
	}
}

func (k kindSpec) check(spec map[string]any, v *fieldErrors) {
	if spec == nil {
		if len(k.required) > 0 {
			v.add("spec", "required object is missing")
		}
		return
	}
	for _, f := range k.required {
		val, ok := spec[f]
		if !ok || val == nil {
			v.add("spec."+f, "required field is missing")
			continue
		}
		if s, isStr := val.(string); isStr && strings.TrimSpace(s) == "" && k.types[f] == tString {
			v.add("spec."+f, "must not be empty")
		}
	}
	for _, f := range sortedKeys(spec) {
		t, known := k.types[f]
		val := spec[f]
		if !known || val == nil {
			continue
		}
		switch t {
		case tString:
			if isPlaceholder(val) {
				continue
			}
			if _, ok := val.(string); !ok {
				v.add("spec."+f, fmt.Sprintf("must be a string, got %s", typeName(val)))
			}
		case tStringList:
			l, ok := val.([]any)
			if !ok {
				v.add("spec."+f, fmt.Sprintf("must be a list of strings, got %s", typeName(val)))
				continue
			}
			for i, item := range l {
				if _, ok := item.(string); !ok {
					v.add(fmt.Sprintf("spec.%s[%d]", f, i), fmt.Sprintf("must be a string, got %s", typeName(item)))
				}
			}
		case tObject:
			if _, ok := val.(map[string]any); !ok {
				v.add("spec."+f, fmt.Sprintf("must be an object, got %s", typeName(val)))
			}
		}
	}
	if spec["target"] == nil && spec["targets"] == nil && k.types["targets"] == tStringList {
		v.add("spec.target", "a Location needs spec.target or spec.targets")
	}
}

// isPlaceholder reports a Backstage placeholder object such as
// {$text: ./openapi.yaml}: one key among $text, $json, $yaml, $openapi,
// $asyncapi, whose value is a string. Backstage substitutes the referenced
// content during processing.
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
