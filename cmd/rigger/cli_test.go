package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/riggerdev/rigger/internal/runsign"
)

// runCLI runs the rigger command line in-process with env as the whole
// environment and returns stdout, stderr and the error (exit status).
func runCLI(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCommand(&out, &errb, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func exitCode(err error) int {
	var ex exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ex):
		return ex.code
	}
	return 1
}

// TestEveryGroupRefusesUnknownSubcommand walks the command tree: every
// command group answers a mistyped subcommand with "unknown command", a
// suggestion when one is close, and a non-zero exit, never help and 0.
func TestEveryGroupRefusesUnknownSubcommand(t *testing.T) {
	var groups [][]string
	var walk func(cmd *cobra.Command, path []string)
	walk = func(cmd *cobra.Command, path []string) {
		if cmd.HasSubCommands() {
			groups = append(groups, path)
		}
		for _, sub := range cmd.Commands() {
			if sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			walk(sub, append(append([]string{}, path...), sub.Name()))
		}
	}
	walk(newRootCommand(&bytes.Buffer{}, &bytes.Buffer{}, nil), nil)
	if len(groups) < 5 { // rigger, config, catalog, template, task
		t.Fatalf("only %d command groups found: %v", len(groups), groups)
	}
	for _, g := range groups {
		t.Run("rigger "+strings.Join(g, " "), func(t *testing.T) {
			_, _, err := runCLI(t, nil, append(g, "frobnicate")...)
			if exitCode(err) == 0 || !strings.Contains(err.Error(), "unknown command") {
				t.Errorf("unknown subcommand: exit %d, error %v", exitCode(err), err)
			}
		})
	}
	// A near miss gets a suggestion.
	_, _, err := runCLI(t, nil, "template", "valdate")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), `did you mean "validate"?`) {
		t.Errorf("rigger template valdate: exit %d, %v", exitCode(err), err)
	}
	_, _, err = runCLI(t, nil, "catalog", "lst")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), `did you mean "list"?`) {
		t.Errorf("rigger catalog lst: exit %d, %v", exitCode(err), err)
	}
	// A bare group prints its help and succeeds.
	out, _, err := runCLI(t, nil, "template")
	if err != nil || !strings.Contains(out, "dry-run") {
		t.Errorf("rigger template: %v\n%s", err, out)
	}
}

// TestUnknownFlagSuggests: a mistyped flag fails with exit 2 and the
// closest flag.
func TestUnknownFlagSuggests(t *testing.T) {
	_, _, err := runCLI(t, nil, "dev", "--data-dri", "x")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "unknown flag: --data-dri") || !strings.Contains(err.Error(), "did you mean --data-dir?") {
		t.Errorf("exit %d, %v", exitCode(err), err)
	}
}

