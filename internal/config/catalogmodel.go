package config

import (
	"fmt"
	"strings"

	"github.com/riggerdev/rigger/internal/catalog"
)

// CatalogModel is catalog.model: what an installation adds to the built-in
// catalog model, as data. Entities of a kind neither built in nor declared
// here are refused.
//
//	catalog:
//	  model:
//	    kinds:
//	      - kind: Service
//	        apiVersions: [acme.com/v1]
//	        spec: {type: object, required: [owner], properties: {owner: {type: string}}}
//	        relations:
//	          - {field: spec.owner, defaultKind: Group, type: ownedBy, reverse: ownerOf}
//	    types:
//	      - kind: API
//	        type: grpc
//	        spec: {required: [definition, package]}
type CatalogModel struct {
	// Kinds are kinds of the installation's own.
	Kinds []CatalogKind `yaml:"kinds"`
	// Types are JSON Schemas for the spec of one spec.type of a kind
	// (built-in or declared in Kinds), checked in addition to the kind's
	// own rules.
	Types []CatalogType `yaml:"types"`
}

// CatalogKind declares one kind.
type CatalogKind struct {
	// Kind is its name (a letter, then letters and digits); it may not be
	// a built-in kind (Component, API, ...) in any case.
	Kind string `yaml:"kind"`
	// APIVersions are the apiVersions its entities may have, e.g.
	// [acme.com/v1].
	APIVersions []string `yaml:"apiVersions"`
	// Spec is a JSON Schema (draft-07) for the entity's spec; unset
	// accepts any spec object.
	Spec JSONSchema `yaml:"spec"`
	// Relations are the spec fields holding an entity ref or a list of
	// refs, and the relation pair each emits.
	Relations []CatalogRelation `yaml:"relations"`
}

// CatalogRelation is a spec field holding entity refs.
type CatalogRelation struct {
	// Field is spec.<name>, e.g. spec.owner.
	Field string `yaml:"field"`
	// DefaultKind is the kind of a ref that names none (e.g. Group);
	// empty means refs must name their kind.
	DefaultKind string `yaml:"defaultKind"`
	// Type is the relation from the entity to the ref (ownedBy), Reverse
	// the one back (ownerOf).
	Type    string `yaml:"type"`
	Reverse string `yaml:"reverse"`
}

// CatalogType is a JSON Schema for one spec.type of a kind.
type CatalogType struct {
	// Kind is a built-in kind or one of catalog.model.kinds.
	Kind string `yaml:"kind"`
	// Type is the spec.type it applies to (compared ignoring case).
	Type string `yaml:"type"`
	// Spec is a JSON Schema (draft-07) the spec must also match.
	Spec JSONSchema `yaml:"spec"`
}

// Build compiles the model. Its problems are paths inside catalog.model
// (kinds[0].spec); Validate reports them with the file's lines.
func (m CatalogModel) Build() (*catalog.Model, []catalog.FieldError) {
	kinds := make([]catalog.KindDecl, 0, len(m.Kinds))
	for _, k := range m.Kinds {
		d := catalog.KindDecl{Kind: k.Kind, APIVersions: k.APIVersions, Spec: k.Spec}
		for _, r := range k.Relations {
			d.Relations = append(d.Relations, catalog.RelationDecl{Field: r.Field, DefaultKind: r.DefaultKind, Type: r.Type, Reverse: r.Reverse})
		}
		kinds = append(kinds, d)
	}
	types := make([]catalog.TypeDecl, 0, len(m.Types))
	for _, t := range m.Types {
		types = append(types, catalog.TypeDecl{Kind: t.Kind, Type: t.Type, Spec: t.Spec})
	}
	return catalog.NewModel(kinds, types)
}

// validateCatalogModel reports the problems of catalog.model (Load and
// Parse report them first, with their lines).
func (c *Config) validateCatalogModel(v *validator) {
	_, probs := c.Catalog.Model.Build()
	for _, p := range probs {
		v.add("catalog.model."+p.Path, "%s", p.Message)
	}
	if len(probs) > 0 {
		return
	}
	// A declared kind no rule allows could come from no location.
	allows := func(rules []Rule, kind string) bool {
		for _, r := range rules {
			for _, a := range r.Allow {
				if strings.EqualFold(a, kind) {
					return true
				}
			}
		}
		return false
	}
	for i, k := range c.Catalog.Model.Kinds {
		allowed := allows(c.Catalog.Rules, k.Kind)
		for _, l := range c.Catalog.Locations {
			allowed = allowed || allows(l.Rules, k.Kind)
		}
		if !allowed {
			v.add(fmt.Sprintf("catalog.model.kinds[%d].kind", i), "kind %s is declared but no location may define it: add it to a catalog.rules allow list (or to a location's rules)", k.Kind)
		}
	}
}

// catalogModel compiles the decoded catalog.model and reports its problems
// at their line in the file: the line of the key, or of the nearest
// enclosing key the file gave (a missing apiVersions points at the kind).
func (d *decoder) catalogModel(cfg *Config) error {
	_, probs := cfg.Catalog.Model.Build()
	for _, p := range probs {
		path := "catalog.model." + p.Path
		line := 0
		for q := path; q != "" && line == 0; {
			line = d.lines[q]
			i := strings.LastIndexAny(q, ".[")
			if i < 0 {
				break
			}
			q = q[:i]
		}
		d.problems.add(&Problem{File: d.file, Line: line, Path: path, Message: p.Message})
	}
	return d.problems.err()
}
