package storetest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// testDocs checks docs site records: a good build's files and metadata,
// a failed build that keeps the last good site, and deletion.
func testDocs(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := loaded(t, open)
	ref := "component:default/svc-a"
	if _, err := s.DocsSite(ctx, ref); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("site never built: %v, want not found", err)
	}
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	png := []byte{0x89, 'P', 'N', 'G', 0, 0xff, 0xfe}
	b := store.DocsBuild{Ref: ref, Metadata: []byte(`{"site_name":"Checkout"}`), Storage: "database", SourceHash: "h1",
		Files: map[string][]byte{"index.html": []byte("<p>v1</p>"), "img/a.png": png}, Log: []string{"built 1 page"}, At: at,
		Index: []store.DocsSearchDoc{{Location: "", Title: "Checkout", Text: "v1"}}}
	if _, err := s.SaveDocsBuild(ctx, b); err != nil {
		t.Fatal(err)
	}
	// A running build's lines are readable until its outcome is stored.
	if err := s.SetDocsProgress(ctx, ref, []string{"rendering index.md…", "rendering guide.md…"}); err != nil {
		t.Fatal(err)
	}
	if lines := must(s.DocsProgress(ctx, ref)); len(lines) != 2 || lines[1] != "rendering guide.md…" {
		t.Fatalf("progress: %q", lines)
	}
	if _, err := s.SaveDocsBuild(ctx, b); err != nil {
		t.Fatal(err)
	}
	if lines := must(s.DocsProgress(ctx, ref)); len(lines) != 0 {
		t.Fatalf("progress after the build's outcome: %q", lines)
	}
	site := must(s.DocsSite(ctx, ref))
	if string(site.Metadata) != `{"site_name":"Checkout"}` || site.Status != "ok" || site.SourceHash != "h1" || !site.BuiltAt.Equal(at) || len(site.Log) != 1 {
		t.Fatalf("site after a good build: %+v", site)
	}
	if got := must(s.DocsFile(ctx, ref, "img/a.png")); string(got) != string(png) {
		t.Fatalf("binary file read back as %x", got)
	}
	// A failed build keeps the last good site and records why.
	if err := s.SetDocsProgress(ctx, ref, []string{"rendering index.md…"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordDocsFailure(ctx, ref, "mkdocs.yml: docs_dir leaves the source", []string{"refused"}, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if lines := must(s.DocsProgress(ctx, ref)); len(lines) != 0 {
		t.Fatalf("progress after a failure: %q", lines)
	}
	site = must(s.DocsSite(ctx, ref))
	if site.Status != "failed" || !strings.Contains(site.LastError, "docs_dir") || string(site.Metadata) == "" || !site.BuiltAt.Equal(at) || !site.AttemptedAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("site after a failed build: %+v", site)
	}
	if got := must(s.DocsFile(ctx, ref, "index.html")); string(got) != "<p>v1</p>" {
		t.Fatalf("last good page after a failure: %q", got)
	}
	// The next good build replaces every file: one it no longer has is gone.
	b.Files, b.SourceHash, b.At, b.Storage = map[string][]byte{"index.html": []byte("<p>v2</p>")}, "h2", at.Add(2*time.Hour), "s3:b2"
	if prev, err := s.SaveDocsBuild(ctx, b); err != nil || prev != "database" {
		t.Fatalf("second build: previous %q, %v (want the first's storage)", prev, err)
	}
	if _, err := s.DocsFile(ctx, ref, "img/a.png"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("a file the new build lacks: %v, want not found", err)
	}
	if site := must(s.DocsSite(ctx, ref)); site.Status != "ok" || site.LastError != "" || site.SourceHash != "h2" {
		t.Fatalf("site after the next good build: %+v", site)
	}
	// A failure before any good build has no site to serve.
	if err := s.RecordDocsFailure(ctx, "component:default/svc-b", "no mkdocs.yml", nil, at); err != nil {
		t.Fatal(err)
	}
	if site := must(s.DocsSite(ctx, "component:default/svc-b")); site.Metadata != nil || site.Status != "failed" {
		t.Fatalf("failed first build: %+v", site)
	}
	if _, err := s.SaveDocsBuild(ctx, store.DocsBuild{Ref: ref}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("a build without metadata: %v, want invalid", err)
	}
	// A build of an entity that is not stored is refused: its site could
	// never be read.
	if _, err := s.SaveDocsBuild(ctx, store.DocsBuild{Ref: "component:default/gone", Metadata: []byte(`{}`)}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("a build of no entity: %v, want not found", err)
	}
	// Deleting the entity deletes its docs: an entity registered later
	// under its ref is not served them (review).
	b.At = at.Add(3 * time.Hour)
	b.Ref = "component:default/svc-b"
	if _, err := s.SaveDocsBuild(ctx, b); err != nil {
		t.Fatal(err)
	}
	// Builds whose files are outside the database and that no site names
	// any more are listed for the sweep: ref's first S3 build (replaced
	// below), svc-b's (its entity goes); database builds never are.
	b2 := b
	b2.Ref, b2.Storage, b2.At = ref, "s3:b3", at.Add(3*time.Hour)
	if _, err := s.SaveDocsBuild(ctx, b2); err != nil {
		t.Fatal(err)
	}
	e := must(s.EntityByRef(ctx, "component:default/svc-b"))
	if err := s.DeleteEntity(ctx, e.UID); err != nil {
		t.Fatal(err)
	}
	// DocsOrphans answers in random order (stuck builds must not hold
	// back the others): sorted here.
	sorted := func(list []store.DocsOrphan) []store.DocsOrphan {
		slices.SortFunc(list, func(a, b store.DocsOrphan) int { return strings.Compare(a.Ref+" "+a.Storage, b.Ref+" "+b.Storage) })
		return list
	}
	orphans := sorted(must(s.DocsOrphans(ctx, 10)))
	want := []store.DocsOrphan{{Ref: ref, Storage: "s3:b2"}, {Ref: "component:default/svc-b", Storage: "s3:b2"}}
	if !reflect.DeepEqual(orphans, want) {
		t.Fatalf("orphaned builds = %+v, want %+v", orphans, want)
	}
	if err := s.ForgetDocsOrphan(ctx, want[0]); err != nil {
		t.Fatal(err)
	}
	if orphans := must(s.DocsOrphans(ctx, 10)); !reflect.DeepEqual(orphans, want[1:]) {
		t.Fatalf("orphaned builds after forgetting one = %+v", orphans)
	}
	if err := s.ForgetDocsOrphan(ctx, want[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DocsSite(ctx, "component:default/svc-b"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("the docs of a deleted entity: %v, want not found", err)
	}
	if _, err := s.DocsFile(ctx, "component:default/svc-b", "index.html"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("a file of a deleted entity's docs: %v, want not found", err)
	}
	if err := s.DeleteDocs(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if orphans := must(s.DocsOrphans(ctx, 10)); !reflect.DeepEqual(orphans, []store.DocsOrphan{{Ref: ref, Storage: "s3:b3"}}) {
		t.Fatalf("orphaned builds after DeleteDocs = %+v", orphans)
	}
	if err := s.DeleteDocs(ctx, "component:default/gone"); err != nil {
		t.Fatalf("deleting the docs of an entity that went: %v", err)
	}
	if _, err := s.DocsSite(ctx, ref); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("deleted site: %v", err)
	}
	if _, err := s.DocsFile(ctx, ref, "index.html"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("deleted site's file: %v", err)
	}
}
