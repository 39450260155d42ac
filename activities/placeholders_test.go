package activities

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/catalog"
)

// TestPlaceholdersConfinedToFolder: $text/$json/$yaml of a file location
// read only inside the folder of the file holding them — not ../data/secret.key,
// not an absolute path, not through a symlink — and the refusal says so
// without the file's content.
func TestPlaceholdersConfinedToFolder(t *testing.T) {
	base := t.TempDir()
	const secret = "SEALING-KEY-MATERIAL-0123456789"
	os.MkdirAll(filepath.Join(base, "data"), 0o700)
	os.WriteFile(filepath.Join(base, "data", "secret.key"), []byte(secret), 0o600)
	cat := filepath.Join(base, "catalog")
	os.MkdirAll(filepath.Join(cat, "docs"), 0o755)
	os.WriteFile(filepath.Join(cat, "docs", "api.txt"), []byte("inside"), 0o644)
	os.Symlink(filepath.Join(base, "data", "secret.key"), filepath.Join(cat, "link.txt"))
	entity := func(name, ref string) string {
		return "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: " + name + "}\n" +
			"spec: {type: openapi, lifecycle: production, owner: team-a, definition: {$text: '" + ref + "'}}\n"
	}
	c, _ := newCatalog(t)
	for _, tc := range []struct{ name, ref, want string }{
		{"parent", "../data/secret.key", "outside the folder"},
		{"absolute", filepath.Join(base, "data", "secret.key"), "outside the folder"},
		{"deep parent", "docs/../../data/secret.key", "outside the folder"},
		{"symlink out", "./link.txt", "outside the folder"},
		{"etc passwd", "/etc/passwd", "outside the folder"},
		{"inside", "./docs/api.txt", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(cat, tc.name+".yaml")
			os.WriteFile(f, []byte(entity("e", tc.ref)), 0o644)
			res, err := c.AnalyzeLocation(context.Background(), contract.CatalogAnalyzeInput{Type: "file", Target: f})
			if err != nil {
				t.Fatal(err)
			}
			msg := strings.Join(res.Errors, "\n")
			if tc.want == "" {
				if msg != "" || len(res.Entities) != 1 || !strings.Contains(string(res.Entities[0]), `"definition":"inside"`) {
					t.Fatalf("a file inside the folder: errors %q, entities %s", msg, res.Entities)
				}
				return
			}
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "$text") || len(res.Entities) != 0 {
				t.Fatalf("want a refusal saying %q, got errors %q and %d entities", tc.want, msg, len(res.Entities))
			}
			if strings.Contains(msg, secret) {
				t.Fatalf("the refusal echoes the file: %q", msg)
			}
		})
	}
}

// TestNonEntityFileNotEchoed: a file that is no catalog entity at all
// (/etc/shadow's shape: each line is a YAML key) is reported by file,
// document and line, never by its content.
func TestNonEntityFileNotEchoed(t *testing.T) {
	f := filepath.Join(t.TempDir(), "shadow")
	os.WriteFile(f, []byte("root:$6$SECRETHASHROOT:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nbob:$6$SECRETHASHBOB:19000:0:99999:7:::\n"), 0o600)
	c, _ := newCatalog(t)
	res, err := c.AnalyzeLocation(context.Background(), contract.CatalogAnalyzeInput{Type: "file", Target: f})
	if err != nil {
		t.Fatal(err)
	}
	msg := strings.Join(res.Errors, "\n")
	if !strings.Contains(msg, f) || !strings.Contains(msg, "line 1") || !strings.Contains(msg, "not a catalog entity") {
		t.Fatalf("want file, line and the problem, got %q", msg)
	}
	for _, leak := range []string{"SECRETHASH", "daemon", "19000"} {
		if strings.Contains(msg, leak) {
			t.Fatalf("errors echo the file's content (%s): %q", leak, msg)
		}
	}
}

// A placeholder's content gets what a YAML entity file gets: a NUL in
// $text (a binary file) or in a $json string or key is refused with the
// placeholder named (PostgreSQL's text refuses NUL: one entity's would fail
// its whole location's write), $json is held to the depth limit, and
// $text that is not UTF-8 reads as Backstage reads it, invalid bytes as
// U+FFFD.
func TestPlaceholderContentChecked(t *testing.T) {
	lim := catalog.DefaultLimits()
	for _, c := range []struct{ kind, data, want string }{
		{"$text", "a\x00b", "$text notes.txt: byte 1 is NUL: not a text file"},
		{"$json", `{"k":"a\u0000b"}`, "$json notes.txt: entity holds a string or key with a NUL character"},
		{"$json", `{"a\u0000":1}`, "$json notes.txt: entity holds a string or key with a NUL character"},
		{"$json", strings.Repeat("[", 100) + strings.Repeat("]", 100), "$json notes.txt: entity nests deeper than the limit of 64"},
	} {
		v, err := decodePlaceholder(c.kind, "notes.txt", []byte(c.data), lim)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: %v, %v; want an error containing %q", c.kind, c.data, v, err, c.want)
		}
	}
	v, err := decodePlaceholder("$text", "latin1.txt", []byte("caf\xe9"), lim)
	if err != nil || v != "caf\uFFFD" {
		t.Errorf("$text of Latin-1 bytes: %q, %v; want %q", v, err, "caf\uFFFD")
	}
	v, err = decodePlaceholder("$json", "ok.json", []byte(`{"k":["a","b"]}`), lim)
	if err != nil || v.(map[string]any)["k"].([]any)[1] != "b" {
		t.Errorf("$json of a plain document: %v, %v", v, err)
	}
}
