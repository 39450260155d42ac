package docs

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeTree writes files (slash paths → contents) under a new temp dir.
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	return dir
}

// writeFiles writes files (slash paths → contents) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var fixedNow = func() time.Time { return time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC) }

func build(t *testing.T, dir string) *Site {
	t.Helper()
	site, err := Build(context.Background(), dir, Options{Now: fixedNow})
	if err != nil {
		t.Fatalf("build %s: %v", dir, err)
	}
	return site
}

// page returns a built page's article body.
func article(t *testing.T, site *Site, name string) string {
	t.Helper()
	data, ok := site.Files[name]
	if !ok {
		t.Fatalf("%s not built; files: %v", name, site.Metadata.Files)
	}
	s := string(data)
	i, j := strings.Index(s, `<article class="md-typeset">`), strings.LastIndex(s, "</article>")
	if i < 0 || j < i {
		t.Fatalf("%s has no article: %s", name, s)
	}
	return s[i+len(`<article class="md-typeset">`) : j]
}

// wantLog fails t for each line missing from the site's log.
func wantLog(t *testing.T, site *Site, lines ...string) {
	t.Helper()
	for _, want := range lines {
		if !slices.Contains(site.Log, want) {
			t.Errorf("log lacks %q:\n%s", want, strings.Join(site.Log, "\n"))
		}
	}
}

func dirBase(dir string) string { return filepath.Base(dir) }
