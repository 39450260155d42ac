package docs

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// The corpus: real docs sites written by others (see its README.md).
const corpusDir = "../../../shared/corpus"

// corpusExpect is what each corpus site must give: its exact build log
// (the corpus has real broken links, and every site names the techdocs-core
// plugin), or the error that refuses it.
var corpusExpect = map[string]struct {
	pages int
	log   []string
	err   error
}{
	"backstage-demo": {pages: 9, log: []string{
		"mkdocs.yml: key plugins is ignored (line 3): nothing is executed, imported or fetched",
		// docs/examples/files/sample1.py is not in the corpus.
		"examples/download.md: broken link to ./files/sample1.py",
	}},
	// The folder has no docs/ at all: MkDocs refuses it too.
	"backstage/examples/sample-docs": {err: ErrNoDocs},
	"backstage/examples/sample-docs-local": {pages: 1, log: []string{
		"mkdocs.yml: key plugins is ignored (line 6): nothing is executed, imported or fetched",
		`mkdocs.yml: nav[1] "Quickstart" points to quickstart.md, which is not a page of the docs folder: left out`,
	}},
	"backstage/plugins/techdocs-backend/examples/documented-component": {pages: 3, log: []string{
		"mkdocs.yml: key plugins is ignored (line 9): nothing is executed, imported or fetched",
		// extensions.md and images/ are not in the corpus.
		"index.md: broken link to extensions.md",
		"index.md: broken link to images/backstage-logo-cncf.svg",
		`mkdocs.yml: nav[3] "Extensions" points to extensions.md, which is not a page of the docs folder: left out`,
	}},
	"red-hat-developer-hub-software-templates/templates/create-backend-plugin": {pages: 4, log: []string{
		"mkdocs.yml: key plugins is ignored (line 9): nothing is executed, imported or fetched",
	}},
}

// corpusSites returns every folder of the corpus holding an mkdocs.yml,
// relative to corpusDir, and the ones skipped because they are templates
// (${{ … }} or {{cookiecutter…}} placeholders, not YAML yet).
func corpusSites(t *testing.T) (sites, templates []string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(corpusDir, "README.md")); err != nil {
		t.Fatalf("corpus not found at %s (expected beside the repository): %v", corpusDir, err)
	}
	err := filepath.WalkDir(corpusDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "mkdocs.yml" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(corpusDir, filepath.Dir(p))
		rel = filepath.ToSlash(rel)
		if strings.Contains(string(data), "${{") || strings.Contains(string(data), "{{cookiecutter") {
			templates = append(templates, rel)
		} else {
			sites = append(sites, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sites, templates
}

// TestDocsCorpus builds every docs site of the corpus: its nav, pages and
// images are in the files, every relative link and image of every page
// resolves to a built file, and the build log is exactly the expected one.
func TestDocsCorpus(t *testing.T) {
	sites, templates := corpusSites(t)
	t.Logf("skipped as templates (placeholders in mkdocs.yml): %s", strings.Join(templates, ", "))
	if len(templates) != 4 {
		t.Errorf("templates = %q, want the 4 scaffolder skeletons", templates)
	}
	names := append([]string(nil), sites...)
	sort.Strings(names)
	if want := slices.Sorted(maps.Keys(corpusExpect)); !reflect.DeepEqual(names, want) {
		t.Fatalf("corpus sites %q, expectations for %q: add the new site's expectations", names, want)
	}
	for _, rel := range sites {
		t.Run(rel, func(t *testing.T) {
			want := corpusExpect[rel]
			site, err := Build(context.Background(), filepath.Join(corpusDir, rel), Options{Now: fixedNow})
			if want.err != nil {
				if !errors.Is(err, want.err) {
					t.Fatalf("err = %v, want %v", err, want.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(site.Log, want.log) {
				t.Errorf("log =\n%s\nwant\n%s", strings.Join(site.Log, "\n"), strings.Join(want.log, "\n"))
			}
			if len(site.Metadata.Pages) != want.pages {
				t.Errorf("%d pages, want %d", len(site.Metadata.Pages), want.pages)
			}
			checkSite(t, site, want.log)
		})
	}
}

// checkSite checks that every nav entry, page and generated file exists
// and that every relative href and src of every page names a built file,
// except the broken links the log reports.
func checkSite(t *testing.T, site *Site, log []string) {
	t.Helper()
	for _, f := range []string{"index.html", StylesheetFile, SearchIndexFile, MetadataFile} {
		if _, ok := site.Files[f]; !ok {
			t.Errorf("%s missing", f)
		}
	}
	if got := slices.Sorted(maps.Keys(site.Files)); !reflect.DeepEqual(got, site.Metadata.Files) {
		t.Errorf("metadata files %q, built %q", site.Metadata.Files, got)
	}
	var navWalk func([]NavItem)
	navWalk = func(items []NavItem) {
		for _, it := range items {
			if it.External == "" && it.Children == nil {
				if _, ok := site.Files[it.Path+"index.html"]; !ok {
					t.Errorf("nav %q: %sindex.html not built", it.Title, it.Path)
				}
			}
			navWalk(it.Children)
		}
	}
	navWalk(site.Metadata.Nav)
	// A broken link stays as written: the log names it.
	broken := map[string]bool{}
	for _, l := range log {
		if _, target, ok := strings.Cut(l, ": broken link to "); ok {
			broken[target] = true
		}
	}
	for _, pg := range site.Metadata.Pages {
		name := pg.Path + "index.html"
		doc, ok := site.Files[name]
		if !ok {
			t.Errorf("page %s: %s not built", pg.Source, name)
			continue
		}
		for _, ref := range localRefs(t, doc) {
			u, err := url.Parse(ref)
			if err != nil {
				t.Errorf("%s: bad URL %q", name, ref)
				continue
			}
			target := path.Join(pg.Path, u.Path)
			if strings.HasSuffix(u.Path, "/") || u.Path == "." || u.Path == "./" {
				target = path.Join(target, "index.html")
			}
			target = strings.TrimPrefix(target, "./")
			if _, ok := site.Files[target]; !ok && !broken[u.Path] {
				t.Errorf("%s: %q resolves to %s, which is not built", name, ref, target)
			}
		}
	}
}

// localRefs returns the relative href and src values of a page.
func localRefs(t *testing.T, doc []byte) []string {
	t.Helper()
	var out []string
	z := html.NewTokenizer(strings.NewReader(string(doc)))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return out
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		for {
			k, v, more := z.TagAttr()
			ref := string(v)
			if (string(k) == "href" || string(k) == "src") && ref != "" && !hasScheme(ref) && !strings.HasPrefix(ref, "#") && !strings.HasPrefix(ref, "/") {
				out = append(out, ref)
			}
			if !more {
				break
			}
		}
	}
}
