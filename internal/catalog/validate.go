package catalog

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// FieldError is one validation problem at a field path such as
// "spec.owner" or "metadata.tags[2]".
type FieldError struct {
	Path    string
	Message string
}

func (f FieldError) Error() string {
	if f.Path == "" {
		return f.Message
	}
	return f.Path + ": " + f.Message
}

// Policy holds the choices Backstage leaves to each installation.
type Policy struct {
	// AllowUnknownKinds accepts entities of kinds rigger has no schema for
	// when their envelope and metadata are valid. Backstage accepts such
	// kinds only when a custom processor claims them; without one it
	// rejects them ("no processor recognized the entity"), and so does
	// rigger by default.
	AllowUnknownKinds bool
	// Model adds the installation's kinds and per-type spec schemas
	// (catalog.model); nil means the built-in kinds only.
	Model *Model
}

// Backstage's field-format rules (KubernetesValidatorFunctions,
// CommonValidatorFunctions and makeValidator in packages/catalog-model),
// written out rather than as regular expressions: linear, no allocation.

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// validObjectName is ^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$, at most 63
// characters: entity names, label values, link icons, the name part of
// label and annotation keys.
func validObjectName(s string) bool {
	if len(s) < 1 || len(s) > 63 || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// validSeparated reports s as groups of characters accepted by ok separated
// by single '-' (no leading, trailing or doubled '-'), at most 63 long.
func validSeparated(s string, ok func(byte) bool) bool {
	if len(s) < 1 || len(s) > 63 {
		return false
	}
	prevDash := true // a leading '-' is invalid
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-':
			if prevDash {
				return false
			}
			prevDash = true
		case ok(c):
			prevDash = false
		default:
			return false
		}
	}
	return !prevDash
}

// validDNSLabel: namespaces.
// (^[a-z0-9]+(-[a-z0-9]+)*$, at most 63).
func validDNSLabel(s string) bool { return validSeparated(s, isLowerAlnum) }

func validDNSSubdomain(s string) bool {
	if len(s) < 1 || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if !validDNSLabel(label) {
			return false
		}
	}
	return true
}

// validPrefixed is "[prefix/]suffix" with at most one '/'.
func validPrefixed(s string, suffix func(string) bool) bool {
	prefix, rest, ok := strings.Cut(s, "/")
	if !ok {
		return suffix(s)
	}
	return !strings.Contains(rest, "/") && validDNSSubdomain(prefix) && suffix(rest)
}

func validAPIVersion(s string) bool {
	return validPrefixed(s, func(v string) bool { return len(v) >= 1 && len(v) <= 63 && allBytes(v, isAlnum) })
}

// validKind is ^[a-zA-Z][a-z0-9A-Z]*$, at most 63.
func validKind(s string) bool {
	return len(s) >= 1 && len(s) <= 63 && (isAlnum(s[0]) && !('0' <= s[0] && s[0] <= '9')) && allBytes(s, isAlnum)
}

func allBytes(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func validKey(s string) bool { return validPrefixed(s, validObjectName) }

// validTag is ^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$, at most 63.
func validTag(s string) bool {
	return validSeparated(s, func(c byte) bool { return isLowerAlnum(c) || c == ':' || c == '+' || c == '#' })
}

// validURL is Backstage's isValidUrl (WHATWG `new URL(s)` succeeds): an
// absolute URL; the web schemes need a host.
func validURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "ws", "wss", "ftp":
		return u.Host != "" || strings.TrimLeft(u.Opaque, "/") != ""
	}
	return true
}

// Validate checks e with Backstage's rules and the default Policy.
func Validate(e Entity) []FieldError { return ValidateWith(e, Policy{}) }

