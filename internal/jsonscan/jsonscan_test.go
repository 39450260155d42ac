package jsonscan

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestMembers: members in order, duplicates and escapes as written; a
// malformed object is an error, and an unterminated string at its end
// is not read past (each case is cut from a larger buffer, so a read past
// the end would see its bytes instead of panicking).
func TestMembers(t *testing.T) {
	body := " {\"a\" : 1 , \"b\\u0021\":{\"x\":[1,{\"y\":\"}\"}]},\"a\":\"s\\\"\" ,\"c\":[] } "
	var got []string
	err := Members([]byte(body), func(key, rawKey, val []byte) error {
		got = append(got, fmt.Sprintf("%s|%s|%s", key, rawKey, val))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`a|"a"|1`, `b!|"b\u0021"|{"x":[1,{"y":"}"}]}`, `a|"a"|"s\""`, `c|"c"|[]`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("members:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, bad := range []string{`[]`, `"x"`, ``, `{"a":1`, `{"a" 1}`, `{1:2}`, `{"a":}`, `{"a`, `{"a\`, `{"a":"x`, `{"a":"x\`} {
		err := Members(cut(bad), func(_, rawKey, val []byte) error {
			if !strings.Contains(bad, string(rawKey)) || !strings.Contains(bad, string(val)) {
				t.Errorf("%q: read past its end: key %q, value %q", bad, rawKey, val)
			}
			return nil
		})
		if err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if err := Members([]byte(`{}`), func(_, _, _ []byte) error { t.Error("a member of {}"); return nil }); err != nil {
		t.Error(err)
	}
}

func TestElements(t *testing.T) {
	var got []string
	if err := Elements([]byte(` [ "a" , {"b":[1,2]} ,3,[],null ] `), func(val []byte) error {
		got = append(got, string(val))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := `"a" {"b":[1,2]} 3 [] null`; strings.Join(got, " ") != want {
		t.Errorf("elements %q, want %q", strings.Join(got, " "), want)
	}
	for _, bad := range []string{`{}`, `[1`, `[1 2]`, `[,]`, `["a`, `["a\`} {
		err := Elements(cut(bad), func(val []byte) error {
			if !strings.Contains(bad, string(val)) {
				t.Errorf("%q: read past its end: %q", bad, val)
			}
			return nil
		})
		if err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestString: a string value reads as json.Unmarshal into an any reads it.
func TestString(t *testing.T) {
	for _, val := range []string{`"plain"`, `"esc\n\u00e9\"\\"`, "\"bad \xff utf8\"", `"\ud800"`, `""`} {
		got, ok := String([]byte(val))
		var want any
		if err := json.Unmarshal([]byte(val), &want); err != nil {
			t.Fatal(err)
		}
		if !ok || got != want {
			t.Errorf("String(%q) = %q, %v; want %q", val, got, ok, want)
		}
	}
	for _, val := range []string{`1`, `null`, `["a"]`, `{"a":"b"}`, `"`} {
		if s, ok := String([]byte(val)); ok {
			t.Errorf("String(%q) = %q, true; want false", val, s)
		}
	}
}

// cut is s at the start of a larger buffer: bytes follow it within its
// capacity, as in a body read from a row.
func cut(s string) []byte {
	b := append([]byte(s), `,"z":"past the end"}]`...)
	return b[:len(s)]
}
