package templates

import "testing"

// positionFile holds two templates; the second's fields sit below the
// first, so a position taken from the wrong document or the document's
// own line is caught.
const positionFile = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: one}
spec:
  type: service
  steps:
    - {id: a, action: debug:log, input: {message: hi}}
---
# the second template
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: two
spec:
  type: service
  parameters:
    - properties:
        "my.name": {type: string}
  steps:
    - id: fetch
      action: fetch:plain
      input:
        url: https://example.org/skel
    - action: debug:log
      input: {message: hi}
  output:
    links: [{url: x}]
`

// TestDocumentPosition: a validator path points at its field's line and
// column in its own document (spec-relative and document-relative paths,
// a step's id label, quoted keys, flow mappings); an absent field points at
// the nearest present one above it; a path naming nothing gives the
// document's line.
func TestDocumentPosition(t *testing.T) {
	docs, err := ParseDocuments("p.yaml", []byte(positionFile))
	if err != nil || len(docs) != 2 {
		t.Fatalf("%v %d", err, len(docs))
	}
	for _, c := range []struct {
		doc       int
		path      string
		line, col int
	}{
		{0, "steps[0].input.message", 7, 42},
		{0, "spec.type", 5, 3},
		{1, "steps[0].input.url", 23, 9},
		{1, `steps[0] (id "fetch").input.url`, 23, 9},
		{1, "steps[1]", 24, 7},
		{1, "steps[1].id", 24, 7}, // absent: the step
		{1, "metadata.name", 13, 3},
		{1, `parameters[0].properties["my.name"]`, 18, 9},
		{1, "output.links[0].url", 27, 14},
		{1, "nothing.here", 10, 0},
		{1, "", 10, 0},
	} {
		line, col := docs[c.doc].Position(c.path)
		if line != c.line || col != c.col {
			t.Errorf("document %d, %s: got %d:%d, want %d:%d", c.doc+1, c.path, line, col, c.line, c.col)
		}
	}
}
