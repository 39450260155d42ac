package docs

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
)

// maxBrokenLinkLines bounds the broken-link lines logged for one page.
const maxBrokenLinkLines = 50

// builder holds one build's state.
type builder struct {
	dir  string
	opt  Options
	root *os.Root // dir
	docs *os.Root // dir/docs_dir
	cfg  config
	md   *pageRenderer
	log  []string
}

func (b *builder) logf(format string, args ...any) {
	b.log = append(b.log, fmt.Sprintf(format, args...))
}

// newBuilder opens dir, reads its mkdocs.yml (or mkdocs.yaml) as data and
// opens docs_dir, which must stay inside dir.
func newBuilder(dir string, opt Options) (*builder, error) {
	b := &builder{dir: dir, opt: opt}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, trimPathError(err))
	}
	b.root = root
	b.cfg = config{DocsDir: "docs"}
	for _, name := range []string{"mkdocs.yml", "mkdocs.yaml"} {
		data, err := readFile(root, name, maxConfigBytes)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			b.close()
			return nil, fmt.Errorf("%s: %w", name, trimPathError(err))
		}
		if b.cfg, err = parseConfig(name, data, b.logf); err != nil {
			b.close()
			return nil, err
		}
		break
	}
	if b.cfg.SiteName == "" {
		b.cfg.SiteName = opt.SiteName
	}
	if b.cfg.SiteName == "" {
		abs, _ := filepath.Abs(dir)
		b.cfg.SiteName = filepath.Base(abs)
	}
	docs, err := root.OpenRoot(filepath.FromSlash(b.cfg.DocsDir))
	if err != nil {
		b.close()
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("docs_dir %q: %w next to mkdocs.yml", b.cfg.DocsDir, ErrNoDocs)
		}
		return nil, fmt.Errorf("docs_dir %q: %w (it must be a folder next to mkdocs.yml)", b.cfg.DocsDir, trimPathError(err))
	}
	b.docs = docs
	if b.md, err = newRenderer(); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *builder) close() {
	if b.docs != nil {
		b.docs.Close()
	}
	if b.root != nil {
		b.root.Close()
	}
}

func (b *builder) build(ctx context.Context) (*Site, error) {
	src, err := b.scan(b.docs)
	if err != nil {
		return nil, err
	}
	site := &Site{Files: map[string][]byte{}, Index: []SearchDoc{}}
	reserved := map[string]bool{StylesheetFile: true, SearchIndexFile: true, MetadataFile: true}
	for _, p := range src.pages {
		reserved[p.out] = true
	}
	for _, p := range slices.Sorted(maps.Keys(src.assets)) {
		if reserved[p] {
			b.logf("%s: the site builds a file of that name: not copied", p)
			continue
		}
		data, err := readFile(src.root, p, src.assets[p])
		if err != nil {
			b.logf("%s: cannot be read: skipped (%v)", p, trimPathError(err))
			continue
		}
		site.Files[p] = data
	}
	pages, err := b.renderPages(ctx, src)
	if err != nil {
		return nil, err
	}
	navTitles := map[string]string{}
	nav := b.nav(b.cfg.Nav, src, pages, navTitles)
	if b.cfg.Nav == nil {
		nav = treeNav(src, pages)
	}
	order := pageOrder(nav, src)
	meta := Metadata{
		SiteName: b.cfg.SiteName, SiteDescription: b.cfg.SiteDescription,
		RepoURL: b.cfg.RepoURL, EditURI: b.cfg.EditURI,
		Nav: nav, Pages: []PageInfo{}, BuildTimestamp: b.opt.Now().UnixMilli(),
	}
	for _, pg := range order {
		r := pages[pg.src]
		title := navTitles[pg.src]
		if title == "" {
			title = pageTitle(pg, r)
		}
		site.Files[pg.out] = pageDocument(title, pg.url, r.body)
		meta.Pages = append(meta.Pages, PageInfo{Path: pg.url, Source: pg.src, Title: title, Toc: r.toc})
		site.Index = append(site.Index, SearchDoc{Location: pg.url, Title: title, Text: r.text})
		for i, s := range r.sections {
			if i == 0 && s.level == 1 {
				continue // the page's title and intro: the page's own entry has them
			}
			site.Index = append(site.Index, SearchDoc{Location: pg.url + "#" + s.id, Title: s.title, Text: s.text})
		}
	}
	site.Metadata = meta
	if err := b.finish(site); err != nil {
		return nil, err
	}
	site.Log = b.log
	if site.Log == nil {
		site.Log = []string{}
	}
	return site, nil
}

