package catalog

import "strings"

// Relation types, as Backstage names them.
const (
	RelOwnedBy       = "ownedBy"
	RelOwnerOf       = "ownerOf"
	RelPartOf        = "partOf"
	RelHasPart       = "hasPart"
	RelDependsOn     = "dependsOn"
	RelDependencyOf  = "dependencyOf"
	RelProvidesAPI   = "providesApi"
	RelAPIProvidedBy = "apiProvidedBy"
	RelConsumesAPI   = "consumesApi"
	RelAPIConsumedBy = "apiConsumedBy"
	RelMemberOf      = "memberOf"
	RelHasMember     = "hasMember"
	RelChildOf       = "childOf"
	RelParentOf      = "parentOf"
)

// Edge is one relation: Source --Type--> Target.
type Edge struct {
	Source, Type, Target string
}

// Relations returns every relation e's spec implies, both directions, as
// Backstage's built-in processor does. Refs that cannot be parsed are
// returned as problems (path and message) instead.
func Relations(e Entity) ([]Edge, []FieldError) {
	k, ok := kinds()[strings.ToLower(e.Kind())]
	if !ok {
		return nil, nil
	}
	spec := e.Spec()
	self := e.Ref().String()
	ns := e.Namespace()
	var out []Edge
	var problems []FieldError
	for _, rf := range k.refs {
		var targets []string
		switch val := spec[rf.field].(type) {
		case string:
			targets = []string{val}
		case []any:
			for _, t := range val {
				if s, ok := t.(string); ok {
					targets = append(targets, s)
				}
			}
		}
		for _, t := range targets {
			r, err := ParseRef(t, rf.defaultKind, ns)
			if err != nil {
				problems = append(problems, FieldError{Path: "spec." + rf.field, Message: err.Error()})
				continue
			}
			target := r.String()
			out = append(out, Edge{self, rf.rel, target}, Edge{target, rf.revRel, self})
		}
	}
	return out, problems
}
