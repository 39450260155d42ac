package templates

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary bytes to Parse and Validate: they must never
// panic, and whatever Parse accepts must be a v1beta3 Template whose every
// step has an action.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimalTemplate))
	f.Add([]byte("apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: x}\nspec: {steps: [{action: a, input: {a: &x [1], b: *x}}]}\n"))
	if files, err := filepath.Glob(corpusDir + "/*/*/*/template.yaml"); err == nil {
		for _, p := range files {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	acts := testActions()
	f.Fuzz(func(t *testing.T, data []byte) {
		tpl, err := Parse("fuzz.yaml", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a ParseError: %v", err, err)
			}
			return
		}
		if tpl.APIVersion != APIVersion || tpl.Kind != Kind || tpl.Metadata.Name == "" {
			t.Fatalf("accepted %q %q %q", tpl.APIVersion, tpl.Kind, tpl.Metadata.Name)
		}
		for i, st := range tpl.Spec.Steps {
			if st.Action == "" {
				t.Fatalf("step %d has no action", i)
			}
		}
		_ = Validate(tpl, acts)
	})
}

// FuzzRender renders arbitrary template strings: no panic, no output
// beyond the limit, text without template syntax unchanged, and secret
// values never in error messages.
func FuzzRender(f *testing.F) {
	files, _ := filepath.Glob("testdata/expr/*.tpl")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(strings.TrimSuffix(string(data), "\n"))
		}
	}
	f.Add("{% for a in range(100) %}{% for b in range(100) %}${{ a * b }}{% endfor %}{% endfor %}")
	f.Add("${{ secrets.TOKEN | parseRepoUrl }}")
	const maxOut = 64 << 10
	r, err := NewRenderer(Limits{MaxOutputBytes: maxOut, MaxIterations: 2000, MaxItems: 2000, Timeout: 200 * time.Millisecond})
	if err != nil {
		f.Fatal(err)
	}
	ctx := Context{
		Parameters: map[string]any{
			"name": "svc", "tags": []any{"a", "b"}, "n": 3, "repoUrl": "github.com?owner=o&repo=r",
			"nested": map[string]any{"k": []any{1, 2.5, true, nil}},
		},
		Steps:   map[string]map[string]any{"publish": {"remoteUrl": "https://x"}},
		Secrets: map[string]string{"TOKEN": "zq-secret-value-91"},
		Values:  map[string]any{"component_id": "c"},
	}
	f.Fuzz(func(t *testing.T, src string) {
		text, err := r.RenderString(src, ctx)
		if err != nil {
			if strings.Contains(err.Error(), "zq-secret-value-91") {
				t.Fatalf("error leaks a secret: %v", err)
			}
		} else {
			if len(text) > maxOut && hasSyntax(src) {
				t.Fatalf("output of %d bytes exceeds the limit", len(text))
			}
			if !hasSyntax(src) && text != src {
				t.Fatalf("plain text changed: %q -> %q", src, text)
			}
		}
		_, err = r.RenderValue(map[string]any{"v": src}, ctx)
		if err != nil && strings.Contains(err.Error(), "zq-secret-value-91") {
			t.Fatalf("error leaks a secret: %v", err)
		}
		_, _ = r.EvalCondition(src, ctx)
	})
}
