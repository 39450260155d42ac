package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
)

// TestTaskWaitParam: GET /v2/tasks/:id?wait= takes a duration up to 30 s;
// anything else is a 400 that says what wait must be, before any task is
// read. (The long poll itself: internal/tasks TestGetWait.)
func TestTaskWaitParam(t *testing.T) {
	srv := New(Deps{Logger: discardLogger(), Auth: auth.Guest{}, Catalog: CatalogDeps{Store: testStore(t)},
		Scaffolder: ScaffolderDeps{Actions: contract.NewRegistry(nil)}})
	for _, v := range []string{"31s", "1m", "-1s", "10", "soon"} {
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, loopbackRequest("GET", "/api/scaffolder/v2/tasks/some-task?wait="+v, nil))
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "wait must be a duration from 0s to 30s") ||
			!strings.Contains(w.Body.String(), v) {
			t.Errorf("wait=%s: %d %s; want 400 saying what wait must be and what it got", v, w.Code, w.Body.String())
		}
	}
}
