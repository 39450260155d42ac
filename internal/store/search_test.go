package store

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestOneEdit(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"payments", "payments", true},
		{"payments", "paymants", true},  // substitution
		{"payments", "paymnets", true},  // adjacent swap
		{"payments", "payment", true},   // deletion
		{"payments", "paymentss", true}, // insertion
		{"payments", "pymants", false},
		{"payments", "paymnest", false},
		{"abcd", "bacd", true},
		{"abcd", "badc", false},
		{"café", "cafe", true},
		{"ab", "abcd", false},
	} {
		if got := oneEdit(c.a, c.b); got != c.want {
			t.Errorf("oneEdit(%q, %q) = %v", c.a, c.b, got)
		}
		if got := oneEdit(c.b, c.a); got != c.want {
			t.Errorf("oneEdit(%q, %q) = %v", c.b, c.a, got)
		}
	}
}

// TestDeletionsMeetForOneEdit: two words one edit apart share a deletion
// variant (SymSpell's promise, which the SQLite typo lookup relies on).
func TestDeletionsMeetForOneEdit(t *testing.T) {
	for _, pair := range [][2]string{{"payments", "paymants"}, {"payments", "paymnets"}, {"payments", "payment"}, {"ledger", "ledgers"}, {"über", "uber"}} {
		shared := false
		for _, a := range deletions(pair[0]) {
			for _, b := range deletions(pair[1]) {
				shared = shared || a == b
			}
		}
		if !shared {
			t.Errorf("%q and %q share no deletion variant", pair[0], pair[1])
		}
	}
}

func TestMarker(t *testing.T) {
	m := &marker{words: []string{"paym", "settle"}, typos: map[string][]string{"settle": {"settled"}}, pre: "<b>", post: "</b>"}
	if got := m.title("Payments-Service (paym)"); got != "<b>Payments</b>-Service (<b>paym</b>)" {
		t.Errorf("title: %s", got)
	}
	long := strings.Repeat("filler ", 40) + "we settled it " + strings.Repeat("more ", 40)
	got := m.snippet(long)
	if !strings.HasPrefix(got, "…") || !strings.HasSuffix(got, "…") || !strings.Contains(got, "<b>settled</b>") || len(strings.Fields(got)) > snippetWords+2 {
		t.Errorf("snippet: %s", got)
	}
	// Punctuation around the only word is cut, not kept whole (review: a
	// description of 15,000 "</>" gave a 30 kB highlight).
	junk := strings.Repeat("</>", 5000)
	if got := m.snippet(junk + " settled " + junk); len(got) > 2*snippetEdge+40 || !strings.Contains(got, "<b>settled</b>") {
		t.Errorf("snippet in punctuation: %d bytes: %.80s", len(got), got)
	}
	if got := m.snippet("no match here"); got != "no match here" {
		t.Errorf("snippet without a match: %s", got)
	}
}

// FuzzSearchTerm: whatever is typed, a term's words hold only letters,
// digits and marks (so a match expression quotes plain words), and
// highlighting a text with them yields valid UTF-8 holding the text's
// words.
func FuzzSearchTerm(f *testing.F) {
	for _, s := range []string{`payments "OR" x`, `NEAR(a b)`, `a*`, `'; DROP`, "\x00\xff", "café-ü", `-x:y(z)`} {
		f.Add(s, "some text with payments in it")
	}
	f.Fuzz(func(t *testing.T, term, text string) {
		words := searchWords(term)
		for _, w := range words {
			for _, r := range w {
				if !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.IsMark(r) {
					t.Fatalf("word %q of %q holds %q", w, term, r)
				}
			}
		}
		expr := matchExpr(FullTextSQLite, words, nil)
		if strings.Count(expr, `"`)%2 != 0 {
			t.Fatalf("unbalanced quotes in %s", expr)
		}
		m := &marker{words: words, pre: "<b>", post: "</b>"}
		if out := m.title(text); utf8.ValidString(text) && (!utf8.ValidString(out) || strings.ReplaceAll(strings.ReplaceAll(out, "<b>", ""), "</b>", "") != text) {
			t.Fatalf("title(%q) = %q", text, out)
		}
		_ = m.snippet(text)
	})
}
