package catalog

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const corpusRoot = "../../../shared/corpus"

var kindLine = regexp.MustCompile(`(?m)^kind:\s*\S`)

// isEntityFile reports a catalog file: it has apiVersion and kind at the top
// level and is not a templated skeleton (${{ }}, {{ cookiecutter }}, {% %}).
func isEntityFile(data []byte) bool {
	if !bytes.Contains(data, []byte("apiVersion:")) || !kindLine.Match(data) {
		return false
	}
	for _, tpl := range []string{"${{", "{{", "{%"} {
		if bytes.Contains(data, []byte(tpl)) {
			return false
		}
	}
	return true
}

// corpusCase is the expected outcome of one corpus file under Backstage's
// rules: how many documents are valid entities, how many are rejected, and a
// fragment of the first rejection message.
type corpusCase struct {
	file       string
	valid, bad int
	message    string
}

func TestCorpus(t *testing.T) {
	if _, err := os.Stat(corpusRoot); err != nil {
		t.Fatalf("corpus not found at %s (shared/ must sit beside the repo): %v", corpusRoot, err)
	}
	want := map[string]corpusCase{}
	for _, c := range corpusTable() {
		want[c.file] = c
	}
	seen := map[string]bool{}
	err := filepath.WalkDir(corpusRoot, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !isEntityFile(data) {
			return nil
		}
		rel, _ := filepath.Rel(corpusRoot, p)
		seen[rel] = true
		c, ok := want[rel]
		if !ok {
			t.Errorf("%s: entity file not in the expectations table", rel)
			return nil
		}
		docs, perr := Parse(rel, data, DefaultLimits())
		valid, bad := 0, 0
		var msgs []string
		for _, d := range docs {
			if len(d.Errors) == 0 {
				valid++
				if d.Entity.Namespace() == "" || d.Entity.Name() == "" {
					t.Errorf("%s: document %d parsed without a name/namespace", rel, d.Index)
				}
				continue
			}
			bad++
			for _, e := range d.Errors {
				msgs = append(msgs, e.Error())
			}
		}
		if perr != nil {
			msgs = append(msgs, perr.Error())
		}
		if valid != c.valid || bad != c.bad {
			t.Errorf("%s: %d valid, %d rejected; want %d and %d\n%s", rel, valid, bad, c.valid, c.bad, strings.Join(msgs, "\n"))
		}
		if c.message != "" && !strings.Contains(strings.Join(msgs, "\n"), c.message) {
			t.Errorf("%s: no message contains %q:\n%s", rel, c.message, strings.Join(msgs, "\n"))
		}
		for _, m := range msgs {
			if !strings.HasPrefix(m, rel+": ") {
				t.Errorf("%s: message does not name the file: %s", rel, m)
			}
		}
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
