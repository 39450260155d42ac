package docs

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/riggerdev/rigger/internal/yamlsafe"
)

// maxConfigBytes bounds mkdocs.yml.
const maxConfigBytes = 1 << 20

// config is the data read from mkdocs.yml; nothing else of it is used.
type config struct {
	SiteName        string
	SiteDescription string
	DocsDir         string
	RepoURL         string
	EditURI         string
	// Nav is nil when mkdocs.yml has none: pages then come from the tree.
	Nav []navEntry
}

// navEntry is one nav item as written: a page (Page), a link (URL) or a
// section (Children); Title may be empty for a bare page.
type navEntry struct {
	Title    string
	Page     string
	URL      string
	Children []navEntry
	// Where is the entry's place, for log lines ("nav[2]").
	Where string
}

// configKey reports whether Rigger reads the mkdocs.yml key k.
func configKey(k string) bool {
	switch k {
	case "site_name", "site_description", "docs_dir", "repo_url", "edit_uri", "nav":
		return true
	}
	return false
}

// parseConfig reads mkdocs.yml as data. Unknown keys are ignored with one
// warning each in the log, in the file's order.
func parseConfig(name string, data []byte, logf func(string, ...any)) (config, error) {
	cfg := config{DocsDir: "docs"}
	if len(data) > maxConfigBytes {
		return cfg, fmt.Errorf("%s is %d bytes, more than the limit of %d bytes", name, len(data), maxConfigBytes)
	}
	docs, err := yamlsafe.Documents(data)
	if err != nil {
		return cfg, fmt.Errorf("%s: %v", name, err)
	}
	if len(docs) == 0 || docs[0].Node == nil {
		return cfg, nil
	}
	if len(docs) > 1 {
		return cfg, fmt.Errorf("%s holds %d YAML documents; it must hold one", name, len(docs))
	}
	root := docs[0].Node
	if probs := yamlsafe.Screen(root, yamlsafe.Limits{MaxDepth: 20, MaxStringLength: 64 << 10}); len(probs) > 0 {
		return cfg, fmt.Errorf("%s: %v", name, probs[0])
	}
	if root.Kind != yaml.MappingNode {
		return cfg, fmt.Errorf("%s: line %d: the top level must be a mapping", name, root.Line)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if !configKey(k.Value) {
			logf("%s: key %s is ignored (line %d): nothing is executed, imported or fetched", name, k.Value, k.Line)
			continue
		}
		if k.Value == "nav" {
			nav, err := parseNav(v, "nav")
			if err != nil {
				return cfg, fmt.Errorf("%s: %w", name, err)
			}
			cfg.Nav = nav
			if cfg.Nav == nil {
				cfg.Nav = []navEntry{}
			}
			continue
		}
		if v.Kind != yaml.ScalarNode {
			return cfg, fmt.Errorf("%s: line %d: %s must be a string", name, v.Line, k.Value)
		}
		s := v.Value
		if v.ShortTag() == "!!null" {
			s = ""
		}
		switch k.Value {
		case "site_name":
			cfg.SiteName = s
		case "site_description":
			cfg.SiteDescription = s
		case "docs_dir":
			cfg.DocsDir = s
		case "repo_url":
			cfg.RepoURL = s
		case "edit_uri":
			cfg.EditURI = s
		}
	}
	if cfg.RepoURL != "" && !isHTTPURL(cfg.RepoURL) {
		logf("%s: repo_url %q is not an http(s) URL: ignored", name, cfg.RepoURL)
		cfg.RepoURL = ""
	}
	if (strings.Contains(cfg.EditURI, ":") && !isHTTPURL(cfg.EditURI)) || strings.HasPrefix(cfg.EditURI, "//") || strings.Contains(cfg.EditURI, "\\") {
		logf("%s: edit_uri %q is neither a path nor an http(s) URL: ignored", name, cfg.EditURI)
		cfg.EditURI = ""
	}
	dd, err := cleanDocsDir(cfg.DocsDir)
	if err != nil {
		return cfg, fmt.Errorf("%s: %w", name, err)
	}
	cfg.DocsDir = dd
	return cfg, nil
}

// cleanDocsDir refuses a docs_dir that is absolute or leaves the folder.
func cleanDocsDir(d string) (string, error) {
	if d == "" {
		return "docs", nil
	}
	c := path.Clean(strings.ReplaceAll(d, `\`, "/"))
	if path.IsAbs(c) || c == ".." || strings.HasPrefix(c, "../") || strings.Contains(d, "\x00") {
		return "", fmt.Errorf("docs_dir %q leaves the documentation folder: it must be a relative path inside it", d)
	}
	return c, nil
}

func isHTTPURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")
}

// parseNav reads a nav list: items are "page.md", {Title: page.md},
// {Title: https://…} or {Title: [children]}.
func parseNav(n *yaml.Node, where string) ([]navEntry, error) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("line %d: %s must be a list", n.Line, where)
	}
	var out []navEntry
	for i, item := range n.Content {
		w := fmt.Sprintf("%s[%d]", where, i)
		switch item.Kind {
		case yaml.ScalarNode:
			out = append(out, navTarget("", item.Value, w))
		case yaml.MappingNode:
			if len(item.Content) != 2 {
				return nil, fmt.Errorf("line %d: %s must have exactly one title", item.Line, w)
			}
			title, v := item.Content[0].Value, item.Content[1]
			switch v.Kind {
			case yaml.ScalarNode:
				out = append(out, navTarget(title, v.Value, w))
			case yaml.SequenceNode:
				children, err := parseNav(v, w+"."+title)
				if err != nil {
					return nil, err
				}
				out = append(out, navEntry{Title: title, Children: children, Where: w})
			default:
				return nil, fmt.Errorf("line %d: %s: %s must be a page, a URL or a list", v.Line, w, title)
			}
		default:
			return nil, fmt.Errorf("line %d: %s must be a page or a one-key mapping", item.Line, w)
		}
	}
	return out, nil
}

func navTarget(title, target, where string) navEntry {
	if hasScheme(target) {
		return navEntry{Title: title, URL: target, Where: where}
	}
	return navEntry{Title: title, Page: target, Where: where}
}

// hasScheme reports whether s starts with a URL scheme ("https:", "mailto:").
func hasScheme(s string) bool {
	i := strings.IndexAny(s, ":/?#")
	if i <= 0 || s[i] != ':' {
		return false
	}
	for j, c := range s[:i] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// ErrNoDocs is returned (wrapped) when docs_dir does not exist.
var ErrNoDocs = errors.New("no documentation folder")
