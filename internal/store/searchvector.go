package store

import (
	"bytes"
	"cmp"
	"database/sql/driver"
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"
)

// On PostgreSQL, search_docs.tsv is built here, not by to_tsvector: the
// words of label, title, meta and text as searchWords splits them (the
// tokenizer the query side splits a term with, and SQLite's FTS5 its
// text), weighted A, B, C and D, numbered one after another across the
// fields. It is written as a tsvector value, in binary on a COPY: no text
// is parsed for it, by PostgreSQL's text parser (four to_tsvector calls a
// row were the largest part of what indexing added to an ingest) or by
// the tsvector input function, and no word is quoted. What a term's words
// can match is what they match on SQLite.
//
// to_tsvector's limits hold: a word of 2047 bytes or more is left out
// (as to_tsvector leaves it; PostgreSQL refuses one longer), positions
// stop at 16383, and a word keeps its first 255 positions.
const (
	tsMaxWordBytes = 2046
	tsMaxPos       = 16383
	tsMaxPositions = 255
)

// tsWeights are the weights of search_docs' label, title, meta and text
// (in a binary position: 3, 2, 1 and 0).
var tsWeights = [4]pgtype.TSVectorWeight{pgtype.TSVectorWeightA, pgtype.TSVectorWeightB, pgtype.TSVectorWeightC, pgtype.TSVectorWeightD}

// tsWord is one word of a row: its index among the row's words, its
// position and field, and its first 8 bytes as a number (big-endian,
// zero-padded: a word holds no NUL byte, so numbers compare as the words'
// starts do). It holds no pointer: sorting it moves no string (whose
// moves cost write barriers while the garbage collector runs).
type tsWord struct {
	prefix uint64
	word   uint32
	pos    uint16
	field  uint8
}

// tsBuffers are appendSearchVector's and addVocab's working slices, kept
// for the next call.
type tsBuffers struct {
	words []string
	all   []tsWord
}

var tsScratch = sync.Pool{New: func() any { return new(tsBuffers) }}

// searchVector is the tsvector of a row's four fields (label, title,
// meta, text), read back from appendSearchVector's binary form.
func searchVector(fields [4]string) pgtype.TSVector {
	b := appendSearchVector(nil, fields)
	n := binary.BigEndian.Uint32(b)
	b = b[4:]
	v := pgtype.TSVector{Valid: true, Lexemes: make([]pgtype.TSVectorLexeme, n)}
	for i := range v.Lexemes {
		end := bytes.IndexByte(b, 0)
		l := &v.Lexemes[i]
		l.Word, b = string(b[:end]), b[end+1:]
		l.Positions, b = make([]pgtype.TSVectorPosition, binary.BigEndian.Uint16(b)), b[2:]
		for j := range l.Positions {
			p := binary.BigEndian.Uint16(b)
			l.Positions[j], b = pgtype.TSVectorPosition{Position: p & 0x3fff, Weight: tsWeights[3-(p>>14)]}, b[2:]
		}
	}
	return v
}

