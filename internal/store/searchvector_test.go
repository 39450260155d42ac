package store

import (
	"bytes"
	"math/rand/v2"
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
	for _, text := range searchWordsSeeds {
		if got, want := searchWords(text), fieldWords(text); !slices.Equal(got, want) {
			t.Errorf("searchWords(%q) = %q, want %q", text, got, want)
		}
	}
}

// FuzzSearchWordsAsFields: as TestSearchWordsAsFields, for any text.
func FuzzSearchWordsAsFields(f *testing.F) {
	for _, s := range searchWordsSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if got, want := searchWords(text), fieldWords(text); !slices.Equal(got, want) {
			t.Errorf("searchWords(%q) = %q, want %q", text, got, want)
		}
	})
}

// fieldWords is searchWords' rule written plainly.
func fieldWords(text string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.IsMark(r)
	}) {
		out = append(out, strings.ToLower(f))
	}
	return out
}

var searchWordsSeeds = []string{
	"", "   ", "Payments-API v2.1 (beta)", "ÉCOLE école Straße İstanbul ǅemal", "café cafe\u0301s naïve",
	"日本語のテキスト 中文", "team-1 -12 3,5 1e5", "it's \"quoted\" \\ back\\slash", "a:b/c@d_e.f",
	"emoji 🚀rocket ok", "Ωmega ΣΊΣΥΦΟΣ", "x\u200by", "ARABIC مرحبا بالعالم", "bad \xff\xfebytes\x00NUL", "ǅemal İSTANBUL",
}

// TestSearchVectorLiteral: the vector numbers words across the fields,
// weights them by field, keeps each word once with its positions in
// order, lexemes in PostgreSQL's order, and holds to to_tsvector's limits.
func TestSearchVectorLiteral(t *testing.T) {
	fields := searchFields{"payments-api", "Payments API", "Component service", "Moves the payments. Payments!"}
	v := searchVector(fields)
	want := `'api':2A,4B 'component':5C 'moves':7 'payments':1A,3B,9,10 'service':6C 'the':8`
	if v.String() != want {
		t.Errorf("vector:\n got %s\nwant %s", v.String(), want)
	}
	if text, err := fields.Value(); err != nil || text != want {
		t.Errorf("as text: %v, %v", text, err)
	}
	if v := searchVector([4]string{}); !v.Valid || len(v.Lexemes) != 0 {
		t.Errorf("empty fields: %v", v)
	}
	// Limits: a word of 2047 bytes is left out, one of 2046 kept; a word
	// keeps 255 positions; positions stop at 16383, where a repeat is
	// dropped.
	long := strings.Repeat("x", tsMaxWordBytes)
	if v := searchVector([4]string{"", "", "", long + " " + long + "y tail"}); v.String() != "'tail':2 '"+long+"':1" {
		t.Errorf("long words: %.60s...", v.String())
	}
	lexemes := byWord(searchVector([4]string{"", "", "", strings.Repeat("w ", 300)}))
	if n := len(lexemes["w"]); n != tsMaxPositions {
		t.Errorf("a word repeated 300 times keeps %d positions", n)
	}
	lexemes = byWord(searchVector([4]string{"first", "", "", strings.Repeat("v ", 20000) + "first last"}))
	if p := lexemes["last"]; len(p) != 1 || p[0].Position != tsMaxPos {
		t.Errorf("a word past position 16383: %v", p)
	}
	if p := lexemes["first"]; len(p) != 2 || p[1] != (pgtype.TSVectorPosition{Position: tsMaxPos, Weight: 'D'}) {
		t.Errorf("a word at 1 and past 16383: %v", p)
	}
	if p := lexemes["v"]; len(p) != tsMaxPositions {
		t.Errorf("%d positions of v", len(p))
	}
	// Lexemes sorted by bytes, each once (PostgreSQL's binary input
	// sorts otherwise, and takes a word twice as two).
	v = searchVector([4]string{"zeta Alpha", "éclair beta", "", "alpha ZETA b ab"})
	var words []string
	for _, l := range v.Lexemes {
		words = append(words, l.Word)
	}
	if !slices.Equal(words, []string{"ab", "alpha", "b", "beta", "zeta", "éclair"}) {
		t.Errorf("lexemes: %q", words)
	}
}

