package docs

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const featurePage = "# Guide\n\n" +
	"Intro with ~~old~~ text and https://example.com/x linkified.\n\n" +
	"## Install\n\n" +
	"!!! note \"Read this\"\n    Body with **bold**.\n\n    !!! tip\n        Nested tip.\n\n" +
	"??? warning \"Click\"\n    Hidden body.\n\n" +
	"???+ danger\n    Open body.\n\n" +
	"!!! info \"\"\n    No title.\n\n" +
	"=== \"Go\"\n\n    ```go\n    func main() {}\n    ```\n\n" +
	"=== \"Shell\"\n\n    Run it.\n\n" +
	"After tabs.\n\n" +
	"```mermaid\ngraph TD;\n  A-->B;\n```\n\n" +
	"```python\ndef f(): pass\n```\n\n" +
	"```markdown\n!!! note\n    not an admonition\n```\n\n" +
	"## Install\n\n" +
	"## Ünïcode & Symbols!\n\n" +
	"### Custom {#my-id}\n\n" +
	"- [x] done\n- [ ] todo\n\n" +
	"| Left | Right |\n|:-----|------:|\n| a | b |\n\n" +
	"A footnote[^1].\n\n[^1]: The note.\n\n" +
	"[other](other.md#x) [same](#install) [home](../index.md) [img](../img/logo.png) [up](./)\n\n" +
	"![logo](../img/logo.png)\n"

