package store

import (
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/jackc/pgx/v5/pgtype"
)

// TestSearchWordsAsFields: the write side's word splitter is the one a
// search term goes through, and splits as a plain FieldsFunc over
// letters, digits and marks, lower-cased, would (the rule SQLite's
// unicode61 tokenizer follows).
func TestSearchWordsAsFields(t *testing.T) {
	for _, text := range []string{
		"", "   ", "Payments-API v2.1 (beta)", "ÉCOLE école Straße İstanbul ǅemal", "café cafe\u0301s naïve",
		"日本語のテキスト 中文", "team-1 -12 3,5 1e5", "it's \"quoted\" \\ back\\slash", "a:b/c@d_e.f",
		"emoji 🚀rocket ok", "Ωmega ΣΊΣΥΦΟΣ", "x\u200by", "ARABIC مرحبا بالعالم",
	} {
		var want []string
		for _, f := range strings.FieldsFunc(text, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.IsMark(r)
		}) {
			want = append(want, strings.ToLower(f))
		}
		if got := searchWords(text); !slices.Equal(got, want) {
			t.Errorf("searchWords(%q) = %q, want %q", text, got, want)
		}
	}
}

// TestSearchVectorLiteral: the tsvector literal numbers words across the
// fields, weights them by field, keeps each word once with its positions
// in order, and holds to to_tsvector's limits.
func TestSearchVectorLiteral(t *testing.T) {
	var got [4][]string
	lit := searchVector([4]string{"payments-api", "Payments API", "Component service", "Moves the payments. Payments!"},
		func(f int, w []string) { got[f] = slices.Clone(w) })
	want := `'api':2A,4B 'component':5C 'moves':7 'payments':1A,3B,9,10 'service':6C 'the':8`
	if lit != want {
		t.Errorf("literal:\n got %s\nwant %s", lit, want)
	}
	if !slices.Equal(got[1], []string{"payments", "api"}) || !slices.Equal(got[3], []string{"moves", "the", "payments", "payments"}) {
		t.Errorf("words handed on: %q", got)
	}
	if lit := searchVector([4]string{}, nil); lit != "" {
		t.Errorf("empty fields: %q", lit)
	}
	// Limits: a word of 2047 bytes is left out, one of 2046 kept; a word
	// keeps 255 positions; positions stop at 16383, where a repeat is
	// dropped.
	long := strings.Repeat("x", tsMaxWordBytes)
	lit = searchVector([4]string{"", "", "", long + " " + long + "y tail"}, nil)
	if lit != "'tail':2 '"+long+"':1" {
		t.Errorf("long words: %.60s...", lit)
	}
	lexemes := parseTSVector(t, searchVector([4]string{"", "", "", strings.Repeat("w ", 300)}, nil))
	if n := len(lexemes["w"]); n != tsMaxPositions {
		t.Errorf("a word repeated 300 times keeps %d positions", n)
	}
	lexemes = parseTSVector(t, searchVector([4]string{"first", "", "", strings.Repeat("v ", 20000) + "last"}, nil))
	if p := lexemes["last"]; len(p) != 1 || p[0].Position != tsMaxPos {
		t.Errorf("a word past position 16383: %v", p)
	}
}

// TestSearchVectorEscapes: a lexeme holding tsvector syntax (quotes,
// backslashes, colons, weights, operators) reads back as itself from the
// literal, through an independent parser of PostgreSQL's tsvector text
// (pgx's); words never hold these (searchWords splits on them), so this
// guards the literal should that change.
func TestSearchVectorEscapes(t *testing.T) {
	hostile := []string{`it's`, `back\slash`, `''`, `\'`, `a:1A`, `'pwned':1A`, `x y`, `&|!<->`, `:*`, `\\`, `'`}
	var lit []byte
	for i, w := range hostile {
		if i > 0 {
			lit = append(lit, ' ')
		}
		lit = appendLexeme(lit, w)
	}
	lexemes := parseTSVector(t, string(lit))
	if len(lexemes) != len(hostile) {
		t.Fatalf("%d lexemes read from %s, want %d: %v", len(lexemes), lit, len(hostile), lexemes)
	}
	for _, w := range hostile {
		if p, ok := lexemes[w]; !ok || len(p) != 0 {
			t.Errorf("lexeme %q: read back %v, %v from %s", w, ok, p, lit)
		}
	}
}

func parseTSVector(t *testing.T, lit string) map[string][]pgtype.TSVectorPosition {
	t.Helper()
	var v pgtype.TSVector
	if err := v.Scan(lit); err != nil {
		t.Fatalf("parse %.200s: %v", lit, err)
	}
	out := map[string][]pgtype.TSVectorPosition{}
	for _, l := range v.Lexemes {
		if _, dup := out[l.Word]; dup {
			t.Fatalf("lexeme %q twice in %.200s", l.Word, lit)
		}
		out[l.Word] = l.Positions
	}
	return out
}
