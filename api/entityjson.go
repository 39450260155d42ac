package api

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/riggerdev/rigger/internal/catalogsvc"
	"github.com/riggerdev/rigger/internal/store"
)

// writeItems answers body (a JSON object; nil: none) with items, rendered
// entities as renderAll makes them, as its "items" (body nil: the array
// alone): the stored bytes spliced in, not re-encoded. body must not hold
// "items".
func writeItems(c *gin.Context, body gin.H, items []any) {
	var rest []byte
	size := 16
	if body != nil {
		var err error
		if rest, err = json.Marshal(body); err != nil {
			writeError(c, err)
			return
		}
		size += len(rest)
	}
	for _, it := range items {
		switch it := it.(type) {
		case json.RawMessage:
			size += len(it) + 1
		case catalogsvc.RawEntity:
			size += it.Size() + 1
		}
	}
	buf := pooledBuffer(&itemsBuffers, size)
	out := (*buf)[:0]
	if body != nil {
		out = append(out, `{"items":`...)
	}
	out = append(out, '[')
	for i, it := range items {
		if i > 0 {
			out = append(out, ',')
		}
		var err error
		switch it := it.(type) {
		case json.RawMessage:
			out = append(out, it...)
		case catalogsvc.RawEntity:
			out, err = it.AppendJSON(out)
		default:
			var raw []byte
			if raw, err = json.Marshal(it); err == nil {
				out = append(out, raw...)
			}
		}
		if err != nil {
			// Nothing is written yet: the answer is the error alone, and
			// it read nothing (the audit weighs a read count).
			c.Writer.Header().Del("Link")
			c.Set(readCountKey, 0)
			writeError(c, err)
			return
		}
	}
	out = append(out, ']')
	switch {
	case body == nil:
	case len(rest) > 2:
		out = append(append(out, ','), rest[1:]...)
	default:
		out = append(out, '}')
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", out)
	putBuffer(&itemsBuffers, buf, out)
}

// writeEntity answers with one rendered entity, or the lookup's error.
func writeEntity(c *gin.Context, e *store.StoredEntity, err error) {
	if err != nil {
		writeError(c, err)
		return
	}
	buf := pooledBuffer(&entityBuffers, catalogsvc.RawEntity{StoredEntity: e}.Size())
	out, err := catalogsvc.AppendRaw((*buf)[:0], e)
	if err != nil {
		writeError(c, err)
		return
	}
	c.Set(readCountKey, 1)
	c.Data(http.StatusOK, "application/json; charset=utf-8", out)
	putBuffer(&entityBuffers, buf, out)
}

// putBuffer gives buf back to pool once out, what it grew into, is
// written.
func putBuffer(pool *sync.Pool, buf *[]byte, out []byte) {
	if cap(out) <= maxItemsBuffer {
		*buf = out[:0]
		pool.Put(buf)
	}
}

// itemsBuffers are writeItems' answer buffers, used again: an owner page
// of 50 is ~60 KB, which each request otherwise allocated and dropped (a
// sixth of its allocation). A buffer goes back once its answer is
// written (net/http copies what it keeps of it); one past
// maxItemsBuffer (a page of thousands) is left to the collector.
// entityBuffers are writeEntity's, kept apart: an entity's buffer (1-2
// KB) drawn for a page would be dropped for a new one.
var itemsBuffers, entityBuffers sync.Pool

const maxItemsBuffer = 1 << 20

// pooledBuffer is a buffer from pool with room for size bytes, or a new
// one.
func pooledBuffer(pool *sync.Pool, size int) *[]byte {
	if b, ok := pool.Get().(*[]byte); ok && cap(*b) >= size {
		return b
	}
	b := make([]byte, 0, size)
	return &b
}
