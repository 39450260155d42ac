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
	status, st, _, err := s.taskState(c)
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
		for _, e := range st.Log {
			if e.Seq <= after {
				continue
			}
			after = e.Seq
			typ := e.Type
			if typ == "completion" && status == "processing" {
				typ = "log"
			}
			body, _ := json.Marshal(gin.H{"id": e.Seq, "taskId": c.Param("id"), "type": typ, "createdAt": e.Time,
				"body": gin.H{"message": e.Text, "stepId": e.StepID}})
			fmt.Fprintf(c.Writer, "event: %s\ndata: %s\n\n", typ, body)
		}
		c.Writer.Flush()
		if status != "processing" || time.Now().After(deadline) {
			return
		}
		select {
		case <-c.Request.Context().Done():
			return
		case <-tick.C:
		}
		status, st, _, err = s.taskState(c)
		if err != nil {
			return
		}
	}
}
