package catalog

import (
	"fmt"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/riggerdev/rigger/internal/jschema"
)

// A Model is what an installation adds to the built-in kinds (rigger.yaml's
// catalog.model): kinds of its own, each with its apiVersions, a JSON
// Schema for its spec and the spec fields that hold entity refs with the
// relation pair each emits; and JSON Schemas for one spec.type of a kind
// (built-in or its own), checked in addition to the kind's rules. Backstage
// needs a processor written in TypeScript for each; here it is data.
//
// A Model is built once by NewModel (schemas compiled there) and never
// changes afterwards, so it is safe for concurrent use. A nil *Model is the
// built-in model: the built-in kinds and nothing else.
type Model struct {
	kinds map[string]*modelKind // by kind, as declared (kinds are case-sensitive)
	types map[typeKey]*jsonschema.Schema
	names []string // declared kinds, sorted, for messages
}

type modelKind struct {
	apiVersions []string
	spec        *jsonschema.Schema // nil: any object, or none
	refs        []fieldSpec
}

// typeKey is a kind and a spec.type lower-cased: a type schema applies to
// "GRPC" as to "grpc", so a spelling cannot step around it.
type typeKey struct{ kind, typ string }

// KindDecl declares a kind of the installation's own.
type KindDecl struct {
	// Kind is the kind's name (a letter, then letters and digits); it may
	// not be a built-in kind in any case.
	Kind string
	// APIVersions are the apiVersions entities of the kind may have, at
	// least one ([group/]version, like acme.com/v1).
	APIVersions []string
	// Spec is a JSON Schema (draft-07 unless it says otherwise) for the
	// entity's spec; nil accepts any spec object or none.
	Spec map[string]any
	// Relations are the spec fields holding entity refs.
	Relations []RelationDecl
}

// RelationDecl says that a spec field holds an entity ref (or a list of
// them) and which relation pair it emits, as spec.owner emits
// ownedBy/ownerOf for the built-in kinds.
type RelationDecl struct {
	// Field is spec.<name>, a top-level field of the spec.
	Field string
	// DefaultKind is the kind a ref without one means ("" means the ref
	// must name its kind, as spec.dependsOn).
	DefaultKind string
	// Type is the relation from the entity to the target, Reverse the one
	// back (ownedBy and ownerOf).
	Type, Reverse string
}

// TypeDecl is a JSON Schema for the spec of the entities of Kind whose
// spec.type is Type (compared ignoring case).
type TypeDecl struct {
	Kind, Type string
	Spec       map[string]any
}

// builtinRelations maps each built-in relation type to its reverse: a
// custom field that emits one must emit its pair, or the graph would hold
// an ownedBy whose reverse is not ownerOf.
var builtinRelations = map[string]string{
	RelOwnedBy: RelOwnerOf, RelOwnerOf: RelOwnedBy, RelPartOf: RelHasPart, RelHasPart: RelPartOf,
	RelDependsOn: RelDependencyOf, RelDependencyOf: RelDependsOn, RelProvidesAPI: RelAPIProvidedBy,
	RelAPIProvidedBy: RelProvidesAPI, RelConsumesAPI: RelAPIConsumedBy, RelAPIConsumedBy: RelConsumesAPI,
	RelMemberOf: RelHasMember, RelHasMember: RelMemberOf, RelChildOf: RelParentOf, RelParentOf: RelChildOf,
}

// validRelationType is a relation type as Backstage writes them: a lower-case
// letter, then letters and digits (ownedBy, apiProvidedBy), at most 63.
func validRelationType(s string) bool {
	return len(s) >= 1 && len(s) <= 63 && 'a' <= s[0] && s[0] <= 'z' && allBytes(s, isAlnum)
}

