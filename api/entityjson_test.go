package api

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
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
