package catalogsvc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/store"
)

// TestRenderRawMatchesRender: the wire entity written from the stored
// bytes (RenderRaw, no fields asked) has the content of the fully decoded
// one (Render) — uid, etag, the orphan annotation and relations included —
// for ordinary, orphaned and odd stored bodies.
func TestRenderRawMatchesRender(t *testing.T) {
	rels := []store.Relation{{Source: "component:default/a", Type: "dependsOn", Target: "component:default/b"}, {Source: "component:default/a", Type: "ownedBy", Target: "group:default/team-a"}}
	for _, c := range []struct {
		name   string
		body   string
		orphan bool
		rels   []store.Relation
	}{
		{"plain", `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"a","namespace":"default","tags":["go"],"annotations":{"x/y":"z"}},"spec":{"owner":"team-a","n":3,"f":1.5,"deep":{"list":[1,{"k":null}],"t":true}}}`, false, rels},
		{"no relations", `{"kind":"Component","metadata":{"name":"a"}}`, false, nil},
		{"escapes", `{"kind":"Component","metadata":{"name":"a","description":"<b>&amp;</b> \u00e9 \u2028 \"q\" \\"}}`, false, rels},
		{"orphan with annotations", `{"kind":"Component","metadata":{"name":"a","annotations":{"x/y":"z"}}}`, true, rels},
		{"orphan without annotations", `{"kind":"Component","metadata":{"name":"a"}}`, true, nil},
		{"orphan, annotations null", `{"kind":"Component","metadata":{"name":"a","annotations":null}}`, true, nil},
		{"orphan, annotations not an object", `{"kind":"Component","metadata":{"name":"a","annotations":"x"}}`, true, nil},
		{"spaced, escaped keys", "{ \"kind\" : \"Component\" ,\n \"metadata\":{ \"name\" : \"a\", \"a\\\"b\": [ 1 , 2 ], \"uid\" : \"stale\" } , \"spec\" : { } }", false, rels},
		{"no metadata", `{"kind":"Component","spec":{}}`, false, rels},
		{"metadata null", `{"kind":"Component","metadata":null}`, false, nil},
		{"relations with escapes", `{"kind":"Component","metadata":{"name":"a"}}`, false, []store.Relation{{Type: "odd\"type", Target: "component:default/<b>&\u00e9\\ \u2028"}}},
		{"stored relations replaced", `{"kind":"Component","metadata":{"name":"a","uid":"old","etag":"old"},"relations":[{"type":"stale","targetRef":"x:y/z"}]}`, false, rels},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := &store.StoredEntity{UID: "uid-1", Ref: "component:default/a", ETag: "etag-1", Orphan: c.orphan, Body: json.RawMessage(c.body), Relations: c.rels}
			m, err := Render(e)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := RenderRaw(e)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(raw) // as the response encodes it
			if err != nil {
				t.Fatal(err)
			}
			var w, g any
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(w, g) {
				t.Fatalf("content differs:\nrender    %s\nrenderRaw %s", want, got)
			}
			if err := noDuplicateKeys(got); err != nil {
				t.Fatalf("%v in %s", err, got)
			}
			// Appended after what an answer holds, and marshalled as a
			// RawEntity: the same bytes.
			appended, err := AppendRaw([]byte(`[{"x":1},`), e)
			if err != nil || string(appended) != `[{"x":1},`+string(raw) {
				t.Fatalf("AppendRaw after a prefix: %s, %v; want the prefix then %s", appended, err, raw)
			}
			marshalled, err := json.Marshal([]any{RawEntity{StoredEntity: e}})
			if err != nil || string(marshalled) != "["+string(got)+"]" {
				t.Fatalf("a RawEntity marshalled: %s, %v; want [%s]", marshalled, err, got)
			}
		})
	}
}

// TestRawEntitySize: Size, the room writeItems makes for an entity, holds
// the whole answer of an entity whose strings need no escape, metadata and
// relations included.
func TestRawEntitySize(t *testing.T) {
	e := &store.StoredEntity{UID: "uid-1", Ref: "component:default/a", ETag: "etag-1",
		Body:      json.RawMessage(`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"a","tags":["go"]},"spec":{"owner":"team-a"}}`),
		Relations: []store.Relation{{Type: "dependsOn", Target: "component:default/b"}, {Type: "ownedBy", Target: "group:default/team-a"}}}
	raw, err := RenderRaw(e)
	if err != nil {
		t.Fatal(err)
	}
	if size := (RawEntity{StoredEntity: e}).Size(); size < len(raw) {
		t.Errorf("Size %d, short of the answer's %d bytes: %s", size, len(raw), raw)
	}
}

