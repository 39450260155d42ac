package catalog

import (
	"strings"
	"testing"
)

func TestCheckJSONLimits(t *testing.T) {
	lim := Limits{EntityBytes: 200, MaxDepth: 3, MaxStringLength: 20}
	nest := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	for _, c := range []struct{ raw, want string }{
		{`{"kind":"Component","metadata":{"name":"x"}}`, ""},
		{nest(4), ""}, // depths 0..3
		{nest(5), "deeper than the limit of 3"},
		{`{"a":[[[[1]]]]}`, "deeper than the limit of 3"},
		{`{"a":"` + strings.Repeat("x", 21) + `"}`, "string or key of 21 bytes"},
		{`{"` + strings.Repeat("k", 21) + `":1}`, "string or key of 21 bytes"},
		{`{"a":"` + strings.Repeat("x", 19) + `"` + strings.Repeat(`,"b":"`+strings.Repeat("y", 19)+`"`, 8) + `}`, "more than the limit of 200"},
		{`{"a": 1` + strings.Repeat(" ", 300) + `}`, ""}, // whitespace is not stored
		{`{"a":"x\u0000y"}`, "a NUL character"},
		{`{"\u0000":1}`, "a NUL character"},
	} {
		err := CheckJSONLimits([]byte(c.raw), lim)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%.60s: %v, want %q", c.raw, err, c.want)
		}
	}
}

// TestNonEntityNotEchoed: a document with neither apiVersion nor kind —
// /etc/shadow read as YAML, each line a key — is one problem naming file,
// document and line, none of its content.
func TestNonEntityNotEchoed(t *testing.T) {
	docs, err := Parse("/etc/shadow", []byte("root:$6$SECRETROOT:19000:0:99999:7:::\nbob:$6$SECRETBOB:19000:0:99999:7:::\n"), DefaultLimits())
	if err != nil || len(docs) != 1 || len(docs[0].Errors) != 1 {
		t.Fatalf("want one document with one problem, got %v, %+v", err, docs)
	}
	msg := docs[0].Errors[0].Error()
	if !strings.Contains(msg, "/etc/shadow: document 1 (line 1)") || !strings.Contains(msg, "not a catalog entity") || strings.Contains(msg, "SECRET") {
		t.Fatalf("problem: %q", msg)
	}
	// A document with either is still validated field by field.
	docs, _ = Parse("x.yaml", []byte("kind: Component\nextra: 1\n"), DefaultLimits())
	if len(docs) != 1 || len(docs[0].Errors) < 2 {
		t.Fatalf("a document with kind only: %+v", docs)
	}
}
