package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
)

// Docs stores built documentation sites, one per entity ref: the last good
// build's metadata and (for the database backend) its files, plus how the
// last attempt went. A failed build keeps the last good site.
type Docs interface {
	// SaveDocsBuild stores a good build: its files replace the entity's
	// (when Files is nil they live elsewhere, e.g. in S3), and its search
	// rows replace the entity's docs rows in the same transaction, so a
	// page is searchable the moment it can be read. It returns the Storage
	// of the build it replaced ("" if none), whose files outside may go.
	SaveDocsBuild(ctx context.Context, b DocsBuild) (previous string, err error)
	// RecordDocsFailure notes a failed build attempt; the last good site
	// stays as it was.
	RecordDocsFailure(ctx context.Context, ref, reason string, log []string, at time.Time) error
	// DocsSite returns an entity's site record; errs.ErrNotFound if its docs
	// were never attempted.
	DocsSite(ctx context.Context, ref string) (DocsSite, error)
	// DocsFile returns one file of an entity's site stored in the database;
	// errs.ErrNotFound if there is none.
	DocsFile(ctx context.Context, ref, path string) ([]byte, error)
	// DeleteDocs drops an entity's site, files and search rows.
	DeleteDocs(ctx context.Context, ref string) error
	// SetDocsProgress records the lines a running build of ref has logged
	// so far; its outcome (SaveDocsBuild, RecordDocsFailure) drops them.
	SetDocsProgress(ctx context.Context, ref string, lines []string) error
	// DocsProgress returns them (none when no build runs).
	DocsProgress(ctx context.Context, ref string) ([]string, error)
	// DocsOrphans returns up to limit builds kept outside the database
	// whose site went with its entity (or DeleteDocs): their files may go.
	// They come in random order, so builds whose files cannot be dropped
	// do not hold back the others.
	DocsOrphans(ctx context.Context, limit int) ([]DocsOrphan, error)
	// ForgetDocsOrphan drops one, once its files are gone.
	ForgetDocsOrphan(ctx context.Context, o DocsOrphan) error
}

// DocsOrphan is a build kept outside the database that no site names.
type DocsOrphan struct {
	Ref, Storage string
}

// DocsBuild is one successful docs build of an entity.
type DocsBuild struct {
	// Ref is the entity's canonical (lower-cased) ref.
	Ref string
	// Metadata is the site's techdocs_metadata.json.
	Metadata json.RawMessage
	// Storage names where the files are: "database" (Files holds them) or
	// an outside backend and build, such as "s3:<build id>".
	Storage string
	Files   map[string][]byte
	// SourceHash fingerprints the source the site was built from: a build
	// of an unchanged source can be skipped.
	SourceHash string
	Log        []string
	Index      []DocsSearchDoc
	At         time.Time
}

// DocsSite is an entity's site record.
type DocsSite struct {
	Ref string
	// Metadata is the last good build's techdocs_metadata.json; nil before
	// the first good build.
	Metadata   json.RawMessage
	Storage    string
	SourceHash string
	BuiltAt    time.Time
	// Status is "ok" or "failed" (the last attempt), with LastError and Log
	// of that attempt.
	Status      string
	LastError   string
	Log         []string
	AttemptedAt time.Time
}

var _ Docs = (*SQL)(nil)

// maxDocsLog bounds the log lines kept with a site record.
const maxDocsLog = 500

func docsLog(log []string) string {
	if len(log) > maxDocsLog {
		log = append(append([]string{}, log[:maxDocsLog]...), fmt.Sprintf("… %d more lines", len(log)-maxDocsLog))
	}
	b, _ := json.Marshal(log)
	return string(b)
}

// SaveDocsBuild implements Docs.
func (s *SQL) SaveDocsBuild(ctx context.Context, b DocsBuild) (string, error) {
	if b.Ref == "" || len(b.Metadata) == 0 {
		return "", fmt.Errorf("%w: a docs build needs its entity ref and metadata", errs.ErrInvalid)
	}
	defer s.lockWrites()()
	at := ts(b.At)
	var previous string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		lookup := `SELECT storage FROM docs_sites WHERE entity_ref = ?`
		if s.d.Name == "postgres" {
			lookup += ` FOR UPDATE` // a concurrent save of the same site waits
		}
		if err := tx.QueryRowContext(ctx, s.q(lookup), b.Ref).Scan(&previous); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// The replaced build's files outside the database are the sweep's.
		if _, err := tx.ExecContext(ctx, s.q(orphanDocsSQL+`entity_ref = ? AND storage <> ?`+onConflictNothing), b.Ref, b.Storage); err != nil {
			return err
		}
		for _, stmt := range []string{`DELETE FROM docs_files WHERE entity_ref = ?`, `DELETE FROM docs_progress WHERE entity_ref = ?`} {
			if _, err := tx.ExecContext(ctx, s.q(stmt), b.Ref); err != nil {
				return err
			}
		}
		for p, data := range b.Files {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO docs_files (entity_ref, path, content) VALUES (?, ?, ?)`),
				b.Ref, p, base64.StdEncoding.EncodeToString(data)); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`
INSERT INTO docs_sites (entity_ref, metadata, storage, source_hash, built_at, status, last_error, log, attempted_at)
VALUES (?, ?, ?, ?, ?, 'ok', '', ?, ?)
ON CONFLICT (entity_ref) DO UPDATE SET metadata = excluded.metadata, storage = excluded.storage,
  source_hash = excluded.source_hash, built_at = excluded.built_at, status = 'ok', last_error = '',
  log = excluded.log, attempted_at = excluded.attempted_at`),
			b.Ref, string(b.Metadata), b.Storage, b.SourceHash, at, docsLog(b.Log), at); err != nil {
			return err
		}
		return s.indexDocsTx(ctx, tx, b.Ref, b.Index)
	})
	if err != nil {
		return "", err
	}
	s.wrote(len(b.Index))
	return previous, nil
}

// RecordDocsFailure implements Docs.
func (s *SQL) RecordDocsFailure(ctx context.Context, ref, reason string, log []string, at time.Time) error {
	defer s.lockWrites()()
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM docs_progress WHERE entity_ref = ?`), ref); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, s.q(`
INSERT INTO docs_sites (entity_ref, storage, source_hash, status, last_error, log, attempted_at)
VALUES (?, '', '', 'failed', ?, ?, ?)
ON CONFLICT (entity_ref) DO UPDATE SET status = 'failed', last_error = excluded.last_error,
  log = excluded.log, attempted_at = excluded.attempted_at`),
		ref, reason, docsLog(log), ts(at))
	return err
}