// ValidateWith checks e against Backstage's entity policies
// (SchemaValid, NoForeignRootFields, FieldFormat), the schema of its kind,
// and the search-key rule that keys may not differ only in case. It returns
// every problem, sorted by path; none means valid.
func ValidateWith(e Entity, p Policy) []FieldError {
	v := &fieldErrors{}
	apiVersion, apiOK := e["apiVersion"].(string)
	switch {
	case e["apiVersion"] == nil:
		v.add("apiVersion", "required field is missing")
	case !apiOK:
		v.add("apiVersion", "must be a string, got "+typeName(e["apiVersion"]))
	case !validAPIVersion(apiVersion):
		v.add("apiVersion", fmt.Sprintf("%q is not valid; expected [group/]version, like backstage.io/v1alpha1", apiVersion))
		apiOK = false
	}
	kind, kindOK := e["kind"].(string)
	switch {
	case e["kind"] == nil:
		v.add("kind", "required field is missing")
	case !kindOK:
		v.add("kind", "must be a string, got "+typeName(e["kind"]))
	case !validKind(kind):
		v.add("kind", fmt.Sprintf("%q is not valid; expected a letter then letters and digits, at most 63 characters", kind))
		kindOK = false
	}
	switch md := e["metadata"].(type) {
	case map[string]any:
		validateMetadata(md, v)
	case nil:
		v.add("metadata", "required object is missing")
	default:
		v.add("metadata", "must be an object, got "+typeName(md))
	}
	specRaw, specPresent := e["spec"]
	spec, specIsObj := specRaw.(map[string]any)
	_, _, knownKind := p.Model.knows(kind, "")
	if specPresent && !specIsObj && (specRaw != nil || !knownKind) {
		v.add("spec", "must be an object, got "+typeName(specRaw))
	}
	if raw, present := e["relations"]; present {
		checkField("relations", fieldSpec{typ: tObjectList}, raw, v)
	}
	if raw, present := e["status"]; present {
		checkField("status", fieldSpec{typ: tObject}, raw, v)
	}
	for key := range e {
		switch key {
		case "apiVersion", "kind", "metadata", "spec", "relations", "status":
		default:
			v.add(key, "unknown top-level field (allowed: apiVersion, kind, metadata, spec, relations, status)")
		}
	}
	if kindOK && apiOK {
		expected, ok, known := p.Model.knows(kind, apiVersion)
		_, _, builtin := kindAPIVersions(kind, "")
		switch {
		case known && !ok:
			v.add("apiVersion", fmt.Sprintf("%q is not a valid apiVersion for kind %s (expected %s)", apiVersion, kind, expected))
		case known && (specIsObj || specRaw == nil):
			if builtin {
				checkSpec(kind, spec, v)
			} else {
				p.Model.checkCustomSpec(kind, spec, v)
			}
			p.Model.checkTypeSpec(kind, spec, v)
		case known:
		case p.Model.suggestKind(kind) != "":
			v.add("kind", fmt.Sprintf("unknown kind %q; kinds are case-sensitive, did you mean %q?", kind, p.Model.suggestKind(kind)))
		case !p.AllowUnknownKinds:
			v.add("kind", fmt.Sprintf("unknown kind %q (built-in kinds: %s%s); declare it in catalog.model.kinds of rigger.yaml to allow it", kind, builtinKinds, p.Model.declared()))
		}
	}
	checkKeyCase(e, v)
	sort.SliceStable(v.errs, func(i, j int) bool { return v.errs[i].Path < v.errs[j].Path })
	return v.errs
}

type fieldErrors struct{ errs []FieldError }

func (v *fieldErrors) add(path, msg string) { v.errs = append(v.errs, FieldError{path, msg}) }

