package jschema

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestLeaves(t *testing.T) {
	sch, err := Compile(map[string]any{
		"type":     "object",
		"required": []any{"name", "ports"},
		"properties": map[string]any{
			"ports": map[string]any{"type": "array", "items": map[string]any{"type": "integer", "maximum": json.Number("10")}},
		},
	}, "rigger:///t.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(map[string]any{"name": "x", "ports": []any{1, 2}}); err != nil {
		t.Fatalf("valid value refused: %v", err)
	}
	verr := sch.Validate(map[string]any{"ports": []any{1, 20}})
	got := Leaves(verr, "spec")
	want := []Leaf{{Path: "spec.name", Message: "required", Missing: true}, {Path: "spec.ports[1]", Message: "maximum: got 20, want 10"}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := Path("", []string{"a", "0", "b"}); got != "a[0].b" {
		t.Errorf("Path = %q", got)
	}
}

func TestCompileRefusesOutsideRefs(t *testing.T) {
	for _, ref := range []string{"https://example.com/s.json", "file:///etc/passwd"} {
		_, err := Compile(map[string]any{"$ref": ref}, "rigger:///t.json")
		if err == nil || !strings.Contains(err.Error(), "only references inside the schema are allowed") {
			t.Errorf("$ref %s: %v", ref, err)
		}
	}
}