// DocsSite implements Docs.
func (s *SQL) DocsSite(ctx context.Context, ref string) (DocsSite, error) {
	var d DocsSite
	var meta, built, logText sql.NullString
	var attempted string
	err := s.db.QueryRowContext(ctx, s.q(`
SELECT entity_ref, metadata, storage, source_hash, built_at, status, last_error, log, attempted_at
FROM docs_sites WHERE entity_ref = ?`), ref).Scan(&d.Ref, &meta, &d.Storage, &d.SourceHash, &built, &d.Status, &d.LastError, &logText, &attempted)
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("%w: no docs for %s", errs.ErrNotFound, ref)
	}
	if err != nil {
		return d, err
	}
	if meta.Valid && meta.String != "" {
		d.Metadata = json.RawMessage(meta.String)
	}
	d.BuiltAt = parseTS(built)
	d.AttemptedAt = parseTS(sql.NullString{String: attempted, Valid: true})
	if logText.Valid {
		_ = json.Unmarshal([]byte(logText.String), &d.Log)
	}
	return d, nil
}

// DocsFile implements Docs.
func (s *SQL) DocsFile(ctx context.Context, ref, path string) ([]byte, error) {
	var enc string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT content FROM docs_files WHERE entity_ref = ? AND path = ?`), ref, path).Scan(&enc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s has no docs file %s", errs.ErrNotFound, ref, path)
	}
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(enc)
}

// DeleteDocs implements Docs.
func (s *SQL) DeleteDocs(ctx context.Context, ref string) error {
	defer s.lockWrites()()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(orphanDocsSQL+`entity_ref = ?`+onConflictNothing), ref); err != nil {
			return err
		}
		for _, stmt := range []string{`DELETE FROM docs_files WHERE entity_ref = ?`, `DELETE FROM docs_sites WHERE entity_ref = ?`} {
			if _, err := tx.ExecContext(ctx, s.q(stmt), ref); err != nil {
				return err
			}
		}
		// An entity that went took its search rows with it.
		if err := s.indexDocsTx(ctx, tx, ref, nil); err != nil && !errors.Is(err, errs.ErrNotFound) {
			return err
		}
		return nil
	})
}

// orphanDocsSQL records the builds kept outside the database of the sites
// its WHERE clause (to be appended) names, before they are deleted.
const (
	orphanDocsSQL = `INSERT INTO docs_orphans (entity_ref, storage)
SELECT entity_ref, storage FROM docs_sites WHERE storage NOT IN ('', 'database') AND `
	onConflictNothing = ` ON CONFLICT DO NOTHING`
)

// DocsOrphans implements Docs.
func (s *SQL) DocsOrphans(ctx context.Context, limit int) ([]DocsOrphan, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT entity_ref, storage FROM docs_orphans ORDER BY random() LIMIT ?`), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DocsOrphan
	for rows.Next() {
		var o DocsOrphan
		if err := rows.Scan(&o.Ref, &o.Storage); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// ForgetDocsOrphan implements Docs.
func (s *SQL) ForgetDocsOrphan(ctx context.Context, o DocsOrphan) error {
	defer s.lockWrites()()
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM docs_orphans WHERE entity_ref = ? AND storage = ?`), o.Ref, o.Storage)
	return err
}

// SetDocsProgress implements Docs.
func (s *SQL) SetDocsProgress(ctx context.Context, ref string, lines []string) error {
	defer s.lockWrites()()
	_, err := s.db.ExecContext(ctx, s.q(`
INSERT INTO docs_progress (entity_ref, lines, updated_at) VALUES (?, ?, ?)
ON CONFLICT (entity_ref) DO UPDATE SET lines = excluded.lines, updated_at = excluded.updated_at`),
		ref, docsLog(lines), ts(s.now()))
	return err
}

// DocsProgress implements Docs.
func (s *SQL) DocsProgress(ctx context.Context, ref string) ([]string, error) {
	var text string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT lines FROM docs_progress WHERE entity_ref = ?`), ref).Scan(&text)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var lines []string
	err = json.Unmarshal([]byte(text), &lines)
	return lines, err
}
