package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	enumspb "go.temporal.io/api/enums/v1"
)

// maxStream bounds one event stream connection; clients reconnect with ?after=.
const maxStream = 30 * time.Minute

// Event stream caps: open streams per caller identity and in all; a stream
// over either is answered 429.
const (
	maxStreamsPerClient = 200
	maxStreamsTotal     = 1000
)

// taskEventStream serves a task's events as Server-Sent Events, as Backstage's
// eventstream does: one `log` event per log line, a final `completion`, and
// `?after=<id>` to resume. Every stream of a running task is fed by one
// shared watch of that task (a long poll of its history), not a poll per
// stream.
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
	client := identity(c).Ref
	var w *taskWatch
	if t.Status == "processing" {
		if w, err = s.streams.subscribe(s, id, client); err != nil {
			c.Header("Retry-After", "5")
			writeStatus(c, http.StatusTooManyRequests, "TooManyRequestsError", err.Error())
			return
		}
		defer s.streams.unsubscribe(w, client)
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
			if e["type"] == "completion" && t.Status == "processing" {
				break // the run is closing: send it once its status is final
			}
			after = e["id"].(int)
			body, _ := json.Marshal(e)
			fmt.Fprintf(c.Writer, "event: %s\ndata: %s\n\n", e["type"], body)
		}
		c.Writer.Flush()
		if t.Status != "processing" {
			return
		}
		watchEnded := false
		for {
			snap, seq, changed := w.current()
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
			case <-w.done:
				watchEnded = true
			}
		}
	}
}

// streamHub holds the shared watches of running tasks and counts streams.
type streamHub struct {
	mu        sync.Mutex
	watches   map[string]*taskWatch
	perClient map[string]int
	total     int
	// maxPerClient and maxTotal are the caps (maxStreamsPerClient,
	// maxStreamsTotal; tests lower them).
	maxPerClient, maxTotal int
}

// taskWatch follows one running task for every stream of it: one long poll
// of its history; each new event batch reloads the task's state once and
// wakes the streams.
type taskWatch struct {
	id     string
	cancel context.CancelFunc
	subs   int
	done   chan struct{} // closed when the watch stops

	mu      sync.Mutex
	snap    *task
	seq     uint64
	changed chan struct{} // closed and replaced on each new snapshot
}

func (w *taskWatch) current() (*task, uint64, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.snap, w.seq, w.changed
}

func (w *taskWatch) publish(t *task) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.snap, w.seq = t, w.seq+1
	close(w.changed)
	w.changed = make(chan struct{})
}

// subscribe counts a stream of task id for client and returns the task's
// watch, starting it if it is the first.
func (h *streamHub) subscribe(s *Server, id, client string) (*taskWatch, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.perClient[client] >= h.maxPerClient {
		return nil, fmt.Errorf("too many event streams open for %s (at most %d); close some or poll /events", client, h.maxPerClient)
	}
	if h.total >= h.maxTotal {
		return nil, fmt.Errorf("too many event streams open on this server (at most %d); try again shortly", h.maxTotal)
	}
	h.perClient[client]++
	h.total++
	w := h.watches[id]
	if w == nil {
		ctx, cancel := context.WithCancel(context.Background())
		w = &taskWatch{id: id, cancel: cancel, done: make(chan struct{}), changed: make(chan struct{})}
		h.watches[id] = w
		go s.runWatch(ctx, w)
	}
	w.subs++
	return w, nil
}

func (h *streamHub) unsubscribe(w *taskWatch, client string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.total--
	if h.perClient[client]--; h.perClient[client] <= 0 {
		delete(h.perClient, client)
	}
	if w.subs--; w.subs == 0 {
		w.cancel()
		if h.watches[w.id] == w {
			delete(h.watches, w.id)
		}
	}
}

// runWatch loads the task whenever its history grows (a long poll with
// WaitNewEvent, through the SDK's history iterator) until it is no longer
// running or no stream is left.
func (s *Server) runWatch(ctx context.Context, w *taskWatch) {
	defer func() {
		s.streams.mu.Lock()
		if s.streams.watches[w.id] == w {
			delete(s.streams.watches, w.id)
		}
		s.streams.mu.Unlock()
		w.cancel()
		close(w.done)
	}()
	grew := make(chan struct{}, 1)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		it := s.deps.Temporal.GetWorkflowHistory(ctx, w.id, "", true, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			if _, err := it.Next(); err != nil {
				return
			}
			select {
			case grew <- struct{}{}:
			default:
			}
		}
	}()
	readerDone := false
	for {
		t, err := s.loadTaskCtx(ctx, w.id)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			w.publish(t)
			if t.Status != "processing" {
				return
			}
		} else {
			s.deps.Logger.Warn("event stream: read task", "task", w.id, "error", err)
		}
		if readerDone || err != nil {
			// The long poll ended (or a read failed) while the task still
			// runs: fall back to a slow poll until the streams end.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-grew:
		case <-ended:
			readerDone = true
		}
	}
}
