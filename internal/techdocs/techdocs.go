// Package techdocs keeps built documentation sites: it publishes a build
// (files to the database or to an S3 bucket, metadata and search rows to
// the store in one transaction) and reads sites back for the docs API.
// internal/docs renders sites; the permission checks are catalogsvc's.
package techdocs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"path"
	"strings"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// Files is where a site's files live.
type Files interface {
	// Name is "database" or "s3".
	Name() string
	// Publish stores a build's files before its record is saved and
	// returns the record's storage value (for S3, "s3:<build id>": each
	// build has its own keys, so the live site is never half replaced).
	// The database backend stores the files with the record instead
	// (outside false).
	Publish(ctx context.Context, ref string, files map[string][]byte) (storage string, outside bool, err error)
	// Read returns one file of the build storage names.
	Read(ctx context.Context, ref, storage, path string) ([]byte, error)
	// Drop deletes the files of a build no record names any more.
	Drop(ctx context.Context, ref, storage string) error
}

// Sites publishes and reads documentation sites.
type Sites struct {
	Store store.Docs
	Files Files
	Now   func() time.Time
	// Logger is told of files a sweep could not drop (nil: nobody).
	Logger *slog.Logger
}

// Build is a rendered site to publish.
type Build struct {
	Ref        string
	Files      map[string][]byte
	Index      []store.DocsSearchDoc
	Log        []string
	SourceHash string
}

// MetadataFile is the site file Backstage's TechDocs reads first.
const MetadataFile = "techdocs_metadata.json"

// Publish stores a good build: files first (outside the database they are
// in place before the record names them), then the record and its search
// rows in one transaction.
func (s *Sites) Publish(ctx context.Context, b Build) error {
	meta, ok := b.Files[MetadataFile]
	if !ok || !json.Valid(meta) {
		return fmt.Errorf("%w: the site of %s has no valid %s", errs.ErrInvalid, b.Ref, MetadataFile)
	}
	files := b.Files
	storage, outside, err := s.Files.Publish(ctx, b.Ref, files)
	if err != nil {
		return fmt.Errorf("publish the docs of %s to %s: %w", b.Ref, s.Files.Name(), err)
	}
	if outside {
		files = nil
	}
	_, err = s.Store.SaveDocsBuild(ctx, store.DocsBuild{Ref: b.Ref, Metadata: meta, Storage: storage, Files: files,
		SourceHash: b.SourceHash, Log: b.Log, Index: b.Index, At: s.now()})
	if err != nil {
		if outside {
			_ = s.Files.Drop(context.WithoutCancel(ctx), b.Ref, storage) // no record names it
		}
		return err
	}
	// The replaced build's files, and those of sites deleted since; a
	// failure leaves them for the next sweep, never a broken site.
	sweepCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sweepTimeout)
	defer cancel()
	if _, err := s.Sweep(sweepCtx); err != nil && s.Logger != nil {
		s.Logger.Warn("docs: files of replaced or deleted sites not dropped yet; the next publish tries again", "error", err)
	}
	return nil
}

// sweepBatch bounds the orphaned builds one sweep drops, sweepTimeout the
// time it takes.
const (
	sweepBatch   = 100
	sweepTimeout = time.Minute
)

// Sweep drops the files of builds kept outside the database that no site
// names any more (replaced builds, deleted entities' sites) and returns
// how many it dropped. A build whose files could not be dropped stays
// listed for the next sweep. Every successful publish sweeps.
func (s *Sites) Sweep(ctx context.Context) (int, error) {
	orphans, err := s.Store.DocsOrphans(ctx, sweepBatch)
	if err != nil {
		return 0, err
	}
	dropped := 0
	var errsSeen []error
	for _, o := range orphans {
		if err := s.Files.Drop(ctx, o.Ref, o.Storage); err != nil {
			errsSeen = append(errsSeen, fmt.Errorf("drop the docs build %s of %s: %w", o.Storage, o.Ref, err))
			continue
		}
		if err := s.Store.ForgetDocsOrphan(ctx, o); err != nil {
			return dropped, err
		}
		dropped++
	}
	return dropped, errors.Join(errsSeen...)
}

// Fail records a failed build of ref; the last good site stays.
func (s *Sites) Fail(ctx context.Context, ref string, cause error, log []string) error {
	return s.Store.RecordDocsFailure(ctx, ref, cause.Error(), log, s.now())
}

func (s *Sites) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now().UTC()
}

// Progress returns the lines a running build of ref has logged so far.
func (s *Sites) Progress(ctx context.Context, ref string) ([]string, error) {
	return s.Store.DocsProgress(ctx, ref)
}

// Site returns ref's site record (errs.ErrNotFound when never built).
func (s *Sites) Site(ctx context.Context, ref string) (store.DocsSite, error) {
	return s.Store.DocsSite(ctx, ref)
}

// File returns one file of ref's last good site, with its content type. A
// directory path ("", "guide/") is its index.html.
func (s *Sites) File(ctx context.Context, ref, p string) ([]byte, string, error) {
	p, err := CleanPath(p)
	if err != nil {
		return nil, "", err
	}
	site, err := s.Store.DocsSite(ctx, ref)
	if err != nil {
		return nil, "", err
	}
	if site.Metadata == nil {
		return nil, "", fmt.Errorf("%w: the docs of %s have not been built yet", errs.ErrNotFound, ref)
	}
	var data []byte
	switch {
	case site.Storage == "database":
		data, err = s.Store.DocsFile(ctx, ref, p)
	case strings.HasPrefix(site.Storage, s.Files.Name()+":"):
		data, err = s.Files.Read(ctx, ref, site.Storage, p)
	default:
		err = fmt.Errorf("%w: the docs of %s are in %s storage; this server uses %s", errs.ErrUnavailable, ref, site.Storage, s.Files.Name())
	}
	if err != nil {
		return nil, "", err
	}
	return data, ContentType(p), nil
}

// CleanPath turns a requested site path into a stored file path: a
// directory URL names its index.html; "..", absolute and backslash paths
// are refused.
func CleanPath(p string) (string, error) {
	p = strings.TrimPrefix(p, "/")
	if p == "" || strings.HasSuffix(p, "/") {
		p += "index.html"
	}
	if strings.Contains(p, "\\") || strings.ContainsRune(p, 0) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("%w: %q is not a path in a docs site", errs.ErrInvalid, p)
	}
	return p, nil
}

// ContentType is a site file's type by extension (application/octet-stream
// when unknown: never sniffed).
func ContentType(p string) string {
	switch ext := strings.ToLower(path.Ext(p)); ext {
	case ".html":
		return "text/html; charset=utf-8"
	case ".json":
		return "application/json"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	default:
		if t := mime.TypeByExtension(ext); t != "" && !strings.Contains(t, "javascript") {
			return t
		}
	}
	return "application/octet-stream"
}

// Database keeps sites' files in the store (rigger dev's default).
type Database struct{}

// Name implements Files.
func (Database) Name() string { return "database" }

// Publish implements Files: the files go with the record.
func (Database) Publish(context.Context, string, map[string][]byte) (string, bool, error) {
	return "database", false, nil
}

// Read implements Files (the record's store reads them: Sites.File).
func (Database) Read(context.Context, string, string, string) ([]byte, error) {
	return nil, fmt.Errorf("%w: database files are read through the store", errs.ErrUnavailable)
}

// Drop implements Files: the record's save replaced them.
func (Database) Drop(context.Context, string, string) error { return nil }
