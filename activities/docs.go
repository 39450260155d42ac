package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/docs"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/metrics"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/techdocs"
)

// DocsBuilder builds entities' documentation sites. It reads sources with
// the catalog's reading policy (a techdocs-ref url: must be allowed there)
// and runs nothing: internal/docs reads mkdocs.yml as data.
type DocsBuilder struct {
	Catalog *Catalog
	Sites   *techdocs.Sites
	// Options bound each build (zero: internal/docs' defaults).
	Options docs.Options
}

// docsBuilderVersion changes when the renderer's output does: a source
// built by an older one is built again.
const docsBuilderVersion = "3"

// Build implements contract.DocsBuild.
func (d *DocsBuilder) Build(ctx context.Context, in contract.DocsBuildInput) (contract.DocsBuildResult, error) {
	start := time.Now()
	res, err := d.build(ctx, in)
	outcome := metrics.Unchanged
	switch {
	case err != nil || res.Failed != "":
		outcome = metrics.Failed
	case res.Updated:
		outcome = metrics.OK
	}
	d.Catalog.Metrics.DocsBuild(outcome, time.Since(start))
	return res, err
}

func (d *DocsBuilder) build(ctx context.Context, in contract.DocsBuildInput) (contract.DocsBuildResult, error) {
	var res contract.DocsBuildResult
	e, err := d.Catalog.Store.EntityByRef(ctx, in.Ref)
	if errors.Is(err, errs.ErrNotFound) {
		return res, temporal.NewNonRetryableApplicationError(fmt.Sprintf("no entity %s", in.Ref), "NotFound", err)
	}
	if err != nil {
		return res, err
	}
	stop := keepAlive(ctx, func() any { return map[string]string{"ref": in.Ref} })
	defer stop()
	ref, base := docsSource(e)
	log := []string{}
	fail := func(cause error) (contract.DocsBuildResult, error) {
		if err := d.Sites.Fail(ctx, in.Ref, cause, log); err != nil {
			return res, err
		}
		d.Catalog.Logger.WarnContext(ctx, "docs build failed", "entity", in.Ref, "error", cause)
		res.Failed = cause.Error()
		return res, nil
	}
	typ, target, _ := strings.Cut(ref, ":")
	switch {
	case ref == "":
		return fail(fmt.Errorf("%s has no backstage.io/techdocs-ref annotation", in.Ref))
	case typ != "dir" && typ != "url":
		return fail(fmt.Errorf("backstage.io/techdocs-ref %q: only dir:<path> and url:<repository tree URL> are supported", ref))
	case typ == "dir" && base == "":
		return fail(fmt.Errorf("backstage.io/techdocs-ref %q: the entity has no source location to resolve it against", ref))
	}
	src, err := openSource(ctx, d.Catalog.access().Git, base, target)
	if err != nil {
		var app *temporal.ApplicationError
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fail(fmt.Errorf("backstage.io/techdocs-ref %q: there is no such folder", ref))
		case errors.As(err, &app) && app.Type() == "InvalidInput":
			// The reading is the fetch actions': say it of the entity.
			msg := strings.NewReplacer("the template's", "the entity's", "the template", "the entity").Replace(app.Message())
			return fail(fmt.Errorf("backstage.io/techdocs-ref %q: %s", ref, msg))
		}
		return res, err // perhaps the network: retried
	}
	defer src.close()
	if src.remote != nil {
		return fail(fmt.Errorf("backstage.io/techdocs-ref %q: a url: must name a folder of a repository (https://host/owner/repo/tree/<branch>/<path>)", ref))
	}
	hash, err := sourceHash(src.root.FS(), src.rel)
	if err != nil {
		return fail(fmt.Errorf("read the docs of %s: %w", in.Ref, err))
	}
	if !in.Force {
		if site, err := d.Sites.Site(ctx, in.Ref); err == nil && site.Status == "ok" && site.SourceHash == hash {
			return res, nil
		}
	}
	dir := filepath.Join(src.root.Name(), filepath.FromSlash(src.rel))
	opt := d.Options
	_, opt.SiteName, _ = strings.Cut(in.Ref, "/") // a site without site_name takes its entity's name
	progress := d.progress(ctx, in.Ref)
	opt.Progress = progress.add
	site, err := docs.Build(ctx, dir, opt)
	progress.stop()
	if site != nil {
		log = site.Log
	}
	if err != nil {
		return fail(err)
	}
	if err := d.Sites.Publish(ctx, techdocs.SiteBuild(in.Ref, site, hash)); err != nil {
		return res, err
	}
	d.Catalog.Logger.InfoContext(ctx, "docs built", "entity", in.Ref, "files", len(site.Files), "pages", len(site.Metadata.Pages))
	res.Updated = true
	return res, nil
}

// docsSource is an entity's techdocs-ref and the base it resolves against.
func docsSource(e *store.StoredEntity) (ref, base string) {
	ann := catalog.Annotations(e.Body)
	ref, _ = ann["backstage.io/techdocs-ref"].(string)
	loc, _ := ann["backstage.io/managed-by-location"].(string)
	return strings.TrimSpace(ref), catalog.SourceBase(loc)
}

// maxHashed bounds what a source's fingerprint reads (the build's own
// limits apply after).
const maxHashed = 256 << 20

// sourceHash fingerprints the regular files under dir (names, modes and
// contents), plus the builder's version. Links and special files are left
// out: the build does not follow them either.
func sourceHash(fsys fs.FS, dir string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "rigger-docs %s\n", docsBuilderVersion)
	var names []string
	err := fs.WalkDir(fsys, dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.Type().IsRegular() {
			names = append(names, p)
		}
		if de.IsDir() && p != dir && (de.Name() == ".git" || de.Name() == "node_modules") {
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	var total int64
	for _, p := range names {
		f, err := fsys.Open(p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00", path.Clean(p))
		n, err := io.Copy(h, io.LimitReader(f, maxHashed-total+1))
		f.Close()
		if err != nil {
			return "", err
		}
		if total += n; total > maxHashed {
			return "", fmt.Errorf("the docs source is larger than %d MiB", maxHashed>>20)
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// progressEvery is how often a build's log so far is stored for syncs to
// stream.
const progressEvery = 250 * time.Millisecond

// buildProgress keeps the lines a build logs and stores them, at most
// every progressEvery, for the sync's live log.
type buildProgress struct {
	mu    sync.Mutex
	lines []string
	dirty bool
	done  chan struct{}
	wg    sync.WaitGroup
}

func (d *DocsBuilder) progress(ctx context.Context, ref string) *buildProgress {
	p := &buildProgress{done: make(chan struct{})}
	flush := func() {
		p.mu.Lock()
		lines, dirty := slices.Clone(p.lines), p.dirty
		p.dirty = false
		p.mu.Unlock()
		if dirty {
			if err := d.Sites.Store.SetDocsProgress(ctx, ref, lines); err != nil {
				d.Catalog.Logger.WarnContext(ctx, "docs build progress", "entity", ref, "error", err)
			}
		}
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				flush()
			}
		}
	}()
	return p
}

// add records one line (the builder calls it from its page workers).
func (p *buildProgress) add(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.lines) < maxProgressLines {
		p.lines = append(p.lines, line)
		p.dirty = true
	}
}

// stop ends the periodic stores (the build's outcome drops the lines).
func (p *buildProgress) stop() {
	close(p.done)
	p.wg.Wait()
}

// maxProgressLines bounds the lines kept for one build's live log.
const maxProgressLines = 2000
