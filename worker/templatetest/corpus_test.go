package templatetest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCorpusTemplates runs testdata/corpus's cases: templates written by
// others (../shared/corpus) whose actions rigger has, their skeletons
// rendered for real and compared with snapshots, publish:github and
// catalog:register faked.
func TestCorpusTemplates(t *testing.T) {
	if _, err := os.Stat(filepath.Join("..", "..", "..", "shared", "corpus", "README.md")); err != nil {
		t.Fatalf("corpus not found beside the repository: %v", err)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.test.yaml"))
	if err != nil || len(files) < 3 {
		t.Fatalf("corpus test files: %v %v", files, err)
	}
	r := newRunner(t)
	r.TemplatesAnywhere = true // the corpus lives beside the repository
	rep, err := r.Run(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() != 0 || len(rep.Results) < 5 {
		var b strings.Builder
		_ = rep.WriteText(&b)
		t.Fatalf("corpus cases:\n%s", b.String())
	}
}

// BenchmarkExampleTemplates runs every case of examples/templates once per
// iteration; ns/case is the mean time of one case.
func BenchmarkExampleTemplates(b *testing.B) {
	r := newRunner(b)
	dir := filepath.Join("..", "..", "examples", "templates")
	cases := 0
	for b.Loop() {
		rep, err := r.Run(context.Background(), []string{dir})
		if err != nil || rep.Failed() != 0 {
			b.Fatalf("%v, %d failed", err, rep.Failed())
		}
		cases += len(rep.Results)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(cases), "ns/case")
}
