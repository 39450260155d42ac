package catalog

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// FieldError is one validation problem at a field path.
type FieldError struct {
	Path    string
	Message string
}

func (f FieldError) Error() string { return f.Path + ": " + f.Message }

var (
	nameRe       = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	namespaceRe  = regexp.MustCompile(`^[a-z0-9]+(?:-+[a-z0-9]+)*$`)
	kindRe       = regexp.MustCompile(`^[a-zA-Z][a-z0-9A-Z]*$`)
	apiVersionRe = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[a-z0-9]+$`)
	dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	tagRe        = regexp.MustCompile(`^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$`)
)

// validName is Backstage's object-name rule (names, label names and values).
func validName(s string) bool { return len(s) >= 1 && len(s) <= 63 && nameRe.MatchString(s) }

// validKey is Backstage's label/annotation key rule: [prefix/]name with a DNS
// subdomain prefix of at most 253 characters.
func validKey(s string) bool {
	prefix, name, ok := strings.Cut(s, "/")
	if !ok {
		return validName(s)
	}
	return len(prefix) >= 1 && len(prefix) <= 253 && dnsSubdomain.MatchString(prefix) && validName(name)
}

// Validate checks e against Backstage's envelope, metadata and kind rules and
// returns every problem, sorted by path.
func Validate(e Entity) []FieldError {
	v := &fieldErrors{}
	apiVersion, ok := e["apiVersion"].(string)
	switch {
	case !ok || apiVersion == "":
		v.add("apiVersion", "required field is missing")
	case !apiVersionRe.MatchString(apiVersion):
		v.add("apiVersion", fmt.Sprintf("%q is not a valid apiVersion (group/version)", apiVersion))
	}
	kind, ok := e["kind"].(string)
	switch {
	case !ok || kind == "":
		v.add("kind", "required field is missing")
	case len(kind) > 63 || !kindRe.MatchString(kind):
		v.add("kind", fmt.Sprintf("%q is not a valid kind", kind))
	}
	md, ok := e["metadata"].(map[string]any)
	if !ok {
		v.add("metadata", "required object is missing")
	} else {
		validateMetadata(md, v)
	}
	if s, present := e["spec"]; present && s != nil {
		if _, ok := s.(map[string]any); !ok {
			v.add("spec", "must be an object")
		}
	}
	if kind != "" && apiVersion != "" {
		if k, known := kinds()[strings.ToLower(kind)]; known {
			if !slices.Contains(k.apiVersions, apiVersion) {
				v.add("apiVersion", fmt.Sprintf("%q is not a valid apiVersion for kind %s (expected %s)", apiVersion, kind, strings.Join(k.apiVersions, " or ")))
			} else {
				k.check(e.Spec(), v)
			}
		}
	}
	for key := range e {
		switch key {
		case "apiVersion", "kind", "metadata", "spec", "relations", "status":
		default:
			v.add(key, "unknown top-level field (allowed: apiVersion, kind, metadata, spec, relations, status)")
		}
	}
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
		v.add("metadata.name", "must be a string")
	case !validName(name):
		v.add("metadata.name", fmt.Sprintf("%q is not valid; expected a string of 1-63 characters [a-zA-Z0-9] separated by [-_.], like \"my-service\"", name))
	}
	if raw, present := md["namespace"]; present {
		ns, ok := raw.(string)
		if !ok || len(ns) > 63 || !namespaceRe.MatchString(ns) {
			v.add("metadata.namespace", fmt.Sprintf("%v is not valid; expected lower-case [a-z0-9] separated by -, at most 63 characters", raw))
		}
	}
	for _, f := range []string{"title", "description", "uid", "etag"} {
		if raw, present := md[f]; present && raw != nil {
			if _, ok := raw.(string); !ok {
				v.add("metadata."+f, "must be a string")
			}
		}
	}
	if raw, present := md["labels"]; present && raw != nil {
		labels, ok := raw.(map[string]any)
		if !ok {
			v.add("metadata.labels", "must be an object of string values")
		}
		for _, k := range sortedKeys(labels) {
			if !validKey(k) {
				v.add("metadata.labels."+k, "label key is not valid ([prefix/]name, name 1-63 characters [a-zA-Z0-9] separated by [-_.])")
			}
			val, ok := labels[k].(string)
			if !ok || (val != "" && !validName(val)) {
				v.add("metadata.labels."+k, fmt.Sprintf("label value %v is not valid (a string of 0-63 characters [a-zA-Z0-9] separated by [-_.])", labels[k]))
			}
		}
	}
	if raw, present := md["annotations"]; present && raw != nil {
		ann, ok := raw.(map[string]any)
		if !ok {
			v.add("metadata.annotations", "must be an object of string values")
		}
		for _, k := range sortedKeys(ann) {
			if !validKey(k) {
				v.add("metadata.annotations."+k, "annotation key is not valid ([prefix/]name)")
			}
			if _, ok := ann[k].(string); !ok {
				v.add("metadata.annotations."+k, "annotation value must be a string")
			}
		}
	}
	if raw, present := md["tags"]; present && raw != nil {
		tags, ok := raw.([]any)
		if !ok {
			v.add("metadata.tags", "must be a list of strings")
		}
		for i, t := range tags {
			s, ok := t.(string)
			if !ok || len(s) > 63 || !tagRe.MatchString(s) {
				v.add(fmt.Sprintf("metadata.tags[%d]", i), fmt.Sprintf("tag %v is not valid; expected lower-case [a-z0-9:+#] separated by -, at most 63 characters", t))
			}
		}
	}
	if raw, present := md["links"]; present && raw != nil {
		links, ok := raw.([]any)
		if !ok {
			v.add("metadata.links", "must be a list of objects")
		}
		for i, l := range links {
			lm, ok := l.(map[string]any)
			p := fmt.Sprintf("metadata.links[%d]", i)
			if !ok {
				v.add(p, "must be an object with a url")
				continue
			}
			if u, ok := lm["url"].(string); !ok || u == "" {
				v.add(p+".url", "required field is missing")
			}
			for _, f := range []string{"title", "icon", "type"} {
				if raw, present := lm[f]; present && raw != nil {
					if _, ok := raw.(string); !ok {
						v.add(p+"."+f, "must be a string")
					}
				}
			}
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