// NewModel checks the declarations and compiles their schemas. It returns
// every problem, each at a path inside the declarations ("kinds[0].spec",
// "types[1].kind"); none means the model is ready.
func NewModel(kinds []KindDecl, types []TypeDecl) (*Model, []FieldError) {
	m := &Model{kinds: map[string]*modelKind{}, types: map[typeKey]*jsonschema.Schema{}}
	v := &fieldErrors{}
	lowerKinds := map[string]int{}
	for i, k := range kinds {
		p := fmt.Sprintf("kinds[%d]", i)
		switch {
		case k.Kind == "":
			v.add(p+".kind", "required field is missing")
		case !validKind(k.Kind):
			v.add(p+".kind", fmt.Sprintf("%q is not a valid kind; expected a letter then letters and digits, at most 63 characters", k.Kind))
		case suggestKind(k.Kind) != "":
			v.add(p+".kind", fmt.Sprintf("%q is the built-in kind %s; a model may add kinds, not redefine built-in ones (use catalog.model.types for a schema per spec.type)", k.Kind, suggestKind(k.Kind)))
		default:
			if j, dup := lowerKinds[strings.ToLower(k.Kind)]; dup {
				v.add(p+".kind", fmt.Sprintf("%q is also declared by kinds[%d] (kinds differing only in case would share entity refs)", k.Kind, j))
			}
			lowerKinds[strings.ToLower(k.Kind)] = i
		}
		m.kinds[k.Kind] = newModelKind(p, k, v)
	}
	for k := range m.kinds {
		m.names = append(m.names, k)
	}
	sort.Strings(m.names)
	for i, t := range types {
		m.addType(fmt.Sprintf("types[%d]", i), t, v)
	}
	if len(v.errs) > 0 {
		return nil, v.errs
	}
	return m, nil
}

// newModelKind checks kind k (declared at path p) but its name, and
// compiles its spec schema.
func newModelKind(p string, k KindDecl, v *fieldErrors) *modelKind {
	mk := &modelKind{apiVersions: k.APIVersions}
	if len(k.APIVersions) == 0 {
		v.add(p+".apiVersions", fmt.Sprintf("kind %s needs at least one apiVersion, like acme.com/v1", k.Kind))
	}
	for j, a := range k.APIVersions {
		if !validAPIVersion(a) {
			v.add(fmt.Sprintf("%s.apiVersions[%d]", p, j), fmt.Sprintf("%q is not valid; expected [group/]version, like acme.com/v1", a))
		}
	}
	if k.Spec != nil {
		sch, err := compileModelSchema(k.Spec, p)
		if err != nil {
			v.add(p+".spec", fmt.Sprintf("the spec schema of kind %s is not a valid JSON Schema: %s", k.Kind, oneLine(err)))
		}
		mk.spec = sch
	}
	fields := map[string]int{}
	for j, r := range k.Relations {
		rp := fmt.Sprintf("%s.relations[%d]", p, j)
		f := checkRelation(rp, r, v)
		if f.name != "" {
			if first, dup := fields[f.name]; dup {
				v.add(rp+".field", fmt.Sprintf("%s is also declared by relations[%d]", r.Field, first))
			}
			fields[f.name] = j
		}
		mk.refs = append(mk.refs, f)
	}
	return mk
}

