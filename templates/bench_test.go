package templates

import (
	"context"
	"testing"
)

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

// BenchmarkRenderSkeletonFile renders a typical skeleton file as
// fetch:template does: without a budget (as before budgets existed), on a
// step's budget, and on a budget whose context carries a Taint because the
// task has secrets (one of the values is one).
func BenchmarkRenderSkeletonFile(b *testing.B) {
	r := newTestRenderer(b, Limits{})
	values := map[string]any{"name": "payments", "owner": "group:default/team-a", "description": "Pays", "token": "s3cr3t-token-value",
		"tags": []any{"go", "api", "payments"}}
	file := "# ${{ values.name | title }}\n\nOwned by ${{ values.owner }}. ${{ values.description }}\n" +
		"{% for t in values.tags %}- ${{ t | upper }}\n{% endfor %}" +
		"module github.com/acme/${{ values.name | lower | replace('_', '-') }}\n"
	run := func(b *testing.B, ctx func() Context) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.RenderString(file, ctx()); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("plain", func(b *testing.B) { run(b, func() Context { return Context{Values: values} }) })
	b.Run("budget", func(b *testing.B) {
		run(b, func() Context { return Context{Values: values, Budget: r.NewBudget(context.Background())} })
	})
	b.Run("taint", func(b *testing.B) {
		taint := NewTaint(map[string]string{"token": "s3cr3t-token-value"}, nil)
		ctx := ContextWithTaint(context.Background(), taint)
		run(b, func() Context { return Context{Values: values, Budget: r.NewBudget(ctx)} })
	})
}

// BenchmarkCompile compiles TestCompile's template with its values, as
// every task's start does (its steps' inputs checked against their
// actions' schemas included).
func BenchmarkCompile(b *testing.B) {
	tpl := templateWith(b, compileParams, compileSteps, "links:\n  - url: ${{ steps.register.output.entityRef }}\n")
	acts := testActions()
	values := map[string]any{"name": "svc", "owner": "group:default/a", "advanced": map[string]any{"tls": true}, "tags": []string{"x", "y"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(tpl, values, acts, CompileOptions{UserRef: "user:default/jane", BaseURL: "https://example.com/t/template.yaml"}); err != nil {
			b.Fatal(err)
		}
	}
}