// TestRenderRawRejectsCorruptBody: a stored body that is not a JSON object
// is an error naming the entity, not a broken response.
func TestRenderRawRejectsCorruptBody(t *testing.T) {
	e := &store.StoredEntity{Ref: "component:default/a", Body: json.RawMessage(`{"kind":`)}
	_, err := RenderRaw(e)
	if err == nil || !strings.Contains(err.Error(), "component:default/a") {
		t.Fatalf("got %v, want an error naming component:default/a", err)
	}
	// Appended into an answer: the error, and the answer as it was.
	out, err := AppendRaw([]byte(`[{"x":1},`), e)
	if err == nil || string(out) != `[{"x":1},` {
		t.Fatalf("AppendRaw of a corrupt body: %q, %v; want the answer untouched and an error", out, err)
	}
	// A body that passes its hash check but is no object fails while
	// spliced, after the splice began: the answer is cut back too.
	sum := sha256.Sum256([]byte(`[1]`))
	e = &store.StoredEntity{Ref: "component:default/a", Hash: hex.EncodeToString(sum[:16]), Body: json.RawMessage(`[1]`)}
	if out, err := AppendRaw([]byte(`[`), e); err == nil || string(out) != `[` {
		t.Fatalf("AppendRaw of a body that is no object: %q, %v; want the answer untouched and an error", out, err)
	}
	// Its metadata broken, under its own hash: the splice fails inside
	// metadata, after the top level began.
	for _, body := range []string{`{"kind":"Component","metadata":{"a"}}`, `{"kind":"Component","metadata":{"name":"a",}}`} {
		sum := sha256.Sum256([]byte(body))
		e = &store.StoredEntity{Ref: "component:default/a", Hash: hex.EncodeToString(sum[:16]), Body: json.RawMessage(body)}
		if out, err := AppendRaw([]byte(`{"items":[`), e); err == nil || string(out) != `{"items":[` || !strings.Contains(err.Error(), "component:default/a") {
			t.Fatalf("AppendRaw of %s: %q, %v; want the answer untouched and an error naming the entity", body, out, err)
		}
	}
}

// TestRenderRawTrustsItsOwnBodiesOnly: RenderRaw splices a stored body
// without validating it only when the hash stored beside it is the
// body's own (the bytes a refresh marshalled); a body with another hash,
// valid or not, is validated as before.
func TestRenderRawTrustsItsOwnBodiesOnly(t *testing.T) {
	hash := func(b string) string {
		sum := sha256.Sum256([]byte(b))
		return hex.EncodeToString(sum[:16])
	}
	valid := `{"kind":"Component","metadata":{"name":"a"}}`
	entity := func(body, h string) *store.StoredEntity {
		return &store.StoredEntity{UID: "u", Ref: "component:default/a", ETag: "e", Hash: h, Body: json.RawMessage(body)}
	}
	for _, h := range []string{hash(valid), hash("other"), ""} {
		raw, err := RenderRaw(entity(valid, h))
		if err != nil || !json.Valid(raw) || !strings.Contains(string(raw), `"name":"a"`) {
			t.Fatalf("hash %q: %s, %v", h, raw, err)
		}
	}
	corrupt := `{"kind":"Component","metadata":{"name":"a","x":tru}}`
	if raw, err := RenderRaw(entity(corrupt, hash(valid))); err == nil {
		t.Fatalf("a damaged body under another body's hash was spliced: %s", raw)
	}
	// The trade the fast path makes: bytes whose own hash is stored are
	// taken as the refresh wrote them. Were they validated, this would fail.
	raw, err := RenderRaw(entity(corrupt, hash(corrupt)))
	if err != nil || !strings.Contains(string(raw), `"x":tru`) {
		t.Fatalf("a body under its own hash was not spliced as stored: %s, %v", raw, err)
	}
}

