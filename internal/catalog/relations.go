package catalog

import (
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/riggerdev/rigger/internal/store"
)

// Relation types, as Backstage names them (packages/catalog-model
// kinds/relations.ts): seven pairs, each the reverse of the other.
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

// Edge is one relation Source --Type--> Target between two refs in their
// canonical form (Ref.String). Relations returns both directions of every
// pair as separate edges, so a store attaches each edge to its Source: the
// reverse edges belong to the entities the spec names.
type Edge struct {
	Source, Type, Target string
}

// Relations returns every relation e's spec implies, both directions, as
// Backstage's BuiltinKindsEntityProcessor and ScaffolderEntitiesProcessor
// emit them: spec.owner → ownedBy/ownerOf (default kind Group), system →
// partOf/hasPart (System), subcomponentOf → partOf (Component), domain and
// subdomainOf → partOf (Domain), providesApis/consumesApis (API),
// dependsOn/dependencyOf (no default kind: the ref must name it, e.g.
// resource:db), memberOf (Group), parent/children (Group), members (User).
// Refs default to e's namespace. A ref that cannot be parsed is a problem,
// as in Backstage, where it fails the entity's processing. Kinds rigger does
// not know emit nothing. Relations knows the built-in kinds only; a
// catalog.model's kinds emit theirs through Model.Relations.
func Relations(e Entity) ([]Edge, []FieldError) { return (*Model)(nil).Relations(e) }

// Relations is the package's Relations with m's kinds too: each ref field a
// model kind declares emits its relation pair, its refs completed with the
// field's default kind and e's namespace as for built-in kinds.
func (m *Model) Relations(e Entity) ([]Edge, []FieldError) {
	spec := e.Spec()
	if spec == nil {
		return nil, nil
	}
	kind := e.Kind()
	if _, _, known := m.knows(kind, ""); !known {
		return nil, nil
	}
	self := e.Ref().String()
	ns := e.Namespace()
	var out []Edge
	var problems []FieldError
	// item is the index of target in the field's list, or -1: the
	// problem's path is written only for a problem.
	emit := func(f fieldSpec, item int, target string) {
		r, err := ParseRef(target, f.defaultKind, ns)
		if err != nil {
			path := "spec." + f.name
			if item >= 0 {
				path = fmt.Sprintf("%s[%d]", path, item)
			}
			problems = append(problems, FieldError{Path: path, Message: err.Error()})
			return
		}
		t := r.String()
		out = append(out, Edge{self, f.rel, t}, Edge{t, f.rev, self})
	}
	m.fields(kind, spec, func(f fieldSpec) {
		if !f.isRef {
			return
		}
		switch val := spec[f.name].(type) {
		case string:
			emit(f, -1, val)
		case []any:
			for i, t := range val {
				if s, ok := t.(string); ok {
					emit(f, i, s)
				}
			}
		}
	})
	return out, problems
}

// RelationsOf returns the relations list of the entity whose ref is self
// (Ref.String form), in Backstage's wire format: the edges whose source it
// is, sorted by type then target, without duplicates. A store passes every
// edge that has self as Source, including the reverse edges other entities
// emitted.
func RelationsOf(self string, edges []Edge) []Relation {
	var out []Relation
	for _, e := range edges {
		if e.Source == self {
			out = append(out, Relation{Type: e.Type, TargetRef: e.Target})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return out[i].TargetRef < out[j].TargetRef
	})
	n := 0
	for i, r := range out {
		if i == 0 || r != out[n-1] {
			out[n] = r
			n++
		}
	}
	return out[:n]
}

// Row is the store row of a validated entity: its JSON body, its search
// rows and the relations it emits (both directions), as a refresh writes
// it. It knows the built-in kinds only; see Model.Row.
func Row(e Entity) (store.Entity, error) { return (*Model)(nil).Row(e) }

// Row is the package's Row with the relations of m's kinds.
func (m *Model) Row(e Entity) (store.Entity, error) {
	edges, _ := m.Relations(e)
	body, err := marshalBody(e)
	if err != nil {
		return store.Entity{}, err
	}
	// The hash of the body just marshalled is e.Hash() without marshalling
	// e a second time (a tenth of building a row).
	row := store.Entity{Ref: e.Ref().Key(), Body: body, Hash: hashBody(body), Indexed: indexedFields(e)}
	// Without the edges: the store keeps no relations.<type> search row
	// (store.StoredSearchKey), and stores the relations below.
	search := SearchRows(e, nil)
	row.Search = make([]store.SearchRow, len(search))
	for i, s := range search {
		row.Search[i] = store.SearchRow{Key: s.Key, Value: s.Value, Original: s.Original}
	}
	if len(edges) > 0 {
		row.Relations = make([]store.Relation, len(edges))
	}
	for i, ed := range edges {
		row.Relations[i] = store.Relation{Source: ed.Source, Type: ed.Type, Target: ed.Target}
	}
	return row, nil
}

// indexedFields are the fields of e the search index reads, when each is
// a string of valid UTF-8 (as its JSON body reads back) or absent, and
// every tag a string; else nil, and the index reads the body.
func indexedFields(e Entity) *store.IndexedFields {
	md, spec := e.Metadata(), e.Spec()
	f := &store.IndexedFields{}
	for _, field := range []struct {
		to  *string
		obj map[string]any
		key string
	}{
		{&f.Kind, e, "kind"}, {&f.Name, md, "name"}, {&f.Title, md, "title"}, {&f.Description, md, "description"},
		{&f.Type, spec, "type"}, {&f.Owner, spec, "owner"}, {&f.Lifecycle, spec, "lifecycle"}, {&f.System, spec, "system"},
	} {
		v, ok := field.obj[field.key]
		if !ok || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok || !utf8.ValidString(s) {
			return nil
		}
		*field.to = s
	}
	if tags, ok := md["tags"]; ok && tags != nil {
		list, ok := tags.([]any)
		if !ok {
			return nil
		}
		for _, t := range list {
			s, ok := t.(string)
			if !ok || !utf8.ValidString(s) {
				return nil
			}
			f.Tags = append(f.Tags, s)
		}
	}
	return f
}
