package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLoadResolvesPathsAgainstTheFile: relative paths written in the file
// mean the same thing from any working directory (the folder of the file);
// defaults the file leaves alone stay relative to the current directory.
func TestLoadResolvesPathsAgainstTheFile(t *testing.T) {
	dir := t.TempDir()
	cfgDir := filepath.Join(dir, "conf")
	if err := os.Mkdir(cfgDir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(cfgDir, "rigger.yaml")
	yaml := `server:
  dataDir: data
scaffolder:
  templates: [templates/*/template.yaml, /abs/t.yaml]
catalog:
  examples: [examples/*.yaml]
  locations:
    - {type: file, target: ../catalog/*.yaml}
    - {type: url, target: https://example.com/c.yaml}
permission:
  policyFile: policy.yaml
  policyFiles: [policies/a.cedar, /abs/b.cedar]
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	// Load from another working directory, with a relative path to the file.
	t.Chdir(dir)
	cfg, err := Load(filepath.Join("conf", "rigger.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.File != path {
		t.Errorf("File = %q, want %q", cfg.File, path)
	}
	for _, c := range []struct{ name, got, want string }{
		{"server.dataDir", cfg.Server.DataDir, filepath.Join(cfgDir, "data")},
		{"scaffolder.templates[0]", cfg.Scaffolder.Templates[0], filepath.Join(cfgDir, "templates/*/template.yaml")},
		{"scaffolder.templates[1]", cfg.Scaffolder.Templates[1], "/abs/t.yaml"},
		{"catalog.examples[0]", cfg.Catalog.Examples[0], filepath.Join(cfgDir, "examples/*.yaml")},
		{"catalog.locations[0].target", cfg.Catalog.Locations[0].Target, filepath.Join(dir, "catalog/*.yaml")},
		{"catalog.locations[1].target", cfg.Catalog.Locations[1].Target, "https://example.com/c.yaml"},
		{"permission.policyFile", cfg.Permission.PolicyFile, filepath.Join(cfgDir, "policy.yaml")},
		{"permission.policyFiles[0]", cfg.Permission.PolicyFiles[0], filepath.Join(cfgDir, "policies/a.cedar")},
		{"permission.policyFiles[1]", cfg.Permission.PolicyFiles[1], "/abs/b.cedar"},
		{"permission files", strings.Join(cfg.Permission.Files(), ","), filepath.Join(cfgDir, "policy.yaml") + "," + filepath.Join(cfgDir, "policies/a.cedar") + ",/abs/b.cedar"},
		// Not in the file: the default, relative to the working directory.
		{"scaffolder.workspaceRoot", cfg.Scaffolder.WorkspaceRoot, ""},
		{"database.path", cfg.Database.Path, ""},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	// A file that does not set templates keeps the documented default.
	if err := os.WriteFile(path, []byte("server:\n  logLevel: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Scaffolder.Templates, Default().Scaffolder.Templates) || cfg.Server.DataDir != Default().Server.DataDir {
		t.Errorf("defaults changed: templates %v, dataDir %q", cfg.Scaffolder.Templates, cfg.Server.DataDir)
	}
}

// TestPathWarnings: a glob or file that matches nothing is named, with the
// key that configured it.
func TestPathWarnings(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	cfg.Scaffolder.Templates = []string{filepath.Join(dir, "*.yaml"), filepath.Join(dir, "nothing/*/template.yaml"), "missing/*.yaml"}
	cfg.Catalog.Locations = []Location{{Type: "file", Target: filepath.Join(dir, "a.yaml")}, {Type: "file", Target: filepath.Join(dir, "b.yaml")}, {Type: "url", Target: "https://example.com/x"}}
	got := cfg.PathWarnings(filepath.Glob)
	want := []string{
		`scaffolder.templates[1]: "` + filepath.Join(dir, "nothing/*/template.yaml") + `" matches no file, so no template is loaded from it`,
		`scaffolder.templates[2]: "missing/*.yaml" matches no file, so no template is loaded from it (a default or flag value, so relative to the current directory)`,
		`catalog.locations[1].target: "` + filepath.Join(dir, "b.yaml") + `" matches no file, so the location stays empty`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