func TestDocsRendering(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"mkdocs.yml": "site_name: Feature site\nsite_description: All of it\nrepo_url: https://github.com/acme/x\nedit_uri: edit/main/docs\n" +
			"nav:\n  - Home: index.md\n  - Guide:\n    - guide/index.md\n    - Other page: guide/other.md\n    - External: https://example.com/ext\n",
		"docs/index.md":       "# Welcome\n\nSee [the guide](guide/index.md).\n",
		"docs/guide/index.md": featurePage,
		"docs/guide/other.md": "# Other\n\n## X\n",
		"docs/img/logo.png":   "\x89PNG fake",
	})
	site := build(t, dir)
	body := article(t, site, "guide/index.html")
	for _, want := range []string{
		// admonitions, nested, collapsible, untitled
		"<div class=\"admonition note\">\n<p class=\"admonition-title\">Read this</p>\n<p>Body with <strong>bold</strong>.</p>\n<div class=\"admonition tip\">\n<p class=\"admonition-title\">Tip</p>\n<p>Nested tip.</p>\n</div>\n</div>",
		"<details class=\"admonition warning\">\n<summary>Click</summary>\n<p>Hidden body.</p>\n</details>",
		"<details class=\"admonition danger\" open=\"\">\n<summary>Danger</summary>",
		"<div class=\"admonition info\">\n<p>No title.</p>",
		// tabs
		"<div class=\"tabbed-set\">\n<div class=\"tabbed-block tabbed-selected\">\n<p class=\"tabbed-label\">Go</p>",
		"<div class=\"tabbed-block\">\n<p class=\"tabbed-label\">Shell</p>\n<p>Run it.</p>\n</div>\n</div>\n<p>After tabs.</p>",
		// chroma classes
		`<div class="highlight language-go"><pre class="chroma"><code><span class="line"><span class="cl"><span class="kd">func</span>`,
		`<span class="k">def</span>`,
		// mermaid, escaped, never highlighted
		"<pre class=\"mermaid\">graph TD;\n  A--&gt;B;\n</pre>",
		// an admonition inside a fence is not expanded
		`<span class="cl">!!! note`,
		// heading anchors like MkDocs: duplicate suffix, ASCII folding, explicit id
		`<h2 id="install">Install</h2>`, `<h2 id="install_1">Install</h2>`, `<h2 id="unicode-symbols">Ünïcode &amp; Symbols!</h2>`, `<h3 id="my-id">Custom</h3>`,
		// GFM
		`<del>old</del>`, `<a href="https://example.com/x" rel="noreferrer">https://example.com/x</a>`,
		`<span class="task-list-indicator task-checked" role="checkbox" aria-checked="true" aria-disabled="true">☑</span> done`,
		`<span class="task-list-indicator" role="checkbox" aria-checked="false" aria-disabled="true">☐</span> todo`,
		`<th align="left">Left</th>`, `<td align="right">b</td>`,
		`<sup id="fnref:1"><a href="#fn:1" class="footnote-ref" role="doc-noteref">1</a></sup>`, `<li id="fn:1">`,
		// links and images rewritten to directory URLs
		`<a href="other/#x">other</a>`, `<a href="#install">same</a>`, `<a href="../">home</a>`, `<a href="../img/logo.png">img</a>`, `<a href="./">up</a>`,
		`<img src="../img/logo.png" alt="logo">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("guide/index.html lacks %q\n%s", want, body)
		}
	}
	if strings.Contains(body, "<input") {
		t.Errorf("task list rendered an <input>")
	}
	if strings.Contains(body, "rigger") {
		t.Errorf("a code block placeholder was left in the page")
	}
	if got := string(site.Files["img/logo.png"]); got != "\x89PNG fake" {
		t.Errorf("image not copied: %q", got)
	}
	if !strings.Contains(string(site.Files[StylesheetFile]), ".chroma .kd {") {
		t.Errorf("chroma.css lacks the keyword class:\n%s", site.Files[StylesheetFile])
	}
	doc := string(site.Files["guide/other/index.html"])
	if !strings.HasPrefix(doc, `<!doctype html><html><head><meta charset="utf-8"><title>Other page</title><link rel="stylesheet" href="../../assets/chroma.css"></head><body><article class="md-typeset"><h1 id="other">Other</h1>`) {
		t.Errorf("page document: %s", doc)
	}
	if len(site.Log) != 0 {
		t.Errorf("log: %q", site.Log)
	}

	wantNav := []NavItem{
		{Title: "Home", Path: ""},
		{Title: "Guide", Children: []NavItem{{Title: "Guide", Path: "guide/"}, {Title: "Other page", Path: "guide/other/"}, {Title: "External", External: "https://example.com/ext"}}},
	}
	if !reflect.DeepEqual(site.Metadata.Nav, wantNav) {
		t.Errorf("nav = %+v", site.Metadata.Nav)
	}
	var meta Metadata
	if err := json.Unmarshal(site.Files[MetadataFile], &meta); err != nil {
		t.Fatal(err)
	}
	if meta.SiteName != "Feature site" || meta.SiteDescription != "All of it" || meta.RepoURL != "https://github.com/acme/x" || meta.EditURI != "edit/main/docs" ||
		meta.BuildTimestamp != fixedNow().UnixMilli() || len(meta.Etag) != 64 || !reflect.DeepEqual(meta.Nav, wantNav) {
		t.Errorf("metadata: %+v", meta)
	}
	wantFiles := []string{"assets/chroma.css", "guide/index.html", "guide/other/index.html", "img/logo.png", "index.html", "search/search_index.json", "techdocs_metadata.json"}
	if !reflect.DeepEqual(meta.Files, wantFiles) {
		t.Errorf("files = %q", meta.Files)
	}
	var guide PageInfo
	for _, p := range meta.Pages {
		if p.Path == "guide/" {
			guide = p
		}
	}
	wantToc := []Heading{{1, "guide", "Guide"}, {2, "install", "Install"}, {2, "install_1", "Install"}, {2, "unicode-symbols", "Ünïcode & Symbols!"}, {3, "my-id", "Custom"}}
	if guide.Source != "guide/index.md" || guide.Title != "Guide" || !reflect.DeepEqual(guide.Toc, wantToc) {
		t.Errorf("guide page info: %+v", guide)
	}

	var idx struct {
		Config map[string]any `json:"config"`
		Docs   []SearchDoc    `json:"docs"`
	}
	if err := json.Unmarshal(site.Files[SearchIndexFile], &idx); err != nil {
		t.Fatal(err)
	}
	if idx.Config["separator"] != `[\s\-]+` || !reflect.DeepEqual(idx.Docs, site.Index) {
		t.Errorf("search index: %+v", idx.Config)
	}
	found := map[string]SearchDoc{}
	for _, d := range idx.Docs {
		found[d.Location] = d
	}
	if d := found["guide/#install_1"]; d.Title != "Install" {
		t.Errorf("no section entry for the second Install: %+v", found)
	}
	if d := found["guide/other/#x"]; d.Title != "X" {
		t.Errorf("no section entry for other/#x: %+v", d)
	}
	if d := found[""]; d.Title != "Home" || d.Text != "Welcome See the guide." {
		t.Errorf("home entry: %+v", d)
	}

	// The build is deterministic: same files, same etag.
	again := build(t, dir)
	if again.Metadata.Etag != site.Metadata.Etag {
		t.Errorf("etag changed between identical builds")
	}
}

// TestDocsTreeNav: with no mkdocs.yml, pages come from docs/ in folder
// order: home first, then pages and folders alphabetically, titles from the
// first H1 or the file name.
func TestDocsTreeNav(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"docs/index.md":             "# Start\n",
		"docs/zeta.md":              "no heading\n",
		"docs/alpha-beta.md":        "# Alpha\n",
		"docs/setup/index.md":       "# Setup home\n",
		"docs/setup/linux_hosts.md": "text\n",
		"docs/setup/a/README.md":    "# Deep\n",
		"docs/middle/only.md":       "# Only\n",
	})
	site := build(t, dir)
	want := []NavItem{
		{Title: "Start", Path: ""},
		{Title: "Alpha", Path: "alpha-beta/"},
		{Title: "Middle", Children: []NavItem{{Title: "Only", Path: "middle/only/"}}},
		{Title: "Setup", Children: []NavItem{
			{Title: "Setup home", Path: "setup/"},
			{Title: "A", Children: []NavItem{{Title: "Deep", Path: "setup/a/"}}},
			{Title: "Linux hosts", Path: "setup/linux_hosts/"},
		}},
		{Title: "Zeta", Path: "zeta/"},
	}
	if !reflect.DeepEqual(site.Metadata.Nav, want) {
		t.Errorf("nav =\n%+v\nwant\n%+v", site.Metadata.Nav, want)
	}
	if _, ok := site.Files["setup/a/index.html"]; !ok {
		t.Errorf("README.md is not the folder's home page: %q", site.Metadata.Files)
	}
	if site.Metadata.SiteName != dirBase(dir) {
		t.Errorf("site name %q", site.Metadata.SiteName)
	}
}

func TestDocsSlugify(t *testing.T) {
	for in, want := range map[string]string{
		"Hello World":           "hello-world",
		"  Ünïcode & Symbols! ": "unicode-symbols",
		"a -- b":                "a-b",
		"snake_case stays":      "snake_case-stays",
		"日本語":                   "",
		"C++ / Go (1.26)":       "c-go-126",
	} {
		if got := slugify(in); got != want {
			t.Errorf("slugify(%q) = %q, want %q", in, got, want)
		}
	}
	ids := newIDSet()
	var got []string
	for _, id := range []string{"x", "x", "x_1", "x", "", "", "y_3", "y_3", "y"} {
		got = append(got, ids.unique(id))
	}
	if want := []string{"x", "x_1", "x_2", "x_3", "_1", "_2", "y_3", "y_4", "y"}; !reflect.DeepEqual(got, want) {
		t.Errorf("unique ids = %q, want %q", got, want)
	}
}

func TestDocsRelURL(t *testing.T) {
	for _, c := range []struct{ from, to, want string }{
		{"", "", "./"},
		{"", "guide/", "guide/"},
		{"guide/", "other/", "../other/"},
		{"guide/", "", "../"},
		{"a/b/", "a/c/", "../c/"},
		{"a/b/", "a/b/", "./"},
		{"a/", "a/img.png", "img.png"},
		{"a/b/", "c.png", "../../c.png"},
		{"", "img/x y.png", "img/x%20y.png"},
		{"", "a:b/", "./a:b/"},
	} {
		if got := relURL(c.from, c.to); got != c.want {
			t.Errorf("relURL(%q, %q) = %q, want %q", c.from, c.to, got, c.want)
		}
	}
}

// TestDocsConfigVariants: mkdocs.yaml is read like mkdocs.yml, docs_dir
// may name another folder, a nav of bare pages takes titles from the pages,
// and a cancelled context stops the build.
func TestDocsConfigVariants(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"mkdocs.yaml":                      "site_name: Yaml\ndocs_dir: ./documentation/\nnav:\n  - index.md\n  - getting-started.md\n",
		"documentation/index.md":           "no heading\n",
		"documentation/getting-started.md": "text\n",
		"docs/index.md":                    "# Not this one\n",
	})
	site := build(t, dir)
	want := []NavItem{{Title: "Home", Path: ""}, {Title: "Getting started", Path: "getting-started/"}}
	if site.Metadata.SiteName != "Yaml" || !reflect.DeepEqual(site.Metadata.Nav, want) {
		t.Errorf("site %q nav %+v", site.Metadata.SiteName, site.Metadata.Nav)
	}
	if strings.Contains(string(site.Files["index.html"]), "Not this one") {
		t.Errorf("docs/ was read instead of docs_dir")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Build(ctx, dir, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled build: %v", err)
	}
}

// Links in raw HTML are rewritten as Markdown's are, and broken ones are
// logged; links Markdown already rewrote are not rewritten twice.
func TestDocsRawHTMLLinks(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"mkdocs.yml": "site_name: Raw\n",
		"docs/index.md": "# Home\n\n[md](guide/other.md) <img src=\"img/logo.png\" width=\"120\" alt=\"inline\">\n\n" +
			"<p align=\"center\"><a href=\"guide/other.md#x\">raw &amp; other</a> <a href=\"https://example.com/a?b=1&amp;c=2\">ext</a>" +
			" <a href=\"#top\">top</a> <a href=\"missing.md\">gone</a></p>\n\n" +
			"<figure><img src=\"img/logo.png\" alt=\"block\"></figure>\n",
		"docs/guide/other.md": "# Other\n\n## X\n",
		"docs/img/logo.png":   "\x89PNG fake",
	})
	site := build(t, dir)
	body := article(t, site, "index.html")
	for _, want := range []string{
		`<a href="guide/other/">md</a>`,
		`<img src="img/logo.png" width="120" alt="inline">`,
		`<a href="guide/other/#x">raw &amp; other</a>`,
		`<a href="https://example.com/a?b=1&amp;c=2" rel="noreferrer">ext</a>`,
		`<a href="#top">top</a>`,
		`<a href="missing.md">gone</a>`,
		`<img src="img/logo.png" alt="block">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("index.html lacks %q\n%s", want, body)
		}
	}
	if strings.Contains(body, "rigger") {
		t.Errorf("a link mark was left in the page:\n%s", body)
	}
	if len(site.Log) != 1 || !strings.Contains(site.Log[0], "missing.md") {
		t.Errorf("log = %q, want one broken link to missing.md", site.Log)
	}
}

