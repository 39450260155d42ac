package docs

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// FuzzDocsBlocks: the admonition/tab expansion never panics, and leaves a
// page without any marker untouched.
func FuzzDocsBlocks(f *testing.F) {
	for _, s := range []string{featurePage, hostilePage, "!!! note\n", "=== \"a\"\n    x\n===! \"b\"\n", "??? x \"t\"\n\t- y\n", "```\n!!! a\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := expandBlocks([]byte(s))
		if !strings.Contains(s, "!!!") && !strings.Contains(s, "???") && !strings.Contains(s, "===") && !strings.Contains(s, ">") &&
			string(out) != strings.ReplaceAll(s, "\r\n", "\n") {
			t.Errorf("page without blocks changed: %q → %q", s, out)
		}
	})
}

// FuzzDocsConfig: mkdocs.yml parsing never panics and never returns a
// docs_dir that leaves the folder.
func FuzzDocsConfig(f *testing.F) {
	for _, s := range []string{"site_name: x\nnav:\n  - a.md\n  - B: [c.md, {D: https://x}]\n", "docs_dir: ../x\n", "a: &a [1]\nb: *a\n", "nav: [{}]\n", "nav:\n- - x\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := parseConfig("mkdocs.yml", []byte(s), func(string, ...any) {})
		if err == nil && (strings.HasPrefix(cfg.DocsDir, "../") || cfg.DocsDir == ".." || strings.HasPrefix(cfg.DocsDir, "/")) {
			t.Errorf("docs_dir %q accepted", cfg.DocsDir)
		}
	})
}

// FuzzDocsRender: rendering never panics and never lets a script, an event
// handler or a javascript: URL through.
func FuzzDocsRender(f *testing.F) {
	for _, s := range []string{featurePage, hostilePage, "<scr<script>ipt>alert(1)</script>", "[a](java\tscript:x)", "<a href='&#106;avascript:x'>a</a>"} {
		f.Add(s)
	}
	r, err := newRenderer()
	if err != nil {
		f.Fatal(err)
	}
	pg := &page{src: "a/b.md", url: "a/b/"}
	src := &source{pages: map[string]*page{pg.src: pg}, byURL: map[string]*page{pg.url: pg}, assets: map[string]int64{}}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := r.render([]byte(s), func(d string) (string, bool) { return src.resolveLink(pg, d) }, func(string) {})
		if err != nil {
			return
		}
		if bad := unsafeMarkup(out.body); bad != "" {
			t.Errorf("%q rendered %q, which has %s", s, out.body, bad)
		}
	})
}

// unsafeMarkup names the first script-capable construct of an HTML text:
// a dangerous element, an event handler or a URL attribute that is not
// http(s), mailto, relative or a raster data: image.
func unsafeMarkup(body string) string {
	z := html.NewTokenizer(strings.NewReader(body))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return ""
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		name, _ := z.TagName()
		switch string(name) {
		case "script", "iframe", "object", "embed", "form", "input", "base", "meta", "style", "svg", "link", "math":
			return "<" + string(name) + ">"
		}
		for {
			k, v, more := z.TagAttr()
			key, val := string(k), strings.ToLower(strings.TrimSpace(string(v)))
			if strings.HasPrefix(key, "on") || key == "style" {
				return key + " attribute"
			}
			if (key == "href" || key == "src") && hasScheme(val) && !strings.HasPrefix(val, "http:") && !strings.HasPrefix(val, "https:") &&
				!strings.HasPrefix(val, "mailto:") && !(key == "src" && strings.HasPrefix(val, "data:image/")) {
				return key + "=" + val
			}
			if !more {
				break
			}
		}
	}
}
