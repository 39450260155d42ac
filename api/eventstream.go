package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/riggerdev/rigger/internal/tasks"
)

// maxStream bounds one event stream connection; clients reconnect with ?after=.
const maxStream = 30 * time.Minute

// taskEventStream serves a task's events as Server-Sent Events, as Backstage's
// eventstream does: one `log` event per log line, a final `completion`, and
// `?after=<id>` to resume. Every stream of a running task is fed by one
// shared watch of that task (internal/tasks: a long poll of its history),
// not a poll per stream; a caller may hold tasks.MaxStreamsPerClient
// streams, the server tasks.MaxStreamsTotal, 429 beyond.
func (s *Server) taskEventStream(c *gin.Context) {
	after, err := afterParam(c)
	if err != nil {
		writeError(c, err)
		return
	}
	t, w, err := s.tasks.Follow(c.Request.Context(), identity(c), c.Param("id"))
	if tooManyStreams(c, err) {
		return
	}
	if err != nil {
		writeError(c, err)
		return
	}
	if w != nil {
		defer w.Close()
	}
	c.Header("Content-Type", "text/event-stream")
	c.Header("Cache-Control", "no-cache")
	c.Header("Connection", "keep-alive")
	c.Status(http.StatusOK)
	deadline := time.NewTimer(maxStream)
	defer deadline.Stop()
	var seen uint64
	for {
		for _, e := range eventsJSON(t, after) {
			if e["type"] == "completion" && t.Status == tasks.StatusProcessing {
				break // the run is closing: send it once its status is final
			}
			after = e["id"].(int)
			body, _ := json.Marshal(e)
			fmt.Fprintf(c.Writer, "event: %s\ndata: %s\n\n", e["type"], body)
		}
		c.Writer.Flush()
		if t.Status != tasks.StatusProcessing {
			return
		}
		watchEnded := false
		for {
			snap, seq, changed := w.Current()
			if snap != nil && seq != seen {
				t, seen = snap, seq
				break
			}
			if watchEnded {
				return // no final state: the client resumes with ?after=
			}
			select {
			case <-c.Request.Context().Done():
				return
			case <-deadline.C:
				return
			case <-changed:
			case <-w.Done():
				watchEnded = true
			}
		}
	}
}

// tooManyStreams answers 429 when err says the caller's (or the server's)
// cap of streams and waiting reads is reached.
func tooManyStreams(c *gin.Context, err error) bool {
	if !errors.Is(err, tasks.ErrTooManyStreams) {
		return false
	}
	c.Header("Retry-After", "5")
	writeStatus(c, http.StatusTooManyRequests, "TooManyRequestsError", err.Error())
	return true
}