// appendSearchVector appends the tsvector of a row's four fields (label,
// title, meta, text) to buf in PostgreSQL's binary form (what
// tsvectorrecv reads): the number of lexemes, then each lexeme, in
// order, NUL-terminated, with its number of positions and each position
// (weight in the top 2 bits: A 3, B 2, C 1, D 0; position in the other 14).
func appendSearchVector(buf []byte, fields [4]string) []byte {
	scratch := tsScratch.Get().(*tsBuffers)
	defer func() {
		clear(scratch.words)
		scratch.words, scratch.all = scratch.words[:0], scratch.all[:0]
		tsScratch.Put(scratch)
	}()
	ws := scratch.words
	var ends [4]int
	for f, text := range fields {
		ws = appendSearchWords(ws, text)
		ends[f] = len(ws)
	}
	all := slices.Grow(scratch.all, len(ws))
	scratch.words = ws
	pos, f := 0, 0
	for i, w := range ws {
		for i >= ends[f] {
			f++
		}
		if len(w) > tsMaxWordBytes {
			continue
		}
		pos = min(pos+1, tsMaxPos)
		all = append(all, tsWord{prefix: wordPrefix(w), word: uint32(i), pos: uint16(pos), field: uint8(f)})
	}
	scratch.all = all
	// By word (in PostgreSQL's order of lexemes: bytes), each word's
	// positions in order, a position's fields in order (as a stable sort
	// by word of the words in position order).
	slices.SortFunc(all, func(a, b tsWord) int {
		if a.prefix != b.prefix {
			return cmp.Compare(a.prefix, b.prefix)
		}
		if c := strings.Compare(ws[a.word], ws[b.word]); c != 0 {
			return c
		}
		if a.pos != b.pos {
			return cmp.Compare(a.pos, b.pos)
		}
		return cmp.Compare(a.field, b.field)
	})
	count := len(buf)
	buf = append(buf, 0, 0, 0, 0)
	lexemes := 0
	for i := 0; i < len(all); lexemes++ {
		w := ws[all[i].word]
		buf = append(buf, w...)
		buf = append(buf, 0)
		at := len(buf)
		buf = append(buf, 0, 0)
		n := 0
		for ; i < len(all) && ws[all[i].word] == w; i++ {
			// Past the limit, or a repeat of the last position (past
			// 16383: the first, higher, weight stays).
			if n == tsMaxPositions || n > 0 && all[i].pos == all[i-1].pos {
				continue
			}
			buf = binary.BigEndian.AppendUint16(buf, uint16(3-all[i].field)<<14|all[i].pos)
			n++
		}
		binary.BigEndian.PutUint16(buf[at:], uint16(n))
	}
	binary.BigEndian.PutUint32(buf[count:], uint32(lexemes))
	return buf
}

// wordPrefix is w's first 8 bytes as a big-endian number, zero-padded.
func wordPrefix(w string) uint64 {
	var p uint64
	for i := range 8 {
		p <<= 8
		if i < len(w) {
			p |= uint64(w[i])
		}
	}
	return p
}

// searchFields are a row's label, title, meta and text as the value of
// its tsv column: searchVector builds the vector as the driver encodes
// the row, so a batch of rows waiting to be written holds their text
// alone, not a vector each (a load of 10,000 entities spent more in the
// garbage collector on those than in building them).
type searchFields [4]string

// AppendTSVectorBinary appends the row's vector in PostgreSQL's binary
// form, for a codec that writes it without building a pgtype.TSVector
// (postgres.Open registers one: the lexemes and positions of a 10k-entity
// batch were 8 MB more garbage to collect).
func (f searchFields) AppendTSVectorBinary(buf []byte) []byte { return appendSearchVector(buf, f) }

// TSVectorValue implements pgtype.TSVectorValuer: pgx writes it in
// PostgreSQL's binary form.
func (f searchFields) TSVectorValue() (pgtype.TSVector, error) { return searchVector(f), nil }

// Value implements driver.Valuer, for a driver that does not take a
// TSVectorValuer: the vector as tsvector text.
func (f searchFields) Value() (driver.Value, error) { return searchVector(f).Value() }

// appendSearchWords appends the words of text (searchWords), without
// copying a word that is lower-case already.
func appendSearchWords(out []string, text string) []string {
	start, upper := -1, false
	for i := 0; i <= len(text); {
		inWord, up, size := false, false, 1
		if i < len(text) {
			if c := text[i]; c < utf8.RuneSelf {
				up = 'A' <= c && c <= 'Z'
				inWord = up || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
			} else {
				var r rune
				r, size = utf8.DecodeRuneInString(text[i:])
				inWord = unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r)
				up = inWord && unicode.ToLower(r) != r
			}
		}
		switch {
		case inWord:
			if start < 0 {
				start, upper = i, false
			}
			upper = upper || up
		case start >= 0:
			w := text[start:i]
			if upper {
				w = strings.ToLower(w)
			}
			out = append(out, w)
			start = -1
		}
		i += size
	}
	return out
}
