package api

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
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
		if raw, ok := it.(json.RawMessage); ok {
			size += len(raw) + 1
		}
	}
	buf := itemsBuffer(size)
	out := (*buf)[:0]
	if body != nil {
		out = append(out, `{"items":`...)
	}
	out = append(out, '[')
	for i, it := range items {
		if i > 0 {
			out = append(out, ',')
		}
		raw, ok := it.(json.RawMessage)
		if !ok {
			var err error
			if raw, err = json.Marshal(it); err != nil {
				writeError(c, err)
				return
			}
		}
		out = append(out, raw...)
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
	if cap(out) <= maxItemsBuffer {
		*buf = out[:0]
		itemsBuffers.Put(buf)
	}
}

// itemsBuffers are writeItems' answer buffers, used again: an owner page
// of 50 is ~60 KB, which each request otherwise allocated and dropped (a
// sixth of its allocation). A buffer goes back once its answer is
// written (net/http copies what it keeps of it); one past
// maxItemsBuffer (a page of thousands) is left to the collector.
var itemsBuffers sync.Pool

const maxItemsBuffer = 1 << 20

// itemsBuffer is a buffer from itemsBuffers with room for size bytes, or
// a new one.
func itemsBuffer(size int) *[]byte {
	if b, ok := itemsBuffers.Get().(*[]byte); ok && cap(*b) >= size {
		return b
	}
	b := make([]byte, 0, size)
	return &b
}
