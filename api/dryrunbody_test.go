package api

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// TestDecodeDryRunBody: the streaming decoder reads every field, decodes
// base64 (escaped slashes too) and refuses what is not base64.
func TestDecodeDryRunBody(t *testing.T) {
	body := `{"template":{"kind":"Template"},"values":{"n":1,"s":"x"},"secrets":{"k":"v"},"extra":[1,2],
	"directoryContents":[{"path":"a.txt","base64Content":"aGVsbG8="},{"path":"b/c","base64Content":"Pz8\/","executable":true}]}`
	b, err := decodeDryRunBody(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if string(b.Template) != `{"kind":"Template"}` || b.Values["n"] != float64(1) || b.Secrets["k"] != "v" {
		t.Fatalf("fields: %s %v %v", b.Template, b.Values, b.Secrets)
	}
	if len(b.Files) != 2 || string(b.Files[0].Data) != "hello" || b.Files[0].Path != "a.txt" ||
		!bytes.Equal(b.Files[1].Data, []byte("???")) || !b.Files[1].Executable {
		t.Fatalf("files: %+v", b.Files)
	}
	for body, files := range map[string]int{`{}`: 0, ` { "directoryContents" : [ ] , "values" : { "a" : [1, {"b": "}\""}] } } `: 0,
		`{"directoryContents":[{"path":"x\u0041","base64Content":""}]}`: 1} {
		b, err := decodeDryRunBody(strings.NewReader(body))
		if err != nil || len(b.Files) != files {
			t.Errorf("%s: %v, %+v", body, err, b)
		}
	}
	big := bytes.Repeat([]byte{1, 2, 3, 250}, 1<<20) // spans many text chunks and data pieces
	b, err = decodeDryRunBody(strings.NewReader(`{"directoryContents":[{"base64Content":"` + base64.StdEncoding.EncodeToString(big) + `","path":"big"}]}`))
	if err != nil || !bytes.Equal(b.Files[0].Data, big) || b.Files[0].Path != "big" {
		t.Fatalf("big file: %v", err)
	}
	for _, bad := range []string{
		`{"directoryContents":[{"path":"a","base64Content":"not base64!"}]}`,
		`{"directoryContents":[{"path":"a","base64Content":12}]}`,
		`{"directoryContents":{}}`,
		`[]`,
		`{"template":{}`,
		`{"template":{}} x`,
		`{"values":{"a":}}`,
	} {
		if _, err := decodeDryRunBody(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}
