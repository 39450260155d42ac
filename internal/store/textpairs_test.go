package store

import (
	"reflect"
	"strings"
	"testing"
)

// arrayElem writes v as PostgreSQL's array_out writes a text element:
// quoted when empty, NULL in any case, or holding a brace, a comma, a
// double quote, a backslash or white space; a double quote or backslash
// escaped within quotes.
func arrayElem(v string) string {
	if v != "" && !strings.EqualFold(v, "NULL") && !strings.ContainsAny(v, "{},\"\\ \t\n\r\v\f") {
		return v
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// textPairs is pairs in a two-dimensional text array's text form.
func textPairs(pairs ...[2]string) string {
	if len(pairs) == 0 {
		return "{}"
	}
	var b strings.Builder
	b.WriteString("{")
	for i, p := range pairs {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("{" + arrayElem(p[0]) + "," + arrayElem(p[1]) + "}")
	}
	b.WriteString("}")
	return b.String()
}

// TestParseTextPairs: PostgreSQL's text form of the relations array reads
// back as the pairs it holds, whatever they hold, and anything else is an
// error that names the entity.
func TestParseTextPairs(t *testing.T) {
	for _, pairs := range [][][2]string{
		nil,
		{{"ownedBy", "group:default/team-a"}},
		{{"dependsOn", "component:default/b"}, {"ownedBy", "group:default/team-a"}},
		{{`a"b`, `c\d`}, {"x y", "{1,2}"}, {"NULL", "null"}, {"\u00e9", "\t\n"}, {`\`, `"`}},
	} {
		raw := textPairs(pairs...)
		got, err := parseTextPairs("c:d/e", raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		want := []Relation{}
		for _, p := range pairs {
			want = append(want, Relation{Source: "c:d/e", Type: p[0], Target: p[1]})
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %q, want %q", raw, got, want)
		}
	}
	for _, raw := range []string{``, `{`, `}`, `{}x`, `{{a}}`, `{{a,b,c}}`, `{{a,b}`, `{{a,b},}`, `{{a,NULL}}`, `{{a,}}`, `{{"a,b}}`, `{{"a\`, `{a,b}`, `{{a,b}}{}`, `{{a b,c}}`} {
		if got, err := parseTextPairs("c:d/e", raw); err == nil || !strings.Contains(err.Error(), "c:d/e") {
			t.Errorf("%q: %q, %v; want an error naming the entity", raw, got, err)
		}
	}
}

// FuzzParseTextPairs: any pair of strings, written as PostgreSQL writes
// it, reads back unchanged; any text at all reads without a panic.
func FuzzParseTextPairs(f *testing.F) {
	f.Add("ownedBy", "group:default/a", `{{a,b}}`)
	f.Add(`a"\b`, "NULL", `{{"a\"",b},{c,d}}`)
	f.Fuzz(func(t *testing.T, typ, target, raw string) {
		parseTextPairs("r", raw)
		got, err := parseTextPairs("r", textPairs([2]string{typ, target}, [2]string{target, typ}))
		want := []Relation{{Source: "r", Type: typ, Target: target}, {Source: "r", Type: target, Target: typ}}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q, %q: %q, %v", typ, target, got, err)
		}
	})
}
