package store

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Highlights are marked here rather than by the engine (FTS5's
// highlight() and snippet(), PostgreSQL's ts_headline): the engine
// re-reads and re-matches each document for them, which cost most of a
// broad search's time at 100k entities, and both engines then mark the
// same words. A word of the document is marked when it starts with a word
// of the term or is one of its typo candidates, compared lower-cased.

// marker marks the matching words of texts.
type marker struct {
	words     []string
	typos     map[string][]string
	pre, post string
}

func (m *marker) matches(word string) bool {
	lw := strings.ToLower(word)
	for _, w := range m.words {
		if strings.HasPrefix(lw, w) || slices.Contains(m.typos[w], lw) {
			return true
		}
	}
	return false
}

// span is one word of a text, by byte offsets.
type span struct{ start, end int }

func wordSpans(text string) []span {
	var out []span
	start := -1
	for i, r := range text {
		in := unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r)
		switch {
		case in && start < 0:
			start = i
		case !in && start >= 0:
			out = append(out, span{start, i})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, span{start, len(text)})
	}
	return out
}

// mark returns text[from:to] with its matching words wrapped in pre and
// post.
func (m *marker) mark(text string, spans []span, from, to int) string {
	var b strings.Builder
	at := from
	for _, sp := range spans {
		if sp.start < from || sp.end > to {
			continue
		}
		if m.matches(text[sp.start:sp.end]) {
			b.WriteString(text[at:sp.start])
			b.WriteString(m.pre)
			b.WriteString(text[sp.start:sp.end])
			b.WriteString(m.post)
			at = sp.end
		}
	}
	b.WriteString(text[at:to])
	return b.String()
}

// title marks every matching word of a title.
func (m *marker) title(text string) string {
	return m.mark(text, wordSpans(text), 0, len(text))
}

// snippetWords is how many words a text's snippet holds; snippetEdge is
// how many bytes of other text it keeps before its first word and after
// its last.
const (
	snippetWords = 24
	snippetEdge  = 120
)

// snippet is the part of text around its first matching word, marked,
// with "…" where it is cut.
func (m *marker) snippet(text string) string {
	spans := wordSpans(text)
	first := 0
	for i, sp := range spans {
		if m.matches(text[sp.start:sp.end]) {
			first = i
			break
		}
	}
	if len(spans) == 0 {
		return clipRunes(text, searchTextRunes)
	}
	lo := max(0, first-snippetWords/4)
	hi := min(len(spans), lo+snippetWords)
	lo = max(0, hi-snippetWords)
	from, to := spans[lo].start, spans[hi-1].end
	// Text before the first word and after the last is kept, but only so
	// much of it: a run of punctuation is not a snippet (review).
	if lo == 0 {
		from = max(0, from-snippetEdge)
		for from > 0 && !utf8.RuneStart(text[from]) {
			from++
		}
	}
	if hi == len(spans) {
		to = min(len(text), to+snippetEdge)
		for to < len(text) && !utf8.RuneStart(text[to]) {
			to--
		}
	}
	out := m.mark(text, spans, from, to)
	if from > 0 {
		out = "…" + out
	}
	if to < len(text) {
		out += "…"
	}
	if !utf8.ValidString(out) {
		out = strings.ToValidUTF8(out, "")
	}
	return out
}
