package docs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocsHostileConfig: hooks, plugins, a theme's custom_dir, markdown
// extensions and Python tags in mkdocs.yml are read as data and ignored
// with a warning each; the hook and the extension that would write a
// marker file never run.
func TestDocsHostileConfig(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "MARKER")
	py := "import pathlib\npathlib.Path(" + `"` + marker + `"` + ").write_text('pwned')\n"
	files := map[string]string{
		"mkdocs.yml": `site_name: Hostile
hooks:
  - hooks/marker.py
plugins:
  - search
  - marker-plugin:
      path: hooks/marker.py
theme:
  name: material
  custom_dir: overrides
markdown_extensions:
  - pymdownx.superfences:
      custom_fences:
        - name: x
          class: x
          format: !!python/name:marker_ext.fence
  - marker_ext
extra_javascript: [https://evil.example/x.js]
INHERIT: ../../base.yml
repo_url: "javascript:alert(1)"
edit_uri: "javascript:alert(1)//"
`,
		"hooks/marker.py":         py,
		"marker_ext.py":           py,
		"overrides/main.html":     "<script>alert(1)</script>",
		"docs/index.md":           "# Hi\n",
		"docs/evil.js":            "alert(1)",
		"docs/raw.html":           "<script>alert(1)</script>",
		"docs/overrides/main.css": "body{}",
	}
	writeFiles(t, dir, files)
	site := build(t, dir)
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the marker file exists: something was executed (%v)", err)
	}
	wantLog(t, site,
		"mkdocs.yml: key hooks is ignored (line 2): nothing is executed, imported or fetched",
		"mkdocs.yml: key plugins is ignored (line 4): nothing is executed, imported or fetched",
		"mkdocs.yml: key theme is ignored (line 8): nothing is executed, imported or fetched",
		"mkdocs.yml: key markdown_extensions is ignored (line 11): nothing is executed, imported or fetched",
		"mkdocs.yml: key extra_javascript is ignored (line 18): nothing is executed, imported or fetched",
		"mkdocs.yml: key INHERIT is ignored (line 19): nothing is executed, imported or fetched",
		"evil.js: HTML and script files are not copied; write the page in Markdown",
		"raw.html: HTML and script files are not copied; write the page in Markdown",
		`mkdocs.yml: repo_url "javascript:alert(1)" is not an http(s) URL: ignored`,
		`mkdocs.yml: edit_uri "javascript:alert(1)//" is neither a path nor an http(s) URL: ignored`,
	)
	if site.Metadata.RepoURL != "" || site.Metadata.EditURI != "" {
		t.Errorf("repo_url %q, edit_uri %q kept", site.Metadata.RepoURL, site.Metadata.EditURI)
	}
	for name, data := range site.Files {
		if strings.Contains(string(data), "alert(1)") || strings.Contains(string(data), "pwned") {
			t.Errorf("%s carries hostile content", name)
		}
	}
	if _, ok := site.Files["overrides/main.css"]; !ok {
		t.Errorf("plain assets are still copied")
	}
}

const hostilePage = `# Hostile

<script>alert("script")</script>

<img src=x onerror="alert('onerror')">

[js](javascript:alert('js')) [vb](VBScript:msgbox) [data](data:text/html;base64,PHNjcmlwdD4=)

<a href="data:text/html,<script>alert('a-data')</script>">a-data</a>
<a href="JaVaScRiPt:alert('mixed')">mixed</a>
<a href="  javascript:alert('space')">space</a>

<iframe src="https://evil.example/"></iframe>

<svg onload="alert('svg')"><script>alert('svg-script')</script><text>svgtext</text></svg>

<form action="https://evil.example/"><input name="password" type="password"><button>go</button></form>

<base href="https://evil.example/">
<meta http-equiv="refresh" content="0;url=https://evil.example/">
<style>body{display:none}</style>
<object data="x.swf"></object><embed src="x.swf">
<link rel="stylesheet" href="https://evil.example/x.css">

<p style="background:url(javascript:alert('style'))" onclick="alert('click')">styled</p>

<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+" alt="svgdata">
<img src="data:image/png;base64,iVBORw0KGgo=" alt="pngdata">

![md-js](javascript:alert('img'))

<details open ontoggle="alert('toggle')"><summary>s</summary>kept</details>
`

