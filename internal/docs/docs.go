// Package docs builds TechDocs-compatible documentation sites from Markdown
// and an mkdocs.yml, with no code execution at all: mkdocs.yml is read as
// data (site_name, site_description, nav, docs_dir, repo_url, edit_uri),
// every other key is ignored with a warning, and nothing is executed,
// imported or fetched. Files are read through an os.Root confined to the
// docs folder; every page is rendered with goldmark and sanitized with
// bluemonday before it is written.
//
// The package is pure apart from reading the source folder: it never writes
// files (the caller stores Site.Files), never uses the network and keeps no
// state between builds.
package docs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Default limits.
const (
	DefaultMaxPageBytes = 5 << 20
	DefaultMaxSiteBytes = 100 << 20
	DefaultMaxPages     = 5000
)

// Generated files of every site.
const (
	MetadataFile    = "techdocs_metadata.json"
	SearchIndexFile = "search/search_index.json"
	StylesheetFile  = "assets/chroma.css"
)

// Options bound and observe one build. Zero values take the defaults.
type Options struct {
	// MaxPageBytes bounds one Markdown source page; a larger page refuses
	// the build with an error naming the page.
	MaxPageBytes int64
	// MaxSiteBytes bounds the source files read and the files produced.
	MaxSiteBytes int64
	// MaxPages bounds the number of Markdown pages.
	MaxPages int
	// Now gives the build timestamp (default time.Now).
	Now func() time.Time
	// Progress, when set, receives one line per step ("rendering guide.md…").
	Progress func(string)
	// SiteName names a site whose mkdocs.yml gives no site_name ("": the
	// source folder's name).
	SiteName string
}

func (o Options) withDefaults() Options {
	if o.MaxPageBytes <= 0 {
		o.MaxPageBytes = DefaultMaxPageBytes
	}
	if o.MaxSiteBytes <= 0 {
		o.MaxSiteBytes = DefaultMaxSiteBytes
	}
	if o.MaxPages <= 0 {
		o.MaxPages = DefaultMaxPages
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
	return o
}

// Site is one built documentation site.
type Site struct {
	// Metadata is also written as Files[MetadataFile].
	Metadata Metadata
	// Files maps site-relative paths ("index.html", "guide/index.html",
	// "img/x.png", StylesheetFile, MetadataFile, SearchIndexFile) to contents.
	Files map[string][]byte
	// Index is also written as Files[SearchIndexFile], shaped like MkDocs'.
	Index []SearchDoc
	// Log is the build log: ignored mkdocs.yml keys, broken links, refused
	// or skipped files.
	Log []string
}

// Metadata is techdocs_metadata.json.
type Metadata struct {
	SiteName        string     `json:"site_name"`
	SiteDescription string     `json:"site_description"`
	RepoURL         string     `json:"repo_url,omitempty"`
	EditURI         string     `json:"edit_uri,omitempty"`
	Nav             []NavItem  `json:"nav"`
	Pages           []PageInfo `json:"pages"`
	// BuildTimestamp is in milliseconds since the epoch, as Backstage writes it.
	BuildTimestamp int64 `json:"build_timestamp"`
	// Etag is the hex sha256 of every other file, sorted by path.
	Etag  string   `json:"etag"`
	Files []string `json:"files"`
}

// NavItem is one entry of the navigation: a page (Path), an external link
// (External) or a section (Children).
type NavItem struct {
	Title string `json:"title"`
	// Path is the page's site path like "guide/" ("" for the home page).
	Path     string    `json:"path,omitempty"`
	External string    `json:"url,omitempty"`
	Children []NavItem `json:"children,omitempty"`
}

// PageInfo describes one built page.
type PageInfo struct {
	Path string `json:"path"`
	// Source is the docs-relative Markdown file, for the edit link.
	Source string    `json:"source"`
	Title  string    `json:"title"`
	Toc    []Heading `json:"toc"`
}

// Heading is one entry of a page's table of contents.
type Heading struct {
	Level int    `json:"level"`
	ID    string `json:"id"`
	Title string `json:"title"`
}

// SearchDoc is one search entry: a whole page or one heading's section.
type SearchDoc struct {
	// Location is "guide/" or "guide/#install".
	Location string `json:"location"`
	Title    string `json:"title"`
	Text     string `json:"text"`
}

// Build renders the docs source rooted at dir: a folder holding mkdocs.yml
// (or mkdocs.yaml), or, without one, a folder whose docs/ holds Markdown.
func Build(ctx context.Context, dir string, opt Options) (*Site, error) {
	opt = opt.withDefaults()
	b, err := newBuilder(dir, opt)
	if err != nil {
		return nil, err
	}
	defer b.close()
	return b.build(ctx)
}

// finish writes the generated files: stylesheet, search index, metadata.
func (b *builder) finish(site *Site) error {
	site.Files[StylesheetFile] = b.md.css
	idx, err := json.Marshal(searchIndex{Config: searchConfig{Lang: []string{"en"}, Separator: `[\s\-]+`, Pipeline: []string{"stopWordFilter"}}, Docs: site.Index})
	if err != nil {
		return err
	}
	site.Files[SearchIndexFile] = idx
	paths := make([]string, 0, len(site.Files)+1)
	for p := range site.Files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(site.Files[p]))
		h.Write(site.Files[p])
	}
	site.Metadata.Etag = hex.EncodeToString(h.Sum(nil))
	paths = append(paths, MetadataFile)
	sort.Strings(paths)
	site.Metadata.Files = paths
	meta, err := json.Marshal(site.Metadata)
	if err != nil {
		return err
	}
	site.Files[MetadataFile] = meta
	var total int64
	for _, p := range paths {
		total += int64(len(site.Files[p]))
	}
	if total > b.opt.MaxSiteBytes {
		return fmt.Errorf("the built site is %d bytes, more than the limit of %d bytes", total, b.opt.MaxSiteBytes)
	}
	return nil
}

type searchIndex struct {
	Config searchConfig `json:"config"`
	Docs   []SearchDoc  `json:"docs"`
}

type searchConfig struct {
	Lang      []string `json:"lang"`
	Separator string   `json:"separator"`
	Pipeline  []string `json:"pipeline"`
}