// Admonitions and tabs inside list items (MkDocs indents them by four)
// render inside the item; deeper indentation and indented code outside a
// list stay code.
func TestDocsBlocksInListItems(t *testing.T) {
	r, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	page := "# Steps\n\n" +
		"1. Install it.\n\n    !!! warning \"Careful\"\n        Back up **first**.\n\n    Then go on.\n\n" +
		"2. Configure:\n\n    === \"YAML\"\n\n        Write `a: 1`.\n\n    === \"JSON\"\n\n        Write `{}`.\n\n" +
		"- Nested:\n    - inner\n\n        ??? tip\n            Hidden.\n\n" +
		"Not a list:\n\n    !!! note\n        stays code\n"
	out, err := r.render([]byte(page), func(d string) (string, bool) { return d, true }, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"<li>\n<p>Install it.</p>\n<div class=\"admonition warning\">\n<p class=\"admonition-title\">Careful</p>\n<p>Back up <strong>first</strong>.</p>\n</div>\n<p>Then go on.</p>\n</li>",
		"<p>Configure:</p>\n<div class=\"tabbed-set\">\n<div class=\"tabbed-block tabbed-selected\">\n<p class=\"tabbed-label\">YAML</p>\n<p>Write <code>a: 1</code>.</p>",
		"<li>\n<p>inner</p>\n<details class=\"admonition tip\">\n<summary>Tip</summary>\n<p>Hidden.</p>\n</details>\n</li>",
		"<pre><code>!!! note\n    stays code\n</code></pre>",
	} {
		if !strings.Contains(out.body, want) {
			t.Errorf("page lacks %q\n%s", want, out.body)
		}
	}
}

// An attribute value that ends like an href (title="x src=") cannot make
// the link rewrite read past it: the page keeps the sanitizer's
// attributes and no author text lands inside a tag (review 31).
func TestDocsRawLinkRewriteStaysInAttributes(t *testing.T) {
	r, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	page := "# P\n\n[ autofocus onfocus=alert(document.domain) x](other.md \"y src=\") <img alt=\"z\">\n\n" +
		"<a title='q href=' href=\"other.md\">raw</a>\n"
	out, err := r.render([]byte(page), func(d string) (string, bool) { return strings.TrimSuffix(d, ".md") + "/", true }, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		// the author's text is the link's text, outside the tag
		`<a href="other/" title="y src="> autofocus onfocus=alert(document.domain) x</a> <img alt="z">`,
	} {
		if !strings.Contains(out.body, want) {
			t.Errorf("page lacks %q\n%s", want, out.body)
		}
	}
	if strings.Contains(out.body, "rigger") {
		t.Errorf("a link mark was left:\n%s", out.body)
	}
	if !strings.Contains(out.body, `href="other/">raw</a>`) {
		t.Errorf("the raw link was not rewritten:\n%s", out.body)
	}
}
