package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// Entity is one catalog entity as plain JSON-shaped data (map[string]any,
// []any, string, int64, float64, bool, nil), so every key a user wrote
// round-trips unchanged and a store can marshal it as is. Accessors read the
// envelope; Typed gives a struct view with Backstage's wire field names.
type Entity map[string]any

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func obj(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

// APIVersion returns apiVersion as written.
func (e Entity) APIVersion() string { return str(e, "apiVersion") }

// Kind returns the entity's kind as written.
func (e Entity) Kind() string { return str(e, "kind") }

// Metadata returns the metadata object (nil if missing).
func (e Entity) Metadata() map[string]any { return obj(e, "metadata") }

// Spec returns the spec object (nil if missing).
func (e Entity) Spec() map[string]any { return obj(e, "spec") }

// Name returns metadata.name.
func (e Entity) Name() string { return str(e.Metadata(), "name") }

// Namespace returns metadata.namespace, "default" when unset.
func (e Entity) Namespace() string {
	if ns := str(e.Metadata(), "namespace"); ns != "" {
		return ns
	}
	return DefaultNamespace
}

// Ref returns the entity's own ref.
func (e Entity) Ref() Ref { return Ref{Kind: e.Kind(), Namespace: e.Namespace(), Name: e.Name()} }

// Hash is a content hash of the entity (used as etag and to skip no-op writes).
func (e Entity) Hash() string {
	b, _ := marshalBody(e) // map keys marshal sorted: stable
	return hashBody(b)
}

// hashBody is the Hash of the entity whose JSON body is b.
func hashBody(b []byte) string {
	h := bodyHash(b)
	return string(h[:])
}

// IsBodyHash reports whether hash is hashBody(b), the hash a refresh
// stores beside the body it marshalled (store.Entity.Hash), without
// allocating.
func IsBodyHash(b []byte, hash string) bool {
	h := bodyHash(b)
	return string(h[:]) == hash
}

// bodyHash is hashBody's text: the hex of the first 16 bytes of b's
// SHA-256.
func bodyHash(b []byte) (h [32]byte) {
	sum := sha256.Sum256(b)
	hex.Encode(h[:], sum[:16])
	return h
}

// Normalize sets metadata.namespace to "default" when unset, as Backstage's
// DefaultNamespaceEntityPolicy does.
func (e Entity) Normalize() {
	if md := e.Metadata(); md != nil {
		if _, ok := md["namespace"]; !ok {
			md["namespace"] = DefaultNamespace
		}
	}
}

// GetPath returns the values at a dotted path, the way filters and search
// rows address an entity: "spec.owner", "metadata.tags",
// "metadata.annotations.backstage.io/techdocs-ref" (a key may itself contain
// dots; every split that names existing keys is followed), "relations.ownedBy"
// (the targetRef of each relation of that type, case-insensitively).
// Arrays are expanded: "metadata.tags" gives each tag, "metadata.links.url"
// each link's url. A missing path gives nil.
func (e Entity) GetPath(path string) []any {
	if typ, ok := strings.CutPrefix(path, "relations."); ok {
		var out []any
		for _, r := range e.WireRelations() {
			if strings.EqualFold(r.Type, typ) {
				out = append(out, r.TargetRef)
			}
		}
		return out
	}
	var out []any
	walkPath(map[string]any(e), path, func(v any) {
		if l, ok := v.([]any); ok {
			out = append(out, l...)
			return
		}
		out = append(out, v)
	})
	return out
}

// walkPath calls fn with every value found at path under v. Arrays on the
// way are expanded; at a map, each prefix of the remaining path that is a
// key is followed (shortest first), so dotted keys resolve.
func walkPath(v any, path string, fn func(any)) {
	switch t := v.(type) {
	case []any:
		for _, item := range t {
			walkPath(item, path, fn)
		}
	case map[string]any:
		rest := path
		for i := 0; i < len(rest); i++ {
			if rest[i] != '.' {
				continue
			}
			if child, ok := t[rest[:i]]; ok {
				walkPath(child, rest[i+1:], fn)
			}
		}
		if child, ok := t[path]; ok {
			fn(child)
		}
	}
}

// Relation is one entry of an entity's relations list in Backstage's wire
// format.
type Relation struct {
	Type      string `json:"type"`
	TargetRef string `json:"targetRef"`
}

// WireRelations reads the entity's relations list (as a store returns it
// stitched onto the entity), skipping malformed entries.
func (e Entity) WireRelations() []Relation {
	l, _ := e["relations"].([]any)
	out := make([]Relation, 0, len(l))
	for _, item := range l {
		m, ok := item.(map[string]any)
		if !ok {
			continue
		}
		typ, target := str(m, "type"), str(m, "targetRef")
		if target == "" { // the pre-2022 form {type, target: {kind, namespace, name}}
			if t := obj(m, "target"); t != nil {
				target = Ref{Kind: str(t, "kind"), Namespace: str(t, "namespace"), Name: str(t, "name")}.String()
			}
		}
		if typ != "" && target != "" {
			out = append(out, Relation{Type: typ, TargetRef: target})
		}
	}
	return out
}

// Link is one entry of metadata.links.
type Link struct {
	URL   string `json:"url"`
	Title string `json:"title,omitempty"`
	Icon  string `json:"icon,omitempty"`
	Type  string `json:"type,omitempty"`
}

// Metadata is the typed view of an entity's metadata. Keys that are not
// Backstage's own fields are kept in Extra and marshalled inline, so the
// JSON round-trips.
type Metadata struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	UID         string            `json:"uid,omitempty"`
	ETag        string            `json:"etag,omitempty"`
	Title       string            `json:"title,omitempty"`
	Description string            `json:"description,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	Links       []Link            `json:"links,omitempty"`
	Extra       map[string]any    `json:"-"`
}

// TypedEntity is a struct view of an Entity with Backstage's wire field
// names. Build it from a validated Entity with Typed; Entity converts back.
type TypedEntity struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   Metadata       `json:"metadata"`
	Spec       map[string]any `json:"spec,omitempty"`
	Relations  []Relation     `json:"relations,omitempty"`
	Status     map[string]any `json:"status,omitempty"`
}

// isMetadataField reports the metadata keys Metadata has fields for.
func isMetadataField(k string) bool {
	switch k {
	case "name", "namespace", "uid", "etag", "title", "description", "labels", "annotations", "tags", "links":
		return true
	}
	return false
}

// Typed returns the struct view of e. It reads what a validated entity
// holds; values of the wrong type (which Validate reports) are left out.
func (e Entity) Typed() TypedEntity {
	md := e.Metadata()
	t := TypedEntity{
		APIVersion: e.APIVersion(),
		Kind:       e.Kind(),
		Spec:       e.Spec(),
		Relations:  e.WireRelations(),
		Status:     obj(e, "status"),
		Metadata: Metadata{
			Name: str(md, "name"), Namespace: str(md, "namespace"), UID: str(md, "uid"), ETag: str(md, "etag"),
			Title: str(md, "title"), Description: str(md, "description"),
			Labels: stringMap(obj(md, "labels")), Annotations: stringMap(obj(md, "annotations")),
		},
	}
	if len(t.Relations) == 0 {
		t.Relations = nil
	}
	if tags, ok := md["tags"].([]any); ok {
		for _, tag := range tags {
			if s, ok := tag.(string); ok {
				t.Metadata.Tags = append(t.Metadata.Tags, s)
			}
		}
	}
	if links, ok := md["links"].([]any); ok {
		for _, l := range links {
			if m, ok := l.(map[string]any); ok {
				t.Metadata.Links = append(t.Metadata.Links, Link{URL: str(m, "url"), Title: str(m, "title"), Icon: str(m, "icon"), Type: str(m, "type")})
			}
		}
	}
	for k, v := range md {
		if !isMetadataField(k) {
			if t.Metadata.Extra == nil {
				t.Metadata.Extra = map[string]any{}
			}
			t.Metadata.Extra[k] = v
		}
	}
	return t
}

func stringMap(m map[string]any) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// Entity converts the struct view back to plain data.
func (t TypedEntity) Entity() Entity {
	b, err := json.Marshal(t)
	if err != nil {
		return nil
	}
	var e Entity
	if json.Unmarshal(b, &e) != nil {
		return nil
	}
	return e
}

// MarshalJSON writes the known fields and then Extra's keys inline. Extra
// keys that collide with a known field are dropped.
func (m Metadata) MarshalJSON() ([]byte, error) {
	type plain Metadata // no methods: no recursion
	known, err := json.Marshal(plain(m))
	if err != nil || len(m.Extra) == 0 {
		return known, err
	}
	extra := make(map[string]any, len(m.Extra))
	for k, v := range m.Extra {
		if !isMetadataField(k) {
			extra[k] = v
		}
	}
	if len(extra) == 0 {
		return known, nil
	}
	more, err := json.Marshal(extra)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(known)+len(more))
	out = append(out, known[:len(known)-1]...)
	out = append(out, ',')
	return append(out, more[1:]...), nil
}

// UnmarshalJSON reads the known fields and keeps every other key in Extra.
func (m *Metadata) UnmarshalJSON(b []byte) error {
	type plain Metadata
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	for k, raw := range all {
		if isMetadataField(k) {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		if p.Extra == nil {
			p.Extra = map[string]any{}
		}
		p.Extra[k] = v
	}
	*m = Metadata(p)
	return nil
}

// SourceBase is where references relative to an entity's file resolve (a
// template's skeleton, a techdocs-ref dir:), from its
// backstage.io/managed-by-location: file://<path>, an http(s) URL, or
// git:<repo>#<path>; "" when it has none.
func SourceBase(managedByLocation string) string {
	switch loc := managedByLocation; {
	case strings.HasPrefix(loc, "file:"):
		return "file://" + strings.TrimPrefix(loc, "file:")
	case strings.HasPrefix(loc, "url:"):
		return strings.TrimPrefix(loc, "url:")
	case strings.HasPrefix(loc, "git:"):
		return loc
	}
	return ""
}

// Annotations reads the annotations of a stored entity body (nil when the
// body is not an entity).
func Annotations(body []byte) map[string]any {
	var e struct {
		Metadata struct {
			Annotations map[string]any `json:"annotations"`
		} `json:"metadata"`
	}
	if json.Unmarshal(body, &e) != nil {
		return nil
	}
	return e.Metadata.Annotations
}
