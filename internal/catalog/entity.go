package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Entity is one catalog entity as plain JSON-shaped data, so every key a user
// wrote round-trips unchanged. Accessors read the envelope.
type Entity map[string]any

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func obj(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

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
	b, _ := json.Marshal(e) // map keys marshal sorted: stable
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Normalize sets metadata.namespace to "default" when unset, as Backstage does.
func (e Entity) Normalize() {
	if md := e.Metadata(); md != nil {
		if _, ok := md["namespace"]; !ok {
			md["namespace"] = DefaultNamespace
		}
	}
}
