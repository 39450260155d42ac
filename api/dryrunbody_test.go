package api

import (
	"bytes"
	"encoding/base64"
	"io"
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

// countingReader yields prefix, then elem repeated n times separated by
// commas, then suffix, without holding it, and counts what was read.
type countingReader struct {
	parts []string
	elem  string
	n     int
	read  int
	buf   []byte
}

func (r *countingReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		switch {
		case len(r.parts) == 0:
			return 0, io.EOF
		case r.n > 0 && len(r.parts) == 1:
			r.n--
			r.buf = []byte(r.elem)
			if r.n > 0 {
				r.buf = append(r.buf, ',')
			}
		default:
			r.buf, r.parts = []byte(r.parts[0]), r.parts[1:]
		}
	}
	k := copy(p, r.buf)
	r.buf = r.buf[k:]
	r.read += k
	return k, nil
}

// TestDryRunBodyPartsBounded: values, secrets and template are bounded
// while they are read (size, depth, number of values); a body over a bound
// is refused naming the field, having read little more than the bound.
func TestDryRunBodyPartsBounded(t *testing.T) {
	for name, tc := range map[string]struct {
		parts []string
		elem  string
		n     int
		want  string
	}{
		"values of millions of elements": {[]string{`{"template":{},"values":{"a":[`, `]}}`}, "0", 20_000_000, "values"},
		"values of many values":          {[]string{`{"values":{"a":[`, `]}}`}, "0", 200_000, "values"},
		"secrets too long":               {[]string{`{"secrets":{"a":"`, `"}}`}, "xxxxxxxxxxxxxxx", 2_000_000, "secrets"},
		"template too deep":              {[]string{`{"template":`, `}`}, "", 0, "template"},
	} {
		t.Run(name, func(t *testing.T) {
			r := &countingReader{parts: tc.parts, elem: tc.elem, n: tc.n}
			if name == "template too deep" {
				r.parts = []string{`{"template":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`}
			}
			_, err := decodeDryRunBody(r)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want+":") {
				t.Fatalf("err = %v, want an error about %s", err, tc.want)
			}
			if r.read > maxDryRunPart+(256<<10) {
				t.Fatalf("read %d bytes before refusing", r.read)
			}
		})
	}
	// Within the bounds all is read.
	b, err := decodeDryRunBody(&countingReader{parts: []string{`{"template":{},"values":{"a":[`, `]}}`}, elem: "1", n: 10_000})
	if err != nil || len(b.Values["a"].([]any)) != 10_000 {
		t.Fatalf("values of 10,000 elements: %v", err)
	}
}
