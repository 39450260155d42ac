package catalog

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// corpusRoot is shared/corpus, beside the repository; tests run in the
// package directory.
const corpusRoot = "../../../shared/corpus"

// corpusCase is the expected outcome of one corpus file under Backstage's
// rules: how many documents are valid entities and how many are rejected,
// a fragment of some rejection message, and optionally the outcome of each
// non-empty document in order ("" valid, else a fragment of its message).
type corpusCase struct {
	file       string
	valid, bad int
	message    string
	docs       []string
}

var (
	topLevelKey   = regexp.MustCompile(`(?m)^"?(apiVersion|kind)"?\s*:`)
	templateKind  = regexp.MustCompile(`(?m)^kind:\s*Template\s*$`)
	templateExprs = [...]string{"${{", "{{ cookiecutter", "{{cookiecutter", "{%"}
)

// classify tells entity files (a document with top-level apiVersion and
// kind) from the rest, and skeleton files: scaffolder skeleton content, which
// holds template expressions (${{ }}, {{ cookiecutter }}, {% %}) and is not
// itself a Template (templates hold ${{ }} in their steps). Skeletons are
// catalog input only after a template renders them, so they are not tested
// here.
func classify(data []byte) (entity, skeleton bool) {
	entity = hasEnvelope(data)
	if !entity {
		return false, false
	}
	for _, t := range templateExprs {
		if bytes.Contains(data, []byte(t)) && !templateKind.Match(data) {
			return true, true
		}
	}
	return true, false
}

func hasEnvelope(data []byte) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return false
		}
		if err != nil { // not YAML as written (a template): look at the text
			return len(topLevelKey.FindAll(data, -1)) >= 2
		}
		if len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
			continue
		}
		var api, kind bool
		root := n.Content[0]
		for i := 0; i+1 < len(root.Content); i += 2 {
			api = api || root.Content[i].Value == "apiVersion"
			kind = kind || root.Content[i].Value == "kind"
		}
		if api && kind {
			return true
		}
	}
}

func TestCorpus(t *testing.T) {
	if _, err := os.Stat(corpusRoot); err != nil {
		t.Fatalf("corpus not found at %s (shared/ must sit beside the repository): %v", corpusRoot, err)
	}
	want := map[string]corpusCase{}
	for _, c := range corpusTable() {
		if _, dup := want[c.file]; dup {
			t.Errorf("%s: twice in the table", c.file)
		}
		want[c.file] = c
	}
	seen := map[string]bool{}
	err := filepath.WalkDir(corpusRoot, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(p) {
		case ".yaml", ".yml", ".json":
		default:
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(corpusRoot, p)
		rel = filepath.ToSlash(rel)
		c, listed := want[rel]
		entity, skeleton := classify(data)
		if (!entity || skeleton) && !listed {
			return nil
		}
		seen[rel] = true
		if !listed {
			t.Errorf("%s: entity file not in the expectations table", rel)
			return nil
		}
		t.Run(rel, func(t *testing.T) { checkCorpusFile(t, rel, data, c) })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for f := range want {
		if !seen[f] {
			t.Errorf("%s: in the table but not in the corpus", f)
		}
	}
}

func checkCorpusFile(t *testing.T, rel string, data []byte, c corpusCase) {
	docs, perr := Parse(rel, data, DefaultLimits())
	valid, bad := 0, 0
	var msgs, outcome []string
	for _, d := range docs {
		if len(d.Errors) == 0 {
			valid++
			outcome = append(outcome, "")
			if d.Entity.Name() == "" || d.Entity.Metadata()["namespace"] == nil {
				t.Errorf("document %d parsed without a name or namespace", d.Index+1)
			}
			if _, err := BuildSearch(d.Entity, nil); err != nil {
				t.Errorf("document %d: search rows: %v", d.Index+1, err)
			}
			continue
		}
		bad++
		var one []string
		for _, e := range d.Errors {
			one = append(one, e.Error())
		}
		msgs = append(msgs, one...)
		outcome = append(outcome, strings.Join(one, "\n"))
	}
	if perr != nil {
		msgs = append(msgs, perr.Error())
	}
	all := strings.Join(msgs, "\n")
	if valid != c.valid || bad != c.bad {
		t.Errorf("%d valid, %d rejected; want %d and %d\n%s", valid, bad, c.valid, c.bad, all)
	}
	if c.message != "" && !strings.Contains(all, c.message) {
		t.Errorf("no message contains %q:\n%s", c.message, all)
	}
	if c.message == "" && c.bad > 0 {
		t.Errorf("table entry has rejections but no expected message")
	}
	for _, m := range msgs {
		if !strings.HasPrefix(m, rel+": ") {
			t.Errorf("message does not name the file: %s", m)
		}
	}
	if c.docs != nil {
		if len(c.docs) != len(outcome) {
			t.Fatalf("%d documents, the table lists %d", len(outcome), len(c.docs))
		}
		for i, w := range c.docs {
			switch {
			case w == "" && outcome[i] != "":
				t.Errorf("document #%d (of the non-empty ones) rejected, want valid:\n%s", i+1, outcome[i])
			case w != "" && !strings.Contains(outcome[i], w):
				t.Errorf("document #%d (of the non-empty ones): want a message containing %q, got:\n%s", i+1, w, outcome[i])
			}
		}
	}
}