func byWord(v pgtype.TSVector) map[string][]pgtype.TSVectorPosition {
	out := map[string][]pgtype.TSVectorPosition{}
	for _, l := range v.Lexemes {
		out[l.Word] = l.Positions
	}
	return out
}

// TestSearchVectorAsPlainSort: searchVector's lexemes and positions, and
// its binary form, are those of the plain rule (plainVector: the row's
// words, numbered, in a stable sort by word, each word once), for rows of
// words that share prefixes of 8 bytes and more, repeat within and across
// fields, pass the position limit, and hold the search-word seeds.
func TestSearchVectorAsPlainSort(t *testing.T) {
	r := rand.New(rand.NewPCG(35, 19))
	stems := []string{"a", "ab", "abcdefgh", "abcdefghi", "abcdefgh1", "abcdefghij", "z", "éclair", "日本語", "x\u0301", "0", "10", "9"}
	word := func() string {
		w := stems[r.IntN(len(stems))]
		if r.IntN(3) == 0 {
			w += stems[r.IntN(len(stems))]
		}
		if r.IntN(4) == 0 {
			w = strings.ToUpper(w)
		}
		return w
	}
	rows := [][4]string{{}, {"x", "x", "x", "x"}}
	for _, s := range searchWordsSeeds {
		rows = append(rows, [4]string{s, s, "", s})
	}
	for range 2000 {
		var row [4]string
		for f := range row {
			var ws []string
			for range r.IntN(12) {
				ws = append(ws, word())
			}
			row[f] = strings.Join(ws, " -")
		}
		rows = append(rows, row)
	}
	rows = append(rows, [4]string{"first abcdefghij", "", "", strings.Repeat("v abcdefghi ", 9000) + "first abcdefghij last"})
	m := pgtype.NewMap()
	for _, row := range rows {
		want := plainVector(row)
		if got := searchVector(row); got.String() != want.String() {
			t.Fatalf("searchVector(%.80q):\n got %.200s\nwant %.200s", row, got.String(), want.String())
		}
		// The binary form a COPY sends is pgx's encoding of the vector,
		// appended after what the buffer held.
		wantBinary, err := m.Encode(pgtype.TSVectorOID, pgtype.BinaryFormatCode, want, []byte("held"))
		if err != nil {
			t.Fatal(err)
		}
		if got := searchFields(row).AppendTSVectorBinary([]byte("held")); !bytes.Equal(got, wantBinary) {
			t.Fatalf("binary vector of %.80q:\n got %x\nwant %x", row, got, wantBinary)
		}
	}
}

// plainVector is searchVector's rule written plainly.
func plainVector(fields [4]string) pgtype.TSVector {
	type word struct {
		word  string
		pos   uint16
		field int
	}
	var all []word
	pos := 0
	for f, text := range fields {
		for _, w := range searchWords(text) {
			if len(w) > tsMaxWordBytes {
				continue
			}
			pos = min(pos+1, tsMaxPos)
			all = append(all, word{w, uint16(pos), f})
		}
	}
	slices.SortStableFunc(all, func(a, b word) int { return strings.Compare(a.word, b.word) })
	v := pgtype.TSVector{Valid: true}
	for i, w := range all {
		if i == 0 || w.word != all[i-1].word {
			v.Lexemes = append(v.Lexemes, pgtype.TSVectorLexeme{Word: w.word})
		}
		l := &v.Lexemes[len(v.Lexemes)-1]
		if n := len(l.Positions); n == tsMaxPositions || n > 0 && l.Positions[n-1].Position == w.pos {
			continue
		}
		l.Positions = append(l.Positions, pgtype.TSVectorPosition{Position: w.pos, Weight: tsWeights[w.field]})
	}
	return v
}
