package catalog

import (
	"fmt"
	"strings"
)

// DefaultNamespace is the namespace of entities that name none.
const DefaultNamespace = "default"

// Ref identifies an entity: kind:namespace/name.
type Ref struct {
	Kind, Namespace, Name string
}

// String is Backstage's stringifyEntityRef: kind and namespace lower-cased,
// name as written.
func (r Ref) String() string {
	ns := r.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	return strings.ToLower(r.Kind) + ":" + strings.ToLower(ns) + "/" + r.Name
}

// Key is the fully lower-cased form used to compare refs (names are unique
// per kind and namespace case-insensitively).
func (r Ref) Key() string { return strings.ToLower(r.String()) }

// ParseRef parses kind:namespace/name, kind:name, namespace/name or name,
// taking missing parts from defaultKind and defaultNamespace.
func ParseRef(s, defaultKind, defaultNamespace string) (Ref, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Ref{}, fmt.Errorf("entity ref is empty")
	}
	r := Ref{Kind: defaultKind, Namespace: defaultNamespace}
	rest := s
	if k, after, ok := strings.Cut(rest, ":"); ok {
		r.Kind, rest = k, after
	}
	if ns, name, ok := strings.Cut(rest, "/"); ok {
		r.Namespace, rest = ns, name
	}
	r.Name = rest
	if r.Namespace == "" {
		r.Namespace = DefaultNamespace
	}
	switch {
	case r.Kind == "":
		return Ref{}, fmt.Errorf("entity ref %q has no kind and none is implied here", s)
	case r.Name == "" || strings.ContainsAny(r.Name, ":/"):
		return Ref{}, fmt.Errorf("entity ref %q is not of the form [kind:][namespace/]name", s)
	}
	return r, nil
}
