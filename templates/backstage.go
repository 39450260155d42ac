package templates

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Backstage's own template filters.

// parseRepoURL reads the value a RepoUrlPicker produces,
// "host?owner=o&repo=r" (also organization, workspace, project), into
// {host, repo, owner, organization, workspace, project}; absent parts are
// left out. Backstage checks the required parts per SCM integration type;
// without integration config this requires repo and at least one of owner,
// organization, workspace or project.
func parseRepoURL(in any) (map[string]any, error) {
	s, ok := in.(string)
	if !ok {
		return nil, fmt.Errorf("expects a string, got %s", typeName(in))
	}
	if s == "" {
		return nil, fmt.Errorf("repo URL is empty")
	}
	u, err := url.Parse("https://" + s)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("invalid repo URL %q", s)
	}
	q := u.Query()
	out := map[string]any{"host": u.Host}
	for _, k := range []string{"owner", "organization", "workspace", "project", "repo"} {
		if q.Has(k) {
			out[k] = q.Get(k)
		}
	}
	if out["repo"] == nil || out["repo"] == "" {
		return nil, fmt.Errorf("invalid repo URL %q: missing repo", s)
	}
	if out["owner"] == nil && out["organization"] == nil && out["workspace"] == nil && out["project"] == nil {
		return nil, fmt.Errorf("invalid repo URL %q: missing owner", s)
	}
	return out, nil
}

// RepoURL is a RepoUrlPicker value read by ParseRepoURL.
type RepoURL struct {
	Host string
	// Owner is owner, else organization, workspace or project.
	Owner string
	Repo  string
}

// ParseRepoURL reads a RepoUrlPicker value, "host?owner=o&repo=r".
func ParseRepoURL(s string) (RepoURL, error) {
	m, err := parseRepoURL(s)
	if err != nil {
		return RepoURL{}, err
	}
	r := RepoURL{Host: jsString(m["host"]), Repo: jsString(m["repo"])}
	for _, k := range []string{"owner", "organization", "workspace", "project"} {
		if v, ok := m[k].(string); ok && v != "" {
			r.Owner = v
			break
		}
	}
	return r, nil
}

func filterParseRepoURL(_ *evaluator, in any, _ []any) (any, error) {
	return parseRepoURL(in)
}

// filterProjectSlug gives "owner/repo" for a RepoUrlPicker value.
func filterProjectSlug(_ *evaluator, in any, _ []any) (any, error) {
	m, err := parseRepoURL(in)
	if err != nil {
		return nil, err
	}
	return jsString(m["owner"]) + "/" + jsString(m["repo"]), nil
}

// filterParseEntityRef reads "[kind:][namespace/]name" (or an object with
// kind, namespace and name) into {kind, namespace, name}. The optional
// argument {defaultKind, defaultNamespace} fills missing parts; the
// namespace defaults to "default". Kinds keep their case, as in Backstage.
func filterParseEntityRef(_ *evaluator, in any, args []any) (any, error) {
	var defKind, defNS string
	if opts, ok := argAt(args, 0).(map[string]any); ok {
		if v, ok := opts["defaultKind"].(string); ok {
			defKind = v
		}
		if v, ok := opts["defaultNamespace"].(string); ok {
			defNS = v
		}
	}
	var kind, ns, name string
	switch x := in.(type) {
	case string:
		if x == "" {
			return nil, fmt.Errorf("entity reference is empty")
		}
		colon, slash := strings.IndexByte(x, ':'), strings.IndexByte(x, '/')
		if slash >= 0 && colon > slash {
			colon = -1
		}
		nameStart := 0
		if colon >= 0 {
			kind = x[:colon]
			nameStart = colon + 1
		}
		if slash >= 0 {
			ns = x[nameStart:slash]
			nameStart = slash + 1
		}
		name = x[nameStart:]
		if (colon >= 0 && kind == "") || (slash >= 0 && ns == "") || name == "" {
			return nil, fmt.Errorf("entity reference %q is not of the form [<kind>:][<namespace>/]<name>", x)
		}
	case map[string]any:
		kind, _ = x["kind"].(string)
		ns, _ = x["namespace"].(string)
		name, _ = x["name"].(string)
		if name == "" {
			return nil, fmt.Errorf("entity reference object has no name")
		}
	default:
		return nil, fmt.Errorf("expects a string, got %s", typeName(in))
	}
	if kind == "" {
		kind = defKind
	}
	if kind == "" {
		return nil, fmt.Errorf("entity reference %q has no kind (it should start with \"component:\" or similar)", display(in))
	}
	if ns == "" {
		ns = defNS
	}
	if ns == "" {
		ns = "default"
	}
	return map[string]any{"kind": kind, "namespace": ns, "name": name}, nil
}

// filterPick is lodash get(object, path): "a.b[0].c" walks into object.
func filterPick(_ *evaluator, in any, args []any) (any, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("takes exactly one property path")
	}
	if arr, ok := args[0].([]any); ok {
		v := in
		for _, k := range arr {
			v = member(v, k)
		}
		return v, nil
	}
	v := in
	for _, part := range PropertyPath(jsString(args[0])) {
		v = member(v, part)
	}
	return v, nil
}

// PropertyPath splits a lodash path such as a.b[0]["c"] into its keys.
func PropertyPath(path string) []any {
	var parts []any
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			parts = append(parts, cur.String())
			cur.Reset()
		}
	}
	for i := 0; i < len(path); i++ {
		switch c := path[i]; c {
		case '.':
			flush()
		case '[':
			flush()
			end := strings.IndexByte(path[i:], ']')
			if end < 0 {
				cur.WriteString(path[i:])
				i = len(path)
				continue
			}
			key := path[i+1 : i+end]
			if uq, err := strconv.Unquote(strings.ReplaceAll(key, "'", `"`)); err == nil && len(key) >= 2 {
				parts = append(parts, uq)
			} else if n, err := strconv.Atoi(key); err == nil {
				parts = append(parts, float64(n))
			} else {
				parts = append(parts, key)
			}
			i += end
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return parts
}