// TestDocsHostileMarkdown: scripts, handlers, javascript:/vbscript:/data:
// links, frames, inline SVG, forms, <base>, <meta>, <style> and objects are
// removed from the HTML; raster data: images stay.
func TestDocsHostileMarkdown(t *testing.T) {
	dir := writeTree(t, map[string]string{"docs/index.md": hostilePage})
	body := article(t, build(t, dir), "index.html")
	lower := strings.ToLower(body)
	for _, bad := range []string{
		"<script", "alert(", "onerror", "onload", "onclick", "ontoggle", "javascript:", "vbscript:", "data:text",
		"<iframe", "<svg", "svgtext", "<form", "<input", "<button", "<base", "<meta", "<style", "style=",
		"<object", "<embed", "<link", "image/svg+xml", "evil.example",
	} {
		if strings.Contains(lower, bad) {
			t.Errorf("sanitized page still contains %q:\n%s", bad, body)
		}
	}
	for _, want := range []string{
		`<img src="x">`, `<p>styled</p>`, `<img alt="svgdata">`, `<img src="data:image/png;base64,iVBORw0KGgo=" alt="pngdata">`,
		`<details open=""><summary>s</summary>kept</details>`, `js`, `a-data`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("sanitized page lacks %q:\n%s", want, body)
		}
	}
}

// TestDocsLimits: a page over the per-page limit (20 MB against the 5 MiB
// default), too many pages and too many bytes refuse the build with an
// error naming what and the limit.
func TestDocsLimits(t *testing.T) {
	big := writeTree(t, map[string]string{"docs/index.md": "# ok\n", "docs/huge.md": "# Huge\n" + strings.Repeat("a", 20<<20)})
	_, err := Build(context.Background(), big, Options{})
	if err == nil || err.Error() != "page huge.md is 20971527 bytes, more than the limit of 5242880 bytes per page" {
		t.Errorf("20 MB page: %v", err)
	}
	three := writeTree(t, map[string]string{"docs/a.md": "a", "docs/b.md": "b", "docs/c.md": "c", "docs/x.bin": strings.Repeat("x", 100)})
	if _, err := Build(context.Background(), three, Options{MaxPages: 2}); err == nil || err.Error() != "the docs folder holds more than 2 pages, the limit" {
		t.Errorf("page count: %v", err)
	}
	if _, err := Build(context.Background(), three, Options{MaxSiteBytes: 50}); err == nil || !strings.Contains(err.Error(), "more than 50 bytes, the limit for a site") {
		t.Errorf("site bytes: %v", err)
	}
	if _, err := Build(context.Background(), three, Options{MaxSiteBytes: 2000}); err == nil || !strings.HasPrefix(err.Error(), "the built site is ") || !strings.HasSuffix(err.Error(), "more than the limit of 2000 bytes") {
		t.Errorf("built site bytes: %v", err)
	}
}