func validateMetadata(md map[string]any, v *fieldErrors) {
	name, ok := md["name"].(string)
	switch {
	case md["name"] == nil:
		v.add("metadata.name", "required field is missing")
	case !ok:
		v.add("metadata.name", "must be a string, got "+typeName(md["name"]))
	case !validObjectName(name):
		v.add("metadata.name", fmt.Sprintf("%q is not valid; expected a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total, like \"my-service\"", name))
	}
	if _, present := md["namespace"]; !present {
		// Normalize adds metadata.namespace: a key that differs from it
		// only in case would then clash (found by FuzzParse).
		for _, k := range slices.Sorted(maps.Keys(md)) {
			if strings.EqualFold(k, "namespace") {
				v.add("metadata."+k, "key differs from \"metadata.namespace\" (which defaults to \"default\") only in case; keys must be unique regardless of case")
			}
		}
	}
	if raw, present := md["namespace"]; present {
		ns, ok := raw.(string)
		switch {
		case !ok:
			v.add("metadata.namespace", "must be a string, got "+typeName(raw))
		case !validDNSLabel(ns):
			v.add("metadata.namespace", fmt.Sprintf("%q is not valid; expected a string that is sequences of [a-z0-9] separated by [-], at most 63 characters in total", ns))
		}
	}
	for _, f := range []string{"uid", "etag", "title"} {
		if raw, present := md[f]; present {
			checkString("metadata."+f, raw, v)
		}
	}
	if raw, present := md["description"]; present {
		if _, ok := raw.(string); !ok {
			v.add("metadata.description", "must be a string, got "+typeName(raw))
		}
	}
	if raw, present := md["generation"]; present {
		if n, ok := raw.(int64); !ok || n < 1 {
			v.add("metadata.generation", "must be a positive integer")
		}
	}
	if raw, present := md["labels"]; present {
		labels, ok := raw.(map[string]any)
		if !ok {
			v.add("metadata.labels", "must be an object of string values, got "+typeName(raw))
		}
		for _, k := range slices.Sorted(maps.Keys(labels)) {
			p := "metadata.labels." + k
			if !validKey(k) {
				v.add(p, "label key is not valid; expected [prefix/]name, the prefix a DNS name, the name sequences of [a-zA-Z0-9] separated by [-_.], at most 63 characters")
			}
			switch val := labels[k].(type) {
			case string:
				if val != "" && !validObjectName(val) {
					v.add(p, fmt.Sprintf("label value %q is not valid; expected sequences of [a-zA-Z0-9] separated by [-_.], at most 63 characters", val))
				}
			default:
				v.add(p, "label value must be a string, got "+typeName(val))
			}
		}
	}
	if raw, present := md["annotations"]; present {
		ann, ok := raw.(map[string]any)
		if !ok {
			v.add("metadata.annotations", "must be an object of string values, got "+typeName(raw))
		}
		for _, k := range slices.Sorted(maps.Keys(ann)) {
			p := "metadata.annotations." + k
			if !validKey(k) {
				v.add(p, "annotation key is not valid; expected [prefix/]name, the prefix a DNS name, the name sequences of [a-zA-Z0-9] separated by [-_.], at most 63 characters")
			}
			if _, ok := ann[k].(string); !ok {
				v.add(p, "annotation value must be a string, got "+typeName(ann[k]))
			}
		}
	}
	if raw, present := md["tags"]; present {
		tags, ok := raw.([]any)
		if !ok {
			v.add("metadata.tags", "must be a list of strings, got "+typeName(raw))
		}
		for i, t := range tags {
			s, ok := t.(string)
			if !ok || !validTag(s) {
				v.add(fmt.Sprintf("metadata.tags[%d]", i), fmt.Sprintf("tag %s is not valid; expected sequences of [a-z0-9:+#] separated by [-], at most 63 characters, like \"java\" or \"c++\"", quoteValue(t)))
			}
		}
	}
	if raw, present := md["links"]; present {
		links, ok := raw.([]any)
		if !ok {
			v.add("metadata.links", "must be a list of objects, got "+typeName(raw))
		}
		for i, l := range links {
			p := fmt.Sprintf("metadata.links[%d]", i)
			lm, ok := l.(map[string]any)
			if !ok {
				v.add(p, "must be an object with a url, got "+typeName(l))
				continue
			}
			switch u := lm["url"].(type) {
			case nil:
				v.add(p+".url", "required field is missing")
			case string:
				if !validURL(u) {
					v.add(p+".url", fmt.Sprintf("%q is not a valid absolute URL", u))
				}
			default:
				v.add(p+".url", "must be a string, got "+typeName(u))
			}
			if raw, present := lm["title"]; present {
				checkString(p+".title", raw, v)
			}
			if raw, present := lm["type"]; present {
				checkString(p+".type", raw, v)
			}
			if raw, present := lm["icon"]; present {
				if s, ok := raw.(string); !ok || !validObjectName(s) {
					v.add(p+".icon", fmt.Sprintf("icon %s is not valid; expected a name like \"dashboard\" (sequences of [a-zA-Z0-9] separated by [-_.])", quoteValue(raw)))
				}
			}
		}
	}
}