// TestConfigCheckShowsEffectiveConfig: config check applies RIGGER_<FLAG>
// variables and flags over the file, names the file it read, and picks up
// ./rigger.yaml when no file is named.
func TestConfigCheckShowsEffectiveConfig(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	out, _, err := runCLI(t, map[string]string{"RIGGER_DATA_DIR": "/srv/rigger", "RIGGER_TEMPORAL_ADDRESS": "temporal.example:7233", "RIGGER_LISTEN": "127.0.0.1:9999"}, "config", "check")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# configuration file: none", "dataDir: /srv/rigger", "address: temporal.example:7233", "listen: 127.0.0.1:9999"} {
		if !strings.Contains(out, want) {
			t.Errorf("config check under RIGGER_*: no %q in\n%s", want, out)
		}
	}
	// ./rigger.yaml is read; a flag beats the environment, which beats it.
	if err := os.WriteFile("rigger.yaml", []byte("server:\n  dataDir: from-file\n  logLevel: debug\n  listen: 127.0.0.1:7100\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, map[string]string{"RIGGER_LISTEN": "127.0.0.1:7200"}, "config", "check", "--data-dir", "from-flag")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# configuration file: " + filepath.Join(dir, "rigger.yaml"), "dataDir: from-flag", "logLevel: debug", "listen: 127.0.0.1:7200"} {
		if !strings.Contains(out, want) {
			t.Errorf("config check with ./rigger.yaml: no %q in\n%s", want, out)
		}
	}
	// Paths the file gives resolve against its folder; an empty glob warns.
	if err := os.WriteFile("rigger.yaml", []byte("scaffolder:\n  templates: [tpl/*.yaml]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runCLI(t, nil, "config", "check")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "- "+filepath.Join(dir, "tpl/*.yaml")) || !strings.Contains(stderr, "warning: scaffolder.templates[0]") {
		t.Errorf("relative glob: stdout\n%s\nstderr\n%s", out, stderr)
	}
}

// TestEveryFlagFromEnvironment: RIGGER_<FLAG> reaches the flags of
// commands, also those that never read rigger.yaml.
func TestEveryFlagFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	tpl := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(tpl, []byte("apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\nspec:\n  type: service\n  parameters: {properties: {name: {type: string}}}\n  steps:\n    - {id: a, name: A, action: debug:log, input: {message: 'hi ${{ parameters.name }}'}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	out, _, err := runCLI(t, map[string]string{"RIGGER_SET": "name=from-env"}, "template", "dry-run", tpl)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "[a] hi from-env") {
		t.Errorf("RIGGER_SET did not reach --set:\n%s", out)
	}
	// Commands that never read rigger.yaml too: the server to ask.
	_, _, err = runCLI(t, map[string]string{"RIGGER_SERVER": "http://127.0.0.1:1"}, "catalog", "list")
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1/api/catalog") {
		t.Errorf("RIGGER_SERVER for catalog list: %v", err)
	}
	_, _, err = runCLI(t, map[string]string{"RIGGER_SHOW_CONTENTS": "maybe"}, "template", "dry-run", tpl)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "RIGGER_SHOW_CONTENTS") {
		t.Errorf("a bad RIGGER_SHOW_CONTENTS: exit %d, %v", exitCode(err), err)
	}
}

// TestSetConvertsBySchemaType: --set key=value takes the type the
// parameter's JSON Schema declares.
func TestSetConvertsBySchemaType(t *testing.T) {
	schema := newParameterSchema([]map[string]any{
		{"properties": map[string]any{
			"name":     map[string]any{"type": "string"},
			"replicas": map[string]any{"type": "integer"},
			"ratio":    map[string]any{"type": "number"},
			"public":   map[string]any{"type": "boolean"},
			"tags":     map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
			"ports":    map[string]any{"type": "array", "items": map[string]any{"type": "integer"}},
			"extra":    map[string]any{"type": "object"},
		}},
		{"dependencies": map[string]any{"public": map[string]any{"oneOf": []any{
			map[string]any{"properties": map[string]any{"domain": map[string]any{"type": []any{"null", "string"}}, "weight": map[string]any{"type": "integer"}}},
		}}}},
	})
	cases := []struct {
		key, val string
		want     any
		err      string
	}{
		{"name", "42", "42", ""},
		{"unknown", "true", "true", ""},
		{"replicas", "3", int64(3), ""},
		{"replicas", "3.5", nil, `"3.5" is not an integer`},
		{"ratio", "0.25", 0.25, ""},
		{"ratio", "x", nil, `"x" is not a number`},
		{"public", "true", true, ""},
		{"public", "FALSE", false, ""},
		{"public", "yes", nil, `"yes" is not a boolean`},
		{"tags", "a, b,c", []any{"a", "b", "c"}, ""},
		{"tags", `["a,b", "c"]`, []any{"a,b", "c"}, ""},
		{"tags", "", []any{}, ""},
		{"ports", "80,443", []any{int64(80), int64(443)}, ""},
		{"ports", "80,http", nil, `item "http" is not an integer`},
		{"extra", `{"a": 1}`, map[string]any{"a": float64(1)}, ""},
		{"extra", `a=1`, nil, "is not a JSON object"},
		{"domain", "example.com", "example.com", ""},
		{"weight", "7", int64(7), ""},
	}
	for _, c := range cases {
		got, err := schema.convert(c.key, c.val)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s=%s: error %v, want %q", c.key, c.val, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s=%s: got %#v (%v), want %#v", c.key, c.val, got, err, c.want)
		}
	}
	// Through the dry-run command: a boolean parameter used as one.
	dir := t.TempDir()
	tpl := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(tpl, []byte("apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\nspec:\n  type: service\n  parameters: {properties: {n: {type: integer}, on: {type: boolean}}}\n  steps:\n    - {id: a, name: A, action: debug:log, input: {message: '${{ parameters.n + 1 }} ${{ \"yes\" if parameters.on else \"no\" }}'}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	out, _, err := runCLI(t, nil, "template", "dry-run", tpl, "--set", "n=41", "--set", "on=false")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "[a] 42 no") {
		t.Errorf("typed --set in a dry run:\n%s", out)
	}
}

// TestDryRunOutputAndErrors: a dry run prints the template's output as
// YAML, and a failed one names the failing step without the test
// environment's internal ids.
func TestDryRunOutputAndErrors(t *testing.T) {
	dir := t.TempDir()
	tpl := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(tpl, []byte(`apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: t}
spec:
  type: service
  parameters: {properties: {path: {type: string}}}
  steps:
    - {id: w, name: W, action: fs:write, input: {path: '${{ parameters.path }}', content: x}}
  output:
    links:
      - {title: Repo, url: 'https://example.com/r'}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	out, _, err := runCLI(t, nil, "template", "dry-run", tpl, "--set", "path=a.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "output:\n    links:\n        - title: Repo\n          url: https://example.com/r\n") {
		t.Errorf("dry-run output is not YAML:\n%s", out)
	}
	out, stderr, err := runCLI(t, nil, "template", "dry-run", tpl, "--set", "path=../escape.txt")
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "leaves the task workspace") {
		t.Fatalf("failing dry run: exit %d, %v", exitCode(err), err)
	}
	if all := out + stderr + err.Error(); strings.Contains(all, "default-test-workflow-id") || strings.Contains(all, "default-test-run-id") {
		t.Errorf("a failed dry run shows internal ids:\n%s", all)
	}
}

// TestDevRunSigningKey: rigger dev's run signing key is created once, 0600,
// read back the same, and a file holding only a public key is refused.
func TestDevRunSigningKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "run-signing.key")
	k1, err := devRunSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	k2, err := devRunSigningKey(path)
	if err != nil || !k1.Equal(k2) {
		t.Fatalf("the key changed on the second read (%v)", err)
	}
	if err := os.WriteFile(path, []byte(runsign.PublicString(k1.Public().(ed25519.PublicKey))), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := devRunSigningKey(path); err == nil || !strings.Contains(err.Error(), "public key") {
		t.Errorf("a public key file: %v", err)
	}
}