// checkRelation checks one relation declaration (at path rp) and returns
// the ref field it declares.
func checkRelation(rp string, r RelationDecl, v *fieldErrors) fieldSpec {
	name, ok := strings.CutPrefix(r.Field, "spec.")
	switch {
	case r.Field == "":
		v.add(rp+".field", "required field is missing (spec.<name>, like spec.owner)")
	case !ok || name == "" || strings.ContainsAny(name, ".[]"):
		v.add(rp+".field", fmt.Sprintf("%q is not a top-level spec field; expected spec.<name>, like spec.owner", r.Field))
		name = ""
	}
	if r.DefaultKind != "" && !validKind(r.DefaultKind) {
		v.add(rp+".defaultKind", fmt.Sprintf("%q is not a valid kind; expected a letter then letters and digits, or empty when refs must name their kind", r.DefaultKind))
	}
	for _, rel := range []struct{ key, val string }{{"type", r.Type}, {"reverse", r.Reverse}} {
		switch {
		case rel.val == "":
			v.add(rp+"."+rel.key, "required field is missing (a relation type like ownedBy)")
		case !validRelationType(rel.val):
			v.add(rp+"."+rel.key, fmt.Sprintf("%q is not a valid relation type; expected a lower-case letter then letters and digits, like ownedBy", rel.val))
		}
	}
	for _, rel := range []struct{ key, val string }{{"type", r.Type}, {"reverse", r.Reverse}} {
		// A built-in relation in another case would pass the pairing
		// check below yet match the built-in one where relations are
		// compared ignoring case (filters, the permission model).
		for b := range builtinRelations {
			if strings.EqualFold(rel.val, b) && rel.val != b {
				v.add(rp+"."+rel.key, fmt.Sprintf("%q is the built-in relation %s in another case; write it %s", rel.val, b, b))
			}
		}
	}
	// Relations the permission model reads (an entity's owner, a user's
	// groups) may only be declared by the entity about itself: a reverse
	// edge would set them on the entity the field names, so anyone who
	// can register an entity of this kind could make another entity owned
	// by it, or put a user in it.
	for _, authz := range []string{RelOwnedBy, RelMemberOf, RelChildOf, RelParentOf, RelHasMember} {
		if strings.EqualFold(r.Reverse, authz) {
			v.add(rp+".reverse", fmt.Sprintf("%s may not be a reverse: it would set the owner or membership of the entity the field names (declare %s on that entity's own kind)", r.Reverse, authz))
		}
	}
	if validRelationType(r.Type) && validRelationType(r.Reverse) {
		if want, builtin := builtinRelations[r.Type]; builtin && r.Reverse != want {
			v.add(rp+".reverse", fmt.Sprintf("%q does not pair with the built-in relation %s, whose reverse is %s", r.Reverse, r.Type, want))
		} else if want, builtin := builtinRelations[r.Reverse]; builtin && r.Type != want {
			v.add(rp+".type", fmt.Sprintf("%q does not pair with the built-in relation %s, whose reverse is %s", r.Type, r.Reverse, want))
		}
	}
	return fieldSpec{name: name, typ: tRefs, isRef: true, defaultKind: r.DefaultKind, rel: r.Type, rev: r.Reverse}
}