// checkKeyCase reports keys that differ only in case once flattened
// ("spec.owner" and "spec.Owner"): Backstage's search index refuses such
// entities ("duplicate keys that vary only in casing"), and filters could
// not tell them apart.
func checkKeyCase(e Entity, v *fieldErrors) {
	if !keyCaseClash(e) {
		return
	}
	seen := map[string]string{}
	reported := map[string]bool{}
	var walk func(prefix string, val any)
	walk = func(prefix string, val any) {
		switch t := val.(type) {
		case map[string]any:
			for k, child := range t {
				walk(joinKey(prefix, k), child)
			}
		case []any:
			for _, item := range t {
				walk(prefix, item)
			}
		default:
			lower := strings.ToLower(prefix)
			if first, dup := seen[lower]; dup && first != prefix {
				if reported[lower] {
					return
				}
				reported[lower] = true
				a, b := first, prefix
				if b < a {
					a, b = b, a
				}
				v.add(b, fmt.Sprintf("key differs from %q only in case; keys must be unique regardless of case", a))
				return
			}
			seen[lower] = prefix
		}
	}
	for k, val := range e {
		if k == "relations" || k == "status" {
			continue
		}
		walk(k, val)
	}
}

// keyCaseClash is the allocation-light first pass of checkKeyCase: it
// hashes every flattened key as written and lower-cased (FNV-1a, 64 bits)
// and reports whether two keys share a lower-cased hash but not an exact
// one.
func keyCaseClash(e Entity) bool {
	seen := make(map[uint64]uint64, 32)
	clash := false
	var walk func(exact, lower uint64, val any)
	walk = func(exact, lower uint64, val any) {
		switch t := val.(type) {
		case map[string]any:
			for k, child := range t {
				x, l := fnvString(fnvByte(exact, '.'), fnvByte(lower, '.'), k)
				walk(x, l, child)
			}
		case []any:
			for _, item := range t {
				walk(exact, lower, item)
			}
		default:
			if first, ok := seen[lower]; ok && first != exact {
				clash = true
			}
			seen[lower] = exact
		}
	}
	for k, val := range e {
		if k == "relations" || k == "status" {
			continue
		}
		x, l := fnvString(fnvOffset, fnvOffset, k)
		walk(x, l, val)
	}
	return clash
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvByte(h uint64, c byte) uint64 { return (h ^ uint64(c)) * fnvPrime }

// fnvString adds s to exact and its lower-case form to lower.
func fnvString(exact, lower uint64, s string) (uint64, uint64) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			for _, b := range []byte(strings.ToLower(s[i:])) {
				lower = fnvByte(lower, b)
			}
			for ; i < len(s); i++ {
				exact = fnvByte(exact, s[i])
			}
			return exact, lower
		}
		exact = fnvByte(exact, c)
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower = fnvByte(lower, c)
	}
	return exact, lower
}

func quoteValue(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return typeName(v)
}

func joinKey(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}