// noDuplicateKeys is an error if an object in the JSON b names a key twice
// (a decoder would keep the last, hiding a stale value before it).
func noDuplicateKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		keys      map[string]bool
		expectKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				if top != nil && top.keys != nil {
					top.expectKey = true
				}
				stack = append(stack, &frame{keys: map[string]bool{}, expectKey: true})
			case '[':
				if top != nil && top.keys != nil {
					top.expectKey = true
				}
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
			}
		default:
			if top != nil && top.keys != nil {
				if top.expectKey {
					k := v.(string)
					if top.keys[k] {
						return fmt.Errorf("key %q twice", k)
					}
					top.keys[k] = true
					top.expectKey = false
				} else {
					top.expectKey = true
				}
			}
		}
	}
}

// TestRenderFieldsMatchesApplyFields: a projection decoding only the
// members its fields can name answers what projecting the fully rendered
// entity does, for fields at every depth, keys holding dots, missing
// paths, the added uid, etag and relations, and orphans.
func TestRenderFieldsMatchesApplyFields(t *testing.T) {
	body := `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"a","annotations":{"backstage.io/techdocs-ref":"dir:.","x":"y"},"tags":["go"]},"spec":{"owner":"team-a","deep":{"k":[1,2]}},"a.b":{"c":1},"a":{"b":{"c":2}}}`
	rels := []store.Relation{{Source: "component:default/a", Type: "ownedBy", Target: "group:default/team-a"}}
	for _, fields := range [][]string{
		{"kind"},
		{"kind", "metadata.name"},
		{"metadata"},
		{"metadata.uid", "metadata.etag"},
		{"metadata.annotations.backstage.io/techdocs-ref"},
		{"metadata.annotations"},
		{"relations"},
		{"spec.deep.k", "spec.owner"},
		{"a.b.c"},
		{"a.b"},
		{"nothing.here", "spec.none"},
		{" kind ", "metadata.name"},
	} {
		for _, orphan := range []bool{false, true} {
			e := &store.StoredEntity{UID: "uid-1", Ref: "component:default/a", ETag: "etag-1", Orphan: orphan, Body: json.RawMessage(body), Relations: rels}
			full, err := Render(e)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(catalog.ApplyFields(full, fields))
			m, err := RenderFields(e, fields)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(m)
			if string(got) != string(want) {
				t.Errorf("fields %q (orphan %v):\n got  %s\n want %s", fields, orphan, got, want)
			}
		}
	}
}

// BenchmarkRenderEntity: one entity as make bench's components are
// (tags, owner, system, dependencies, APIs, six relations) rendered whole
// and projected to two fields, by full decode and re-encode (before) and
// from the stored bytes (now).
func BenchmarkRenderEntity(b *testing.B) {
	body := []byte(`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"description":"Synthetic component svc-004242","labels":{"bench":"synthetic"},"name":"svc-004242","namespace":"default","tags":["go","kafka","rest"],"title":"Service 4242"},"spec":{"dependsOn":["component:default/svc-001234","component:default/svc-003999"],"lifecycle":"production","owner":"group:default/team-0042","providesApis":["api:default/api-000123"],"system":"system:default/system-00077","type":"service"}}`)
	e := &store.StoredEntity{UID: "0190c0de-0000-7000-8000-000000000000", Ref: "component:default/svc-004242", ETag: "4c2f0e8d9a", Body: body}
	for _, r := range []string{"dependsOn component:default/svc-001234", "dependsOn component:default/svc-003999", "dependencyOf component:default/svc-009001", "ownedBy group:default/team-0042", "partOf system:default/system-00077", "providesApi api:default/api-000123"} {
		typ, target, _ := strings.Cut(r, " ")
		e.Relations = append(e.Relations, store.Relation{Source: e.Ref, Type: typ, Target: target})
	}
	fields := []string{"kind", "metadata.name"}
	for name, fn := range map[string]func() ([]byte, error){
		"whole,decode": func() ([]byte, error) {
			m, err := Render(e)
			if err != nil {
				return nil, err
			}
			return json.Marshal(m)
		},
		"whole,stored-bytes": func() ([]byte, error) { return RenderRaw(e) },
		"fields,decode": func() ([]byte, error) {
			m, err := Render(e)
			if err != nil {
				return nil, err
			}
			return json.Marshal(catalog.ApplyFields(m, fields))
		},
		"fields,partial": func() ([]byte, error) {
			m, err := RenderFields(e, fields)
			if err != nil {
				return nil, err
			}
			return json.Marshal(m)
		},
	} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
