package catalog

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultNamespace is the namespace of entities that name none.
const DefaultNamespace = "default"

// Ref identifies an entity: kind:namespace/name.
type Ref struct {
	Kind, Namespace, Name string
}

// String is Backstage's stringifyEntityRef: kind, namespace and name all
// lower-cased ("component:default/my-svc"), the namespace defaulting to
// "default". This is the form relations, search rows and stores use.
// (Backstage lower-cased only kind and namespace until 2023; it now
// lower-cases every part.)
func (r Ref) String() string {
	ns := r.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	var b strings.Builder
	b.Grow(len(r.Kind) + len(ns) + len(r.Name) + 2)
	writeLower(&b, r.Kind)
	b.WriteByte(':')
	writeLower(&b, ns)
	b.WriteByte('/')
	writeLower(&b, r.Name)
	return b.String()
}

// Key is the same as String; it names the use: comparing and storing refs.
func (r Ref) Key() string { return r.String() }

// Equal compares two refs as Backstage does: by their lower-cased form
// (String), with an empty namespace meaning "default".
func (r Ref) Equal(o Ref) bool {
	ns, ons := r.Namespace, o.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	if ons == "" {
		ons = DefaultNamespace
	}
	return equalLower(r.Kind, o.Kind) && equalLower(ns, ons) && equalLower(r.Name, o.Name)
}

// equalLower reports whether a and b are equal once lower-cased as
// strings.ToLower does (which differs from strings.EqualFold for a few
// runes such as 'İ'), without allocating.
func equalLower(a, b string) bool {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb && unicode.ToLower(ra) != unicode.ToLower(rb) {
			return false
		}
		a, b = a[na:], b[nb:]
	}
	return a == "" && b == ""
}

// ParseRef parses an entity ref exactly as Backstage's parseEntityRef does:
// kind:namespace/name, kind:name, namespace/name or name, taking missing
// parts from defaultKind and defaultNamespace ("default" when empty).
//
// The first ':' ends the kind unless a '/' comes before it, and the first
// '/' ends the namespace; the rest is the name, which Backstage does not
// check further (so "a/b:c" is namespace "a", name "b:c"). Parts keep their
// case; compare with Equal or String.
func ParseRef(s, defaultKind, defaultNamespace string) (Ref, error) {
	if s == "" {
		return Ref{}, fmt.Errorf("entity ref must not be empty")
	}
	colon := strings.IndexByte(s, ':')
	slash := strings.IndexByte(s, '/')
	if slash != -1 && slash < colon {
		colon = -1
	}
	kind, namespace := defaultKind, defaultNamespace
	hasKind, hasNamespace := colon != -1, slash != -1
	if hasKind {
		kind = s[:colon]
	}
	if hasNamespace {
		namespace = s[colon+1 : slash]
	}
	name := s[max(colon+1, slash+1):]
	if (hasKind && kind == "") || (hasNamespace && namespace == "") || name == "" {
		return Ref{}, fmt.Errorf("entity ref %q is not of the form [<kind>:][<namespace>/]<name>", s)
	}
	if namespace == "" {
		namespace = DefaultNamespace
	}
	if kind == "" {
		return Ref{}, fmt.Errorf("entity ref %q has no kind and none is implied here; write it as kind:[namespace/]name, e.g. component:%s", s, name)
	}
	return Ref{Kind: kind, Namespace: namespace, Name: name}, nil
}

// writeLower writes s lower-cased without allocating for ASCII input.
func writeLower(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			b.WriteString(strings.ToLower(s[i:]))
			return
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
}
