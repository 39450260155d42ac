package catalogsvc

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/jsonscan"
	"github.com/riggerdev/rigger/internal/store"
)

// RenderRaw is Render's wire entity as JSON, spliced from the stored bytes
// (written by json.Marshal when stored): the top level and metadata are
// scanned, not decoded, and every other value is copied as stored. What
// an answer without a fields projection carries; a page of 50 spent about
// a quarter of its CPU time decoding and re-encoding bodies. Its content
// equals render's (TestRenderRawMatchesRender). An orphan, which gains an
// annotation, is rendered in full.
func RenderRaw(e *store.StoredEntity) (json.RawMessage, error) {
	return AppendRaw(make([]byte, 0, rawSize(e)), e)
}

// AppendRaw appends RenderRaw's answer for e to out; on an error out is
// returned as it came.
func AppendRaw(out []byte, e *store.StoredEntity) ([]byte, error) {
	if e.Orphan || !wellFormed(e) {
		m, err := Render(e)
		if err != nil {
			return out, err
		}
		b, err := json.Marshal(m)
		if err != nil {
			return out, err
		}
		return append(out, b...), nil
	}
	start := len(out)
	out = append(out, '{')
	sawMetadata := false
	err := jsonscan.Members(e.Body, func(key, rawKey, val []byte) error {
		switch string(key) {
		case "relations": // Render replaces a stored one
			return nil
		case "metadata":
			sawMetadata = true
			md, err := appendMetadata(appendMember(out, rawKey), val, e)
			if err != nil {
				return err
			}
			out = md
			return nil
		}
		out = append(appendMember(out, rawKey), val...)
		return nil
	})
	if err != nil {
		return out[:start], fmt.Errorf("stored entity %s: %w", e.Ref, err)
	}
	if !sawMetadata {
		out, _ = appendMetadata(appendMember(out, []byte(`"metadata"`)), []byte("null"), e)
	}
	out = append(appendMember(out, []byte(`"relations"`)), '[')
	for i, r := range e.Relations {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendJSONString(append(out, `{"type":`...), r.Type)
		out = appendJSONString(append(out, `,"targetRef":`...), r.Target)
		out = append(out, '}')
	}
	return append(out, ']', '}'), nil
}

// RawEntity is an entity to be answered from its stored bytes, rendered
// (AppendRaw) when the answer is written, straight into the answer's
// buffer: a page of 50 rendered one slice per entity first allocated
// ~30 KB that was copied once and dropped.
type RawEntity struct{ *store.StoredEntity }

// AppendJSON appends the entity as RenderRaw renders it.
func (r RawEntity) AppendJSON(out []byte) ([]byte, error) { return AppendRaw(out, r.StoredEntity) }

// MarshalJSON is RenderRaw's answer, for whoever marshals a RawEntity.
func (r RawEntity) MarshalJSON() ([]byte, error) { return RenderRaw(r.StoredEntity) }

// Size is room for the answer when none of its strings needs an escape.
func (r RawEntity) Size() int { return rawSize(r.StoredEntity) }

// wellFormed reports whether e's stored body is JSON RenderRaw may splice
// into an answer: the bytes a refresh marshalled, as their hash stored
// beside them says (a SHA-256 of the body, several times faster than
// json.Valid, which was 8 % of an owner page's CPU), or, for a body whose
// hash does not match (another writer, a damaged row), valid JSON.
func wellFormed(e *store.StoredEntity) bool {
	return (e.Hash != "" && catalog.IsBodyHash(e.Body, e.Hash)) || json.Valid(e.Body)
}

// rawSize is the length of RenderRaw's answer for e when its strings need
// no escaping: the buffer is allocated once, at its final size (a page's
// rendering was a quarter of its request's allocation, half of it buffers
// regrown).
func rawSize(e *store.StoredEntity) int {
	n := len(e.Body) + len(`,"uid":"","etag":"","relations":[]}`) + len(e.UID) + len(e.ETag)
	for _, r := range e.Relations {
		n += len(`{"type":"","targetRef":""},`) + len(r.Type) + len(r.Target)
	}
	return n
}

// appendJSONString appends s as json.Marshal writes it: as is, quoted,
// when nothing in it needs an escape (refs and types); json.Marshal's
// answer otherwise.
func appendJSONString(out []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always marshals
			return append(out, b...)
		}
	}
	return append(append(append(out, '"'), s...), '"')
}

// RenderFields is Render's entity projected to fields (catalog.ApplyFields)
// decoding only the top-level members a field can name — a field's first
// key, or any of its dotted prefixes, as ApplyFields matches keys that
// hold dots — and skipping the rest unread.
// The members it skips are scanned, not validated.
func RenderFields(e *store.StoredEntity, fields []string) (map[string]any, error) {
	wanted := func(key string) bool {
		for _, f := range fields {
			f = strings.TrimSpace(f)
			if f == key || (strings.HasPrefix(f, key) && len(f) > len(key) && f[len(key)] == '.') {
				return true
			}
		}
		return false
	}
	m := map[string]any{}
	err := jsonscan.Members(e.Body, func(key, _, val []byte) error {
		if !wanted(string(key)) {
			return nil
		}
		var v any
		if err := json.Unmarshal(val, &v); err != nil {
			return err
		}
		m[string(key)] = v
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stored entity %s: %w", e.Ref, err)
	}
	// Relations are built only when a field can name them.
	return catalog.ApplyFields(decorate(m, e, wanted("relations")), fields), nil
}

// appendMember appends a member's key (a JSON string) and colon, after a
// comma unless it is the object's first.
func appendMember(out, rawKey []byte) []byte {
	if out[len(out)-1] != '{' {
		out = append(out, ',')
	}
	return append(append(out, rawKey...), ':')
}

// appendMetadata appends the stored metadata md with e's uid and etag (as
// Render sets them); md not an object counts as empty, as there.
func appendMetadata(out, md []byte, e *store.StoredEntity) ([]byte, error) {
	out = append(out, '{')
	if len(md) > 0 && md[0] == '{' {
		err := jsonscan.Members(md, func(key, rawKey, val []byte) error {
			if k := string(key); k != "uid" && k != "etag" {
				out = append(appendMember(out, rawKey), val...)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("metadata: %w", err)
		}
	}
	out = appendJSONString(appendMember(out, []byte(`"uid"`)), e.UID)
	out = appendJSONString(appendMember(out, []byte(`"etag"`)), e.ETag)
	return append(out, '}'), nil
}
