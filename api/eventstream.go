package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// maxStream bounds one event stream connection; clients reconnect with ?after=.
const maxStream = 30 * time.Minute

// taskEventStream serves a task's events as Server-Sent Events, as Backstage's
// eventstream does: one `log` event per log line, a final `completion`, and
// `?after=<id>` to resume. It polls the workflow's state query.
func (s *Server) taskEventStream(c *gin.Context) {
	after, err := afterParam(c)
	if err != nil {
		writeError(c, err)
		return
	}
	id := c.Param("id")
	t, err := s.loadVisibleTask(c, id)
	if err != nil {
		writeError(c, err)
		return
	}
	c.Header("Content-Type", "text/event-stream")
	c.Header("Cache-Control", "no-cache")
	c.Header("Connection", "keep-alive")
	c.Status(http.StatusOK)
	deadline := time.Now().Add(maxStream)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, e := range eventsJSON(t, after) {
			if e["type"] == "completion" && t.Status == "processing" {
				break // the run is closing: send it once its status is final
			}
			after = e["id"].(int)
			body, _ := json.Marshal(e)
			fmt.Fprintf(c.Writer, "event: %s\ndata: %s\n\n", e["type"], body)
		}
		c.Writer.Flush()
		if t.Status != "processing" || time.Now().After(deadline) {
			return
		}
		select {
		case <-c.Request.Context().Done():
			return
		case <-tick.C:
		}
		if t, err = s.loadTask(c, id); err != nil {
			return
		}
	}
}
