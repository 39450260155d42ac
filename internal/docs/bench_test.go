package docs

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDocsBuild50Pages builds a generated 50-page site with code
// blocks, tables, admonitions and links (target: < 1 s per build).
func BenchmarkDocsBuild50Pages(b *testing.B) {
	files := map[string]string{"mkdocs.yml": "site_name: Bench\nplugins: [techdocs-core]\n"}
	for i := range 50 {
		var p strings.Builder
		fmt.Fprintf(&p, "# Page %d\n\nIntro with a [link](page%d.md#section-2) and `code`.\n\n", i, (i+1)%50)
		for s := range 6 {
			fmt.Fprintf(&p, "## Section %d\n\nSome **text** about section %d, with a footnote[^%d].\n\n[^%d]: Note %d.\n\n", s, s, s, s, s)
			p.WriteString("```go\npackage main\n\nimport \"fmt\"\n\nfunc main() {\n\tfor i := 0; i < 10; i++ {\n\t\tfmt.Println(\"hello\", i)\n\t}\n}\n```\n\n")
			p.WriteString("| Name | Value | Notes |\n|------|------:|:------|\n")
			for r := range 8 {
				fmt.Fprintf(&p, "| row %d | %d | *note* %d |\n", r, r*s, r)
			}
			p.WriteString("\n!!! note \"Remember\"\n    An admonition with a list:\n\n    - one\n    - two\n\n")
			p.WriteString("```python\ndef f(x):\n    return [y * 2 for y in range(x) if y % 3]\n```\n\n")
		}
		files[fmt.Sprintf("docs/page%d.md", i)] = p.String()
	}
	files["docs/index.md"] = files["docs/page0.md"]
	dir := writeTree(b, files)
	b.ResetTimer()
	for range b.N {
		site, err := Build(context.Background(), dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(site.Metadata.Pages) != 51 || len(site.Log) != 1 {
			b.Fatalf("%d pages, log %q", len(site.Metadata.Pages), site.Log)
		}
	}
}