// pageTitle is the first H1 of a page, else a title made from its file
// name the way MkDocs does ("getting-started.md" → "Getting started").
func pageTitle(pg *page, r rendered) string {
	if r.h1 != "" {
		return r.h1
	}
	stem := stemOf(pg.src)
	if pg.url == "" {
		return "Home"
	}
	if strings.HasSuffix(pg.out, "/index.html") && (stem == "index" || strings.EqualFold(stem, "readme")) {
		stem = path.Base(path.Dir(pg.src))
	}
	return titleFromName(stem)
}

func titleFromName(s string) string {
	s = strings.NewReplacer("-", " ", "_", " ").Replace(s)
	if strings.ToLower(s) == s && s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

// pageDocument wraps a sanitized body in a small complete HTML document.
func pageDocument(title, url, body string) []byte {
	css := strings.Repeat("../", len(segments(url))) + StylesheetFile
	var b strings.Builder
	b.Grow(len(body) + 256)
	b.WriteString(`<!doctype html><html><head><meta charset="utf-8"><title>`)
	b.WriteString(html.EscapeString(title))
	b.WriteString(`</title><link rel="stylesheet" href="`)
	b.WriteString(html.EscapeString(css))
	b.WriteString(`"></head><body><article class="md-typeset">`)
	b.WriteString(body)
	b.WriteString("</article></body></html>\n")
	return []byte(b.String())
}

// nav resolves mkdocs.yml's nav. Entries naming a missing page, or a path
// outside the docs folder, are logged and left out. titles receives the
// nav title of each page (its first mention).
func (b *builder) nav(entries []navEntry, src *source, pages map[string]rendered, titles map[string]string) []NavItem {
	out := []NavItem{}
	for _, e := range entries {
		switch {
		case e.Children != nil || e.Page == "" && e.URL == "":
			out = append(out, NavItem{Title: e.Title, Children: b.nav(e.Children, src, pages, titles)})
		case e.URL != "":
			if !isHTTPURL(e.URL) {
				b.logf("mkdocs.yml: %s %q: only http(s) links are allowed in nav: left out", e.Where, e.URL)
				continue
			}
			out = append(out, NavItem{Title: e.Title, External: e.URL})
		default:
			p := path.Clean(strings.TrimPrefix(e.Page, "./"))
			pg, ok := src.pages[p]
			if !ok || path.IsAbs(e.Page) || strings.HasPrefix(p, "../") {
				b.logf("mkdocs.yml: %s %q points to %s, which is not a page of the docs folder: left out", e.Where, e.Title, e.Page)
				continue
			}
			title := e.Title
			if title == "" {
				title = pageTitle(pg, pages[p])
			} else if _, seen := titles[p]; !seen {
				titles[p] = title
			}
			out = append(out, NavItem{Title: title, Path: pg.url})
		}
	}
	return out
}

// treeNav orders pages from the folder tree: a folder's home page first,
// then its pages and subfolders (as sections) alphabetically.
func treeNav(src *source, pages map[string]rendered) []NavItem {
	type folder struct {
		home    *page
		pages   map[string]*page
		folders map[string]*folder
	}
	newFolder := func() *folder { return &folder{pages: map[string]*page{}, folders: map[string]*folder{}} }
	top := newFolder()
	for _, pg := range src.pages {
		f := top
		parts := strings.Split(pg.src, "/")
		for _, d := range parts[:len(parts)-1] {
			if f.folders[d] == nil {
				f.folders[d] = newFolder()
			}
			f = f.folders[d]
		}
		if strings.HasSuffix(pg.out, "index.html") && pg.url == pageDirURL(path.Dir(pg.src)) {
			f.home = pg
		} else {
			f.pages[parts[len(parts)-1]] = pg
		}
	}
	var walk func(f *folder) []NavItem
	walk = func(f *folder) []NavItem {
		out := []NavItem{}
		if f.home != nil {
			out = append(out, NavItem{Title: pageTitle(f.home, pages[f.home.src]), Path: f.home.url})
		}
		names := append(slices.Sorted(maps.Keys(f.pages)), slices.Sorted(maps.Keys(f.folders))...)
		sort.Strings(names)
		for _, n := range names {
			if pg, ok := f.pages[n]; ok {
				out = append(out, NavItem{Title: pageTitle(pg, pages[pg.src]), Path: pg.url})
			}
			if sub, ok := f.folders[n]; ok {
				out = append(out, NavItem{Title: titleFromName(n), Children: walk(sub)})
			}
		}
		return out
	}
	return walk(top)
}

// pageOrder lists pages in nav order, then the pages the nav leaves out,
// by source path.
func pageOrder(nav []NavItem, src *source) []*page {
	var out []*page
	seen := map[string]bool{}
	var walk func([]NavItem)
	walk = func(items []NavItem) {
		for _, it := range items {
			if it.External == "" && it.Children == nil {
				if pg := src.byURL[it.Path]; pg != nil && !seen[pg.src] {
					seen[pg.src] = true
					out = append(out, pg)
				}
			}
			walk(it.Children)
		}
	}
	walk(nav)
	for _, p := range slices.Sorted(maps.Keys(src.pages)) {
		if !seen[p] {
			out = append(out, src.pages[p])
		}
	}
	return out
}

// renderPages renders every page, on as many goroutines as there are
// CPUs; the log lines of each page are added in page order.
func (b *builder) renderPages(ctx context.Context, src *source) (map[string]rendered, error) {
	names := slices.Sorted(maps.Keys(src.pages))
	results := make([]rendered, len(names))
	logs := make([][]string, len(names))
	errs := make([]error, len(names))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(names)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], logs[i], errs[i] = b.renderPage(src, src.pages[names[i]])
			}
		}()
	}
	var err error
	for i, p := range names {
		if err = ctx.Err(); err != nil {
			break
		}
		b.opt.Progress("rendering " + p + "…")
		next <- i
	}
	close(next)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	out := make(map[string]rendered, len(names))
	for i, p := range names {
		if errs[i] != nil {
			return nil, errs[i]
		}
		b.log = append(b.log, logs[i]...)
		out[p] = results[i]
	}
	return out, nil
}

// renderPage reads and renders one page; it returns the page's log lines.
func (b *builder) renderPage(src *source, pg *page) (rendered, []string, error) {
	data, err := readFile(src.root, pg.src, pg.size)
	if err != nil {
		return rendered{}, nil, fmt.Errorf("page %s: %w", pg.src, trimPathError(err))
	}
	var log []string
	broken := 0
	r, err := b.md.render(data, func(dest string) (string, bool) { return src.resolveLink(pg, dest) },
		func(dest string) {
			if broken++; broken <= maxBrokenLinkLines {
				log = append(log, fmt.Sprintf("%s: broken link to %s", pg.src, dest))
			}
		})
	if err != nil {
		return rendered{}, nil, fmt.Errorf("page %s: %w", pg.src, err)
	}
	if broken > maxBrokenLinkLines {
		log = append(log, fmt.Sprintf("%s: %d more broken links", pg.src, broken-maxBrokenLinkLines))
	}
	return r, log, nil
}
