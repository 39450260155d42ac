package api

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/riggerdev/rigger/internal/catalogsvc"
	"github.com/riggerdev/rigger/internal/store"
)

// TestWriteItemsBuffersAreNotShared: writeItems reuses its answer buffers
// (itemsBuffers). Answers written one after another and at once, large
// then small, must each be exactly their own: no byte of another answer,
// none left from a longer one before.
func TestWriteItemsBuffersAreNotShared(t *testing.T) {
	gin.SetMode(gin.TestMode)
	answer := func(who, size int) (string, string) {
		items := make([]any, size)
		want := make([]string, size)
		for i := range items {
			v := fmt.Sprintf(`{"who":%d,"i":%d,"pad":%q}`, who, i, strings.Repeat("x", who%7*40))
			items[i], want[i] = json.RawMessage(v), v
		}
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		writeItems(c, gin.H{"totalItems": size}, items)
		return w.Body.String(), fmt.Sprintf(`{"items":[%s],"totalItems":%d}`, strings.Join(want, ","), size)
	}
	for _, size := range []int{500, 3, 0, 40, 1} {
		if got, want := answer(size, size); got != want {
			t.Fatalf("%d items: got %.200s…, want %.200s…", size, got, want)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				who := g*1000 + i
				if got, want := answer(who, (who*7)%60); got != want {
					errs <- fmt.Sprintf("answer %d: got %.200s…, want %.200s…", who, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestWriteItemsRendersRawEntities: a RawEntity is rendered into the
// answer's buffer as RenderRaw renders it, beside items of other types; a
// page with a stored body that cannot be rendered answers the error alone
// (no item of the page, no Link to a next one, no entity counted read).
func TestWriteItemsRendersRawEntities(t *testing.T) {
	gin.SetMode(gin.TestMode)
	good := &store.StoredEntity{UID: "u1", Ref: "component:default/a", ETag: "e1",
		Body:      json.RawMessage(`{"kind":"Component","metadata":{"name":"a"}}`),
		Relations: []store.Relation{{Type: "ownedBy", Target: "group:default/t"}}}
	raw, err := catalogsvc.RenderRaw(good)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	writeItems(c, gin.H{"totalItems": 3}, []any{catalogsvc.RawEntity{StoredEntity: good}, json.RawMessage(`{"b":1}`), map[string]any{"c": 2}})
	if want := `{"items":[` + string(raw) + `,{"b":1},{"c":2}],"totalItems":3}`; w.Code != 200 || w.Body.String() != want {
		t.Fatalf("got %d %s\nwant %s", w.Code, w.Body.String(), want)
	}

	bad := &store.StoredEntity{Ref: "component:default/broken", Body: json.RawMessage(`{"kind":`)}
	w = httptest.NewRecorder()
	c, _ = gin.CreateTestContext(w)
	c.Request = httptest.NewRequest("GET", "/api/catalog/entities", nil)
	c.Header("Link", `</api/catalog/entities?cursor=x>; rel="next"`)
	c.Set(readCountKey, 2)
	writeItems(c, nil, []any{catalogsvc.RawEntity{StoredEntity: good}, catalogsvc.RawEntity{StoredEntity: bad}})
	if w.Code < 500 || strings.Contains(w.Body.String(), `"name":"a"`) || !strings.Contains(w.Body.String(), "error") || w.Header().Get("Link") != "" {
		t.Fatalf("a page with a damaged body: %d %s, Link %q; want an error alone", w.Code, w.Body.String(), w.Header().Get("Link"))
	}
	if n, _ := c.Get(readCountKey); n != 0 {
		t.Errorf("a page that failed is audited as %v entities read, want 0", n)
	}
}
