package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocsBuildCommand: rigger docs build writes the site under --out,
// prints progress and the build log, and exits 1 on a refused build.
func TestDocsBuildCommand(t *testing.T) {
	src := t.TempDir()
	for name, content := range map[string]string{
		"mkdocs.yml":       "site_name: CLI site\nnav:\n  - Home: index.md\n  - Guide: guide.md\nplugins: [search]\n",
		"docs/index.md":    "# Home\n\n[guide](guide.md) [gone](gone.md)\n",
		"docs/guide.md":    "# Guide\n\n![x](img/x.png)\n",
		"docs/img/x.png":   "png",
		"elsewhere/big.md": strings.Repeat("x", 10),
	} {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "site")
	stdout, stderr, err := runCLI(t, nil, "docs", "build", src, "--out", out)
	if exitCode(err) != 0 {
		t.Fatalf("exit %d (%v)\n%s%s", exitCode(err), err, stdout, stderr)
	}
	for _, want := range []string{
		"rendering guide.md…\n", "rendering index.md…\n",
		"warning: mkdocs.yml: key plugins is ignored (line 5): nothing is executed, imported or fetched\n",
		"warning: index.md: broken link to gone.md\n",
		"built 2 pages, 6 files into " + out + " (2 warnings)\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	for _, f := range []string{"index.html", "guide/index.html", "img/x.png", "assets/chroma.css", "search/search_index.json"} {
		if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(f))); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "techdocs_metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		SiteName string   `json:"site_name"`
		Files    []string `json:"files"`
	}
	if err := json.Unmarshal(data, &meta); err != nil || meta.SiteName != "CLI site" || len(meta.Files) != 6 {
		t.Errorf("metadata %s (%v)", data, err)
	}

	if err := os.WriteFile(filepath.Join(src, "mkdocs.yml"), []byte("docs_dir: ../../\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = runCLI(t, nil, "docs", "build", src, "--out", out)
	if exitCode(err) != 1 || !strings.Contains(err.Error(), `docs_dir "../../" leaves the documentation folder`) {
		t.Errorf("docs_dir out: exit %d %v", exitCode(err), err)
	}
	if _, _, err := runCLI(t, nil, "docs", "build", src); exitCode(err) != 2 {
		t.Errorf("no --out: exit %d %v", exitCode(err), err)
	}
}

// TestDocsWriteSiteConfined: the writer refuses a path outside --out.
func TestDocsWriteSiteConfined(t *testing.T) {
	out := t.TempDir()
	for _, name := range []string{"../escape.html", "/abs.html", "a/../../b.html"} {
		if err := writeSite(out, map[string][]byte{name: []byte("x")}); err == nil {
			t.Errorf("%s: written", name)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(out), "escape.html")); err == nil {
		t.Errorf("escape.html written outside out")
	}
}
