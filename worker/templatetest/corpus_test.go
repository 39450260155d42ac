package templatetest

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
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

// corpusRoot is ../shared/corpus beside the repository, from this package.
var corpusRoot = filepath.Join("..", "..", "..", "shared", "corpus")

// corpusCases holds the checked-in cases of corpus templates
// (<path in the corpus without .yaml>.test.yaml); a template without one
// runs the starter case Init writes for it.
const corpusCases = "testdata/corpus-template-tests"

// uncoveredCorpus are the corpus templates no case covers, each with a
// part of the reason Init gives: a change that covers one, or loses one,
// fails TestCorpusTemplateCoverage until this list says so.
var uncoveredCorpus = map[string]string{
	// Backstage's pre-v1beta3 templates: rigger reads v1beta3 only.
	"backstage/plugins/scaffolder-backend/sample-templates/bitbucket-cloud-demo/template.yaml": `"backstage.io/v1beta2" is not supported`,
	"backstage/plugins/scaffolder-backend/sample-templates/bitbucket-demo/template.yaml":       `"backstage.io/v1beta2" is not supported`,
	"backstage/plugins/scaffolder-backend/sample-templates/create-react-app/template.yaml":     `"backstage.io/v1beta2" is not supported`,
	"backstage/plugins/scaffolder-backend/sample-templates/mlflow/template.yaml":               `"backstage.io/v1alpha1" is not supported`,
	"backstage/plugins/scaffolder-backend/sample-templates/pull-request/template.yaml":         `"backstage.io/v1beta2" is not supported`,
	"backstage/plugins/scaffolder-backend/sample-templates/rails-demo/template.yaml":           `"backstage.io/v1beta2" is not supported`,
	"backstage/plugins/scaffolder-backend/sample-templates/react-ssr-template/template.yaml":   `"backstage.io/v1beta2" is not supported`,
	// Its manifests step fetches ./template, a folder the template's
	// repository (and so the corpus) does not hold.
	"red-hat-developer-hub-software-templates/templates/github/obc/template.yaml": `url "./template": stat`,
}

// corpusTemplates lists the corpus's files holding a Template document,
// relative to root, sorted.
func corpusTemplates(t *testing.T, root string) []string {
	t.Helper()
	kind := regexp.MustCompile(`(?m)^kind:\s*Template\s*$`)
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if kind.Match(data) {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestCorpusTemplateCoverage runs a case for every template of the corpus:
// its checked-in case under testdata/corpus-template-tests, else the
// starter case rigger template test --init writes for it (values from its
// parameters, remote and out-of-folder skeletons recorded, actions rigger
// lacks faked). Every case's expectations must hold, and the templates no
// case covers must be exactly uncoveredCorpus, each for its reason.
func TestCorpusTemplateCoverage(t *testing.T) {
	if _, err := os.Stat(filepath.Join(corpusRoot, "README.md")); err != nil {
		t.Fatalf("corpus not found beside the repository: %v", err)
	}
	all := corpusTemplates(t, corpusRoot)
	if len(all) < 40 {
		t.Fatalf("%d corpus templates found, want the corpus's 40 or more", len(all))
	}
	r := newRunner(t)
	r.TemplatesAnywhere = true // the corpus lives beside the repository
	ctx := context.Background()
	uncovered := map[string]string{}
	covered := 0
	for _, rel := range all {
		start := time.Now()
		casePath := filepath.Join(corpusCases, filepath.FromSlash(strings.TrimSuffix(rel, filepath.Ext(rel)))+".test.yaml")
		var f *File
		how := "checked-in"
		if _, err := os.Stat(casePath); err == nil {
			if f, err = LoadFile(casePath); err != nil {
				t.Errorf("%s: %v", rel, err)
				continue
			}
		} else {
			how = "starter"
			data, err := r.Init(ctx, filepath.Join(corpusRoot, filepath.FromSlash(rel)), casePath)
			if err != nil {
				uncovered[rel] = err.Error()
				continue
			}
			if f, err = ParseFile(casePath, data); err != nil {
				t.Errorf("%s: the starter case does not parse: %v\n%s", rel, err, data)
				continue
			}
		}
		for _, res := range r.RunFile(ctx, f) {
			if !res.Passed() {
				t.Errorf("%s (%s case %q): %s", rel, how, res.Case, strings.Join(res.Failures, "\n"))
			}
		}
		covered++
		t.Logf("%-110s %s %4dms", rel, how, time.Since(start).Milliseconds())
	}
	for rel, reason := range uncovered {
		want, listed := uncoveredCorpus[rel]
		switch {
		case !listed:
			t.Errorf("%s is no longer covered: %s", rel, reason)
		case !strings.Contains(reason, want):
			t.Errorf("%s is uncovered for another reason: want %q in %s", rel, want, reason)
		}
	}
	for rel := range uncoveredCorpus {
		if _, still := uncovered[rel]; !still {
			t.Errorf("%s is now covered: take it off uncoveredCorpus", rel)
		}
	}
	t.Logf("%d corpus templates: %d covered, %d not", len(all), covered, len(uncovered))
}
