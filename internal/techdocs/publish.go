package techdocs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/riggerdev/rigger/internal/docs"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// Source is a docs source sent by an external builder (rigger docs
// publish): mkdocs.yml and the docs folder, by slash-separated path.
type Source map[string][]byte

// Limits of a published source.
const (
	MaxSourceFiles = 10000
	MaxSourceBytes = 40 << 20
)

// PublishSource builds a source sent by an external builder with the same
// code the workers run, and publishes the site as ref's: the server never
// stores HTML it did not render and sanitize itself.
func (s *Sites) PublishSource(ctx context.Context, ref string, src Source, opt docs.Options) (*docs.Site, error) {
	if len(src) == 0 {
		return nil, errs.Invalid("the source holds no files: send mkdocs.yml and the docs folder")
	}
	if len(src) > MaxSourceFiles {
		return nil, errs.Invalid("the source holds %d files; at most %d are accepted", len(src), MaxSourceFiles)
	}
	dir, err := os.MkdirTemp("", "rigger-docs-publish-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	names := make([]string, 0, len(src))
	var total int
	for name, data := range src {
		if name == "" || path.Clean(name) != name || !filepath.IsLocal(filepath.FromSlash(name)) {
			return nil, errs.Invalid("source file %q: only relative paths inside the docs source are accepted", name)
		}
		if total += len(data); total > MaxSourceBytes {
			return nil, errs.Invalid("the source is larger than %d MiB", MaxSourceBytes>>20)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, name := range names {
		if d := path.Dir(name); d != "." {
			if err := root.MkdirAll(filepath.FromSlash(d), 0o755); err != nil {
				return nil, errs.Invalid("source file %q: %v", name, err)
			}
		}
		if err := root.WriteFile(filepath.FromSlash(name), src[name], 0o644); err != nil {
			return nil, errs.Invalid("source file %q: %v", name, err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(src[name]))
		h.Write(src[name])
	}
	site, err := docs.Build(ctx, dir, opt)
	if err != nil {
		var log []string
		if site != nil {
			log = site.Log
		}
		if ferr := s.Fail(ctx, ref, err, log); ferr != nil {
			return site, ferr
		}
		return site, errs.Invalid("the docs do not build: %v", err)
	}
	return site, s.Publish(ctx, SiteBuild(ref, site, "published:"+hex.EncodeToString(h.Sum(nil))))
}

// SiteBuild is what publishing a rendered site stores: its files, its
// search rows and its build log.
func SiteBuild(ref string, site *docs.Site, sourceHash string) Build {
	index := make([]store.DocsSearchDoc, len(site.Index))
	for i, d := range site.Index {
		index[i] = store.DocsSearchDoc{Location: d.Location, Title: d.Title, Text: d.Text}
	}
	return Build{Ref: ref, Files: site.Files, Index: index, Log: site.Log, SourceHash: sourceHash}
}
