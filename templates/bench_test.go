package templates

import "testing"

// BenchmarkRenderStepInput renders a typical fetch:template input.
func BenchmarkRenderStepInput(b *testing.B) {
	r := newTestRenderer(b, Limits{})
	ctx := Context{Parameters: map[string]any{
		"name": "svc", "owner": "group:default/team", "repoUrl": "github.com?owner=acme&repo=svc",
		"description": "A service", "tags": []any{"go", "api"},
	}}
	input := map[string]any{
		"url": "./skeleton",
		"values": map[string]any{
			"name":        "${{ parameters.name }}",
			"owner":       "${{ parameters.owner }}",
			"repo":        "${{ (parameters.repoUrl | parseRepoUrl).repo }}",
			"slug":        "${{ parameters.repoUrl | projectSlug }}",
			"description": "${{ parameters.description | default('none') }}",
			"tags":        "${{ parameters.tags }}",
			"summary":     "{% for t in parameters.tags %}${{ t | upper }} {% endfor %}",
		},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.RenderValue(input, ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseTemplate parses and validates the minimal template.
func BenchmarkParseTemplate(b *testing.B) {
	acts := testActions()
	b.ReportAllocs()
	for b.Loop() {
		tpl, err := Parse("bench", []byte(minimalTemplate))
		if err != nil {
			b.Fatal(err)
		}
		Validate(tpl, acts)
	}
}