// TestDocsConfinement: docs_dir cannot leave the folder, symlinks out of
// the docs folder are skipped and logged (their targets never read), and a
// link out of the docs folder is a broken link.
func TestDocsConfinement(t *testing.T) {
	for _, dd := range []string{"../../", "..", "/etc", "docs/../../x"} {
		dir := writeTree(t, map[string]string{"mkdocs.yml": "docs_dir: " + dd + "\n", "docs/index.md": "# x\n"})
		_, err := Build(context.Background(), dir, Options{})
		if err == nil || !strings.Contains(err.Error(), "leaves the documentation folder") {
			t.Errorf("docs_dir %s: %v", dd, err)
		}
	}

	outside := writeTree(t, map[string]string{"secret.md": "# TOPSECRET\n", "secret.png": "TOPSECRET"})
	dir := writeTree(t, map[string]string{
		"mkdocs.yml":       "nav:\n  - index.md\n  - leak.md\n  - ../private.md\n  - /etc/passwd\n",
		"private.md":       "# TOPSECRET beside the docs\n",
		"docs/index.md":    "# Home\n\n[leak](leak.md) [up](../private.md) [far](../../../../etc/passwd)\n\n![img](leak.png)\n",
		"docs/sub/ok.md":   "# Fine\n",
		"docs/inside.md":   "# Inside\n",
		"docs/.hidden.md":  "# hidden\n",
		"docs/.git/config": "x",
	})
	docs := filepath.Join(dir, "docs")
	for link, target := range map[string]string{
		"leak.md":   filepath.Join(outside, "secret.md"),
		"leak.png":  filepath.Join(outside, "secret.png"),
		"rel.md":    "../private.md",
		"linkdir":   outside,
		"alias.md":  "inside.md",
		"sub/up.md": "../../private.md",
	} {
		if err := os.Symlink(target, filepath.Join(docs, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	site := build(t, dir)
	for name, data := range site.Files {
		if strings.Contains(string(data), "TOPSECRET") {
			t.Errorf("%s carries content from outside the docs folder", name)
		}
	}
	wantLog(t, site,
		"leak.md: symlink that leaves the docs folder or points nowhere: skipped, not followed",
		"leak.png: symlink that leaves the docs folder or points nowhere: skipped, not followed",
		"rel.md: symlink that leaves the docs folder or points nowhere: skipped, not followed",
		"sub/up.md: symlink that leaves the docs folder or points nowhere: skipped, not followed",
		"linkdir: symlink that leaves the docs folder or points nowhere: skipped, not followed",
		"index.md: broken link to leak.md",
		"index.md: broken link to ../private.md",
		"index.md: broken link to ../../../../etc/passwd",
		"index.md: broken link to leak.png",
		`mkdocs.yml: nav[1] "" points to leak.md, which is not a page of the docs folder: left out`,
		`mkdocs.yml: nav[2] "" points to ../private.md, which is not a page of the docs folder: left out`,
		`mkdocs.yml: nav[3] "" points to /etc/passwd, which is not a page of the docs folder: left out`,
	)
	// A symlink that stays inside the docs folder is an ordinary file.
	if !strings.Contains(article(t, site, "alias/index.html"), "Inside") {
		t.Errorf("in-folder symlink not built")
	}
	for _, name := range []string{"leak/index.html", "leak.png", "rel/index.html", ".hidden/index.html", ".git/config"} {
		if _, ok := site.Files[name]; ok {
			t.Errorf("%s was built", name)
		}
	}

	// docs_dir itself a symlink out of the folder is refused.
	escape := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(escape, "docs")); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(context.Background(), escape, Options{}); err == nil || !strings.Contains(err.Error(), `docs_dir "docs"`) {
		t.Errorf("docs_dir symlinked out: %v", err)
	}
	// A missing docs folder is a clear error.
	if _, err := Build(context.Background(), t.TempDir(), Options{}); !errors.Is(err, ErrNoDocs) {
		t.Errorf("missing docs: %v", err)
	}
}

// TestDocsBadConfig: alias bombs, non-mapping files and bad nav shapes are
// refused with the place.
func TestDocsBadConfig(t *testing.T) {
	for name, c := range map[string]struct{ yml, want string }{
		"alias bomb": {"a: &a [x, x]\nb: [*a, *a]\nsite_name: x\n", "mkdocs.yml: line 1:4: a: YAML anchors and aliases are not allowed"},
		"list":       {"- a\n", "mkdocs.yml: line 1: the top level must be a mapping"},
		"nav map":    {"nav: {a: b}\n", "mkdocs.yml: line 1: nav must be a list"},
		"nav two":    {"nav:\n  - {a: x.md, b: y.md}\n", "mkdocs.yml: line 2: nav[0] must have exactly one title"},
		"site_name":  {"site_name: [x]\n", "mkdocs.yml: line 1: site_name must be a string"},
		"syntax":     {"site_name: 'x\n", "mkdocs.yml: "},
		"two docs":   {"a: 1\n---\nb: 2\n", "mkdocs.yml holds 2 YAML documents; it must hold one"},
	} {
		dir := writeTree(t, map[string]string{"mkdocs.yml": c.yml, "docs/index.md": "# x\n"})
		_, err := Build(context.Background(), dir, Options{})
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

// TestDocsDeepNesting: a line nesting block quotes deeper than
// maxQuoteDepth keeps the rest as text (goldmark's cost grows with the
// square of one line's nesting: 200,000 markers took minutes), as do
// duplicate headings by the thousand (unique anchors stay linear), and
// link reference definitions by the thousand still resolve (a run of them
// is cut by blank lines: goldmark's cost grows with the square of a run).
func TestDocsDeepNesting(t *testing.T) {
	r, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{
		"quotes":        strings.Repeat(">", 200000),
		"spaced quotes": strings.Repeat("> ", 200000),
		"list quotes":   strings.Repeat("- >", 100000),
		"indented":      strings.Repeat("  >", 100000),
		"lists":         strings.Repeat("- ", 100000) + "x",
	} {
		out, err := r.render([]byte(s), func(d string) (string, bool) { return d, false }, func(string) {})
		if err != nil {
			t.Fatal(err)
		}
		// Quotes and list items count alike towards the depth.
		if n := strings.Count(out.body, "<blockquote>") + strings.Count(out.body, "<ul>"); n != maxQuoteDepth {
			t.Errorf("%s: %d nested quotes and lists, want %d", name, n, maxQuoteDepth)
		}
		if name == "lists" {
			continue
		}
		if strings.Count(out.body, "&gt;") < 1000 {
			t.Errorf("%s: the markers past the limit are not kept as text", name)
		}
	}
	// A definition used thousands of times would render to gigabytes: the
	// page is refused once its HTML passes its bound.
	bomb := "[r]: https://example.com/" + strings.Repeat("a", 10000) + "\n\n" + strings.Repeat("[r]", 12000) + "\n"
	if _, err := r.render([]byte(bomb), func(d string) (string, bool) { return d, false }, func(string) {}); !errors.Is(err, errPageTooLarge) {
		t.Errorf("a reference used 12,000 times: %v, want errPageTooLarge", err)
	}
	var defs strings.Builder
	defs.WriteString("[first][d0] [last][d49999]\n\n")
	for i := range 50000 {
		fmt.Fprintf(&defs, "[d%d]: https://example.com/%d\n", i, i)
	}
	out, err := r.render([]byte(defs.String()), func(d string) (string, bool) { return d, false }, func(string) {})
	if err != nil || !strings.Contains(out.body, `<a href="https://example.com/0" rel="noreferrer">first</a> <a href="https://example.com/49999" rel="noreferrer">last</a>`) {
		t.Errorf("50,000 link definitions: %v %.200s", err, out.body)
	}
	out, err = r.render([]byte(strings.Repeat("## a\n", 50000)), func(d string) (string, bool) { return d, false }, func(string) {})
	if err != nil || len(out.toc) != 50000 || out.toc[49999].ID != "a_49999" {
		t.Errorf("duplicate headings: %v %d", err, len(out.toc))
	}
}

// TestDocsHostileCode: code blocks (highlighted after the sanitizer ran)
// and their info strings stay text, whatever they hold.
func TestDocsHostileCode(t *testing.T) {
	page := "# Code\n\n```html\n</code></pre></div><script>alert(1)</script><img src=x onerror=alert(2)>\n```\n\n" +
		"```\"><script>alert(3)</script>\nx\n```\n\n~~~js onload=alert(4)\n<svg onload=alert(5)>\n~~~\n\n```mermaid\n</pre><script>alert(6)</script>\n```\n"
	body := article(t, build(t, writeTree(t, map[string]string{"docs/index.md": page})), "index.html")
	if bad := unsafeMarkup(body); bad != "" {
		t.Errorf("code rendered markup: %s\n%s", bad, body)
	}
	for _, want := range []string{
		`<span class="p">&gt;&lt;</span><span class="nt">script</span>`, `language-scriptalert3script">`,
		`<span class="nx">svg</span> <span class="nx">onload</span>`, "&lt;/pre&gt;&lt;script&gt;alert(6)",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
}
