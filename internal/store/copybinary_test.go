package store

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestAppendCopyRow pins the binary COPY form of each value type the
// catalog tables take, and refuses any other rather than guessing.
func TestAppendCopyRow(t *testing.T) {
	got, err := appendCopyRow([]byte("held"), []any{nil, int64(-2), "a\\\tb", []byte("é"), ""})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte("held" +
		"\x00\x05" + // five fields
		"\xff\xff\xff\xff" + // NULL
		"\x00\x00\x00\x08\xff\xff\xff\xff\xff\xff\xff\xfe" + // bigint -2
		"\x00\x00\x00\x04a\\\tb" + // text, as it is
		"\x00\x00\x00\x02\xc3\xa9" +
		"\x00\x00\x00\x00") // the empty string, not NULL
	if !bytes.Equal(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	vec := searchFields{"Label", "Title", "meta", "text"}
	got, err = appendCopyRow(nil, []any{vec})
	if err != nil {
		t.Fatal(err)
	}
	body := vec.AppendTSVectorBinary(nil)
	if want := append([]byte{0, 1, 0, 0, 0, byte(len(body))}, body...); len(body) > 255 || !bytes.Equal(got, want) {
		t.Fatalf("vector: got %q, want %q", got, want)
	}
	for _, v := range []any{1, int32(1), json.RawMessage(`{}`), true, 1.5} {
		if _, err := appendCopyRow(nil, []any{v}); err == nil || !strings.Contains(err.Error(), "no binary COPY form") {
			t.Errorf("%T: %v", v, err)
		}
	}
}

// TestAppendCopyIDTexts: the unboxed form of a row of an id and texts is
// appendCopyRow's.
func TestAppendCopyIDTexts(t *testing.T) {
	for _, lastNull := range []bool{false, true} {
		texts := []string{"key", "", "Original"}
		got, err := appendCopyIDTexts(nil, 42, lastNull, texts)
		if err != nil {
			t.Fatal(err)
		}
		vals := []any{int64(42), "key", "", "Original"}
		if lastNull {
			vals[3] = nil
		}
		want, err := appendCopyRow(nil, vals)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("lastNull %v: got %q, want %q", lastNull, got, want)
		}
	}
}

// TestCopyFrame pins the frame around the rows: PostgreSQL's 11-byte
// signature, a zero flags field and a zero-length header extension; a
// 16-bit -1 after the last row.
func TestCopyFrame(t *testing.T) {
	want := append([]byte("PGCOPY\n"), 0xff, '\r', '\n', 0, 0, 0, 0, 0, 0, 0, 0, 0)
	if CopyHeader != string(want) {
		t.Errorf("header %q, want %q", CopyHeader, want)
	}
	if CopyTrailer != "\xff\xff" {
		t.Errorf("trailer %q", CopyTrailer)
	}
}
