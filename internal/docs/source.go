package docs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// source is the docs folder as scanned: its pages and assets, read through
// an os.Root so nothing outside the folder is ever opened.
type source struct {
	root *os.Root
	// pages maps docs-relative Markdown paths to their page.
	pages map[string]*page
	// byURL maps site paths ("guide/") to their page.
	byURL map[string]*page
	// assets maps docs-relative paths of other files to their size.
	assets map[string]int64
	// bytes is the size of every file taken.
	bytes int64
}

// page is one Markdown page.
type page struct {
	src  string // docs-relative source, "guide/install.md"
	url  string // site path, "guide/install/"
	out  string // built file, "guide/install/index.html"
	size int64
}

// markdownExt reports whether name is a Markdown file, as MkDocs decides.
func markdownExt(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".md", ".markdown", ".mdown", ".mkdn", ".mkd":
		return true
	}
	return false
}

// refusedAsset reports whether a file of the docs folder is not copied:
// HTML and scripts reach the site only through the renderer and sanitizer.
func refusedAsset(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".html", ".htm", ".xhtml", ".shtml", ".js", ".mjs":
		return true
	}
	return false
}

// pageURL maps a Markdown source to its directory URL and built file the
// way MkDocs' use_directory_urls does: guide.md → guide/, a/index.md → a/.
func pageURL(src string, index bool) (url, out string) {
	dir, base := path.Split(src)
	if index {
		return dir, dir + "index.html"
	}
	stem := strings.TrimSuffix(base, path.Ext(base))
	return dir + stem + "/", dir + stem + "/index.html"
}

// scan walks the docs folder. Symlinks that leave it, hidden files,
// special files and refused types are skipped with a log line; a page over
// the page limit, too many pages or too many bytes end the build.
func (b *builder) scan(root *os.Root) (*source, error) {
	s := &source{root: root, pages: map[string]*page{}, byURL: map[string]*page{}, assets: map[string]int64{}}
	var md []string
	sizes := map[string]int64{}
	err := fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			b.logf("%s: cannot be read: skipped (%v)", p, trimPathError(err))
			if d != nil && d.IsDir() && p != "." {
				return fs.SkipDir
			}
			return nil
		}
		if p == "." {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		mode := d.Type()
		if mode&fs.ModeSymlink != 0 {
			fi, err := root.Stat(p)
			if err != nil {
				b.logf("%s: symlink that leaves the docs folder or points nowhere: skipped, not followed", p)
				return nil
			}
			if fi.IsDir() {
				b.logf("%s: symlink to a folder: skipped, not followed", p)
				return nil
			}
			mode = fi.Mode().Type()
		}
		if d.IsDir() {
			return nil
		}
		if !mode.IsRegular() {
			b.logf("%s: not a regular file: skipped", p)
			return nil
		}
		info, err := root.Stat(p)
		if err != nil {
			b.logf("%s: cannot be read: skipped (%v)", p, trimPathError(err))
			return nil
		}
		size := info.Size()
		switch {
		case markdownExt(p):
			if size > b.opt.MaxPageBytes {
				return fmt.Errorf("page %s is %d bytes, more than the limit of %d bytes per page", p, size, b.opt.MaxPageBytes)
			}
			md = append(md, p)
			if len(md) > b.opt.MaxPages {
				return fmt.Errorf("the docs folder holds more than %d pages, the limit", b.opt.MaxPages)
			}
			sizes[p] = size
		case refusedAsset(p):
			b.logf("%s: HTML and script files are not copied; write the page in Markdown", p)
			return nil
		default:
			s.assets[p] = size
		}
		s.bytes += size
		if s.bytes > b.opt.MaxSiteBytes {
			return fmt.Errorf("the docs folder holds more than %d bytes, the limit for a site (at %s)", b.opt.MaxSiteBytes, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// index.md, else README.md, is a folder's home page.
	hasIndex := map[string]bool{}
	for _, p := range md {
		if stemOf(p) == "index" {
			hasIndex[path.Dir(p)] = true
		}
	}
	outs := map[string]string{}
	for _, p := range md {
		stem := stemOf(p)
		index := stem == "index" || strings.EqualFold(stem, "readme") && !hasIndex[path.Dir(p)]
		if strings.EqualFold(stem, "readme") && hasIndex[path.Dir(p)] {
			b.logf("%s: the folder has an index page too; built as a page of its own", p)
		}
		url, out := pageURL(p, index)
		if other, dup := outs[out]; dup {
			b.logf("%s: builds to %s like %s: skipped", p, out, other)
			continue
		}
		outs[out] = p
		s.pages[p] = &page{src: p, url: url, out: out, size: sizes[p]}
		s.byURL[url] = s.pages[p]
	}
	return s, nil
}

func stemOf(p string) string {
	base := path.Base(p)
	return strings.TrimSuffix(base, path.Ext(base))
}

// readFile reads a file of the docs folder, at most limit bytes.
func readFile(root *os.Root, p string, limit int64) ([]byte, error) {
	f, err := root.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s grew past %d bytes while it was read", p, limit)
	}
	return data, nil
}

// trimPathError drops the absolute path an fs error may carry.
func trimPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