// addType checks type schema t (declared at path p) and compiles it.
func (m *Model) addType(p string, t TypeDecl, v *fieldErrors) {
	_, _, builtin := kindAPIVersions(t.Kind, "")
	_, custom := m.kinds[t.Kind]
	switch {
	case t.Kind == "":
		v.add(p+".kind", "required field is missing")
	case !builtin && !custom:
		v.add(p+".kind", fmt.Sprintf("unknown kind %q (built-in kinds: %s%s)", t.Kind, builtinKinds, m.declared()))
	}
	if strings.TrimSpace(t.Type) == "" {
		v.add(p+".type", "required field is missing (the spec.type the schema applies to, like grpc)")
	}
	key := typeKey{t.Kind, strings.ToLower(t.Type)}
	if _, dup := m.types[key]; dup {
		v.add(p+".type", fmt.Sprintf("kind %s type %s has a schema already; merge them into one (allOf)", t.Kind, t.Type))
	}
	if t.Spec == nil {
		v.add(p+".spec", fmt.Sprintf("required field is missing (a JSON Schema for the spec of %s entities of type %s)", t.Kind, t.Type))
		return
	}
	sch, err := compileModelSchema(t.Spec, p)
	if err != nil {
		v.add(p+".spec", fmt.Sprintf("the schema of kind %s type %s is not a valid JSON Schema: %s", t.Kind, t.Type, oneLine(err)))
		return
	}
	m.types[key] = sch
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// declared lists the model's kinds for a message ("; declared in
// catalog.model: Service, Widget", or "").
func (m *Model) declared() string {
	if m == nil || len(m.names) == 0 {
		return ""
	}
	return "; declared in catalog.model: " + strings.Join(m.names, ", ")
}

// suggestKind returns the built-in or declared kind that kind matches but
// for case.
func (m *Model) suggestKind(kind string) string {
	if k := suggestKind(kind); k != "" || m == nil {
		return k
	}
	for _, k := range m.names {
		if strings.EqualFold(k, kind) {
			return k
		}
	}
	return ""
}

// Kinds returns the kinds the model declares, sorted.
func (m *Model) Kinds() []string {
	if m == nil {
		return nil
	}
	return append([]string(nil), m.names...)
}

// compileModelSchema compiles a schema written in rigger.yaml (decoded YAML:
// maps, lists, strings, int, float64, bool, nil, which the compiler takes
// as they are); path (kinds[0]) names it.
func compileModelSchema(doc map[string]any, path string) (*jsonschema.Schema, error) {
	return jschema.Compile(doc, "rigger:///catalog.model/"+strings.NewReplacer("[", "/", "]", "").Replace(path)+".json")
}

// knows reports whether kind is built in or declared by m, and returns the
// apiVersions it accepts as text for messages and whether apiVersion is one.
func (m *Model) knows(kind, apiVersion string) (expected string, ok, known bool) {
	if expected, ok, known = kindAPIVersions(kind, apiVersion); known {
		return expected, ok, known
	}
	if m == nil {
		return "", false, false
	}
	mk, found := m.kinds[kind]
	if !found {
		return "", false, false
	}
	for _, a := range mk.apiVersions {
		if a == apiVersion {
			return "", true, true
		}
	}
	return strings.Join(mk.apiVersions, " or "), false, true
}

// fields calls visit with every spec field of kind that the catalog knows:
// the built-in ones, or the ref fields a model kind declares.
func (m *Model) fields(kind string, spec map[string]any, visit func(fieldSpec)) {
	if _, _, known := kindAPIVersions(kind, ""); known {
		specFields(kind, spec, visit)
		return
	}
	if m == nil {
		return
	}
	if mk, ok := m.kinds[kind]; ok {
		for _, f := range mk.refs {
			visit(f)
		}
	}
}

// checkCustomSpec validates the spec of a model kind: an object (required
// when the kind has a spec schema), the schema, and its ref fields.
func (m *Model) checkCustomSpec(kind string, spec map[string]any, v *fieldErrors) {
	mk := m.kinds[kind]
	if spec == nil {
		if mk.spec != nil {
			v.add("spec", "required object is missing")
		}
		return
	}
	if mk.spec != nil {
		schemaErrors(mk.spec, spec, v)
	}
	for _, f := range mk.refs {
		if val, present := spec[f.name]; present {
			checkField("spec."+f.name, f, val, v)
		}
	}
}

// checkTypeSpec applies the model's schema for kind's spec.type, if any.
func (m *Model) checkTypeSpec(kind string, spec map[string]any, v *fieldErrors) {
	if m == nil || len(m.types) == 0 || spec == nil {
		return
	}
	t, ok := spec["type"].(string)
	if !ok {
		return
	}
	if sch := m.types[typeKey{kind, strings.ToLower(t)}]; sch != nil {
		schemaErrors(sch, spec, v)
	}
}

// schemaErrors validates spec against sch and adds one FieldError per
// failing leaf at spec.<instance path>, so a file's problem points at the
// field (spec.ports[1].number: ...). A missing required property is
// reported at the property.
func schemaErrors(sch *jsonschema.Schema, spec map[string]any, v *fieldErrors) {
	err := sch.Validate(map[string]any(spec))
	if err == nil {
		return
	}
	for _, l := range jschema.Leaves(err, "spec") {
		if l.Missing {
			l.Message = "required field is missing"
		}
		v.add(l.Path, l.Message)
	}
}
