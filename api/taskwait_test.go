package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/tasks"
	"github.com/riggerdev/rigger/workflows"
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

// TestCompletionEventDatedAtTheEnd: a finished task's completion event is
// dated when its run ended (the close event), not by the workflow clock,
// which stood at its workflow task's start while the steps ran; the other
// events keep the log's times, and a running task's events are as logged.
func TestCompletionEventDatedAtTheEnd(t *testing.T) {
	start := time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC)
	end := start.Add(9 * time.Millisecond)
	log := []workflows.LogEvent{{Seq: 1, Time: start, StepID: "a", Type: "log", Text: "Beginning step a"},
		{Seq: 2, Time: start, Type: "completion", Text: "Run completed successfully"}}
	done := &tasks.Task{ID: "t", Status: tasks.StatusCompleted, Ended: end, State: &workflows.ScaffoldState{Log: log}}
	evs := eventsJSON(done, 0)
	if len(evs) != 2 || evs[0]["createdAt"] != start || evs[1]["createdAt"] != end {
		t.Fatalf("events of a finished task: %v; want the log line at %s and the completion at the end, %s", evs, start, end)
	}
	running := &tasks.Task{ID: "t", Status: tasks.StatusProcessing, State: &workflows.ScaffoldState{Log: log}}
	if evs := eventsJSON(running, 0); evs[1]["createdAt"] != start {
		t.Fatalf("a running task's events: %v; want them as logged", evs)
	}
}
