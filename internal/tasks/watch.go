package tasks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc/codes"

	"github.com/riggerdev/rigger/internal/auth"
)

// Event stream caps: open streams per caller identity and in all.
// Waiting reads (GetWait, GET ?wait=) have their own, smaller cap per
// caller, so a caller's long polls cannot take its event streams' room
// (or the reverse); both count in MaxStreamsTotal.
const (
	MaxStreamsPerClient = 200
	MaxStreamsTotal     = 1000
	MaxWaitsPerClient   = 10
)

// ErrTooManyStreams: a caller, or the server, holds as many streams as it
// may.
var ErrTooManyStreams = errors.New("too many event streams")

// Follow reads a task for who, as Get, and for a running task also returns
// a Stream of the shared watch that follows it: every stream of a running
// task is fed by one long poll of its history, not a poll per stream. A
// non-nil Stream must be closed. An error wrapping ErrTooManyStreams means
// a cap is reached.
func (s *Service) Follow(ctx context.Context, who auth.Identity, id string) (*Task, *Stream, error) {
	return s.follow(ctx, who, id, false)
}

// follow is Follow for an event stream or, with wait, a waiting read
// (counted against MaxWaitsPerClient instead of MaxStreamsPerClient).
func (s *Service) follow(ctx context.Context, who auth.Identity, id string, wait bool) (*Task, *Stream, error) {
	t, err := s.Get(ctx, who, id)
	if err != nil || t.Status != StatusProcessing {
		return t, nil, err
	}
	w, err := s.streams.subscribe(s, id, who.Ref, t, wait)
	if err != nil {
		return nil, nil, err
	}
	return t, &Stream{w: w, hub: &s.streams, client: who.Ref, wait: wait}, nil
}

// Stream is one stream's handle on the shared watch of a running task.
type Stream struct {
	w      *watch
	hub    *streamHub
	client string
	wait   bool // a waiting read's (counted in streamHub.waits)
	once   sync.Once
}

// Current is the latest snapshot of the task (nil before the first), its
// sequence number, and a channel closed when a newer one is published.
func (st *Stream) Current() (*Task, uint64, <-chan struct{}) {
	st.w.mu.Lock()
	defer st.w.mu.Unlock()
	return st.w.snap, st.w.seq, st.w.changed
}

// Done is closed when the watch stops: the task is no longer running, or
// it could not be followed any more.
func (st *Stream) Done() <-chan struct{} { return st.w.done }

// Close ends the stream; the last stream of a task stops its watch.
func (st *Stream) Close() { st.once.Do(func() { st.hub.unsubscribe(st.w, st.client, st.wait) }) }

// streamHub holds the shared watches of running tasks and counts streams.
type streamHub struct {
	mu        sync.Mutex
	watches   map[string]*watch
	perClient map[string]int
	// waits counts waiting reads per caller, apart from its streams.
	waits map[string]int
	total int
	// maxPerClient, maxWaits and maxTotal are the caps
	// (MaxStreamsPerClient, MaxWaitsPerClient, MaxStreamsTotal).
	maxPerClient, maxWaits, maxTotal int
}

// watch follows one running task for every stream of it: one long poll of
// its history; each new event batch reloads the task's state once and
// wakes the streams.
type watch struct {
	id     string
	cancel context.CancelFunc
	subs   int
	done   chan struct{} // closed when the watch stops

	mu      sync.Mutex
	snap    *Task
	seq     uint64
	changed chan struct{} // closed and replaced on each new snapshot
}

func (w *watch) publish(t *Task) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.snap, w.seq = t, w.seq+1
	close(w.changed)
	w.changed = make(chan struct{})
}

// subscribe counts a stream of task id for client and returns the task's
// watch, starting it from seen (the task as the caller just read it) if it
// is the first. A waiting read (wait) counts against the caller's cap of
// waiting reads, a stream against its cap of streams.
func (h *streamHub) subscribe(s *Service, id, client string, seen *Task, wait bool) (*watch, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	count := h.perClient
	if wait {
		count = h.waits
		if count[client] >= h.maxWaits {
			return nil, fmt.Errorf("%w: %s holds %d waiting reads (GET ?wait=, at most %d at once); wait for one to return", ErrTooManyStreams, client, count[client], h.maxWaits)
		}
	} else if count[client] >= h.maxPerClient {
		return nil, fmt.Errorf("%w open for %s (at most %d); close some or poll /events", ErrTooManyStreams, client, h.maxPerClient)
	}
	if h.total >= h.maxTotal {
		return nil, fmt.Errorf("%w open on this server (at most %d); try again shortly", ErrTooManyStreams, h.maxTotal)
	}
	count[client]++
	h.total++
	w := h.watches[id]
	if w == nil {
		ctx, cancel := context.WithCancel(context.Background())
		w = &watch{id: id, cancel: cancel, done: make(chan struct{}), changed: make(chan struct{})}
		h.watches[id] = w
		go s.runWatch(ctx, w, seen)
	}
	w.subs++
	return w, nil
}

func (h *streamHub) unsubscribe(w *watch, client string, wait bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.total--
	count := h.perClient
	if wait {
		count = h.waits
	}
	if count[client]--; count[client] <= 0 {
		delete(count, client)
	}
	if w.subs--; w.subs == 0 {
		w.cancel()
		if h.watches[w.id] == w {
			delete(h.watches, w.id)
		}
	}
}

// runWatch loads the task whenever its history grows past what was last
// loaded (a long poll of its history with WaitNewEvent) until it is no
// longer running or no stream is left. It starts from seen, read just
// before, when it has one. The event that ends the run comes with the
// run's final state: the watch publishes that, without another read.
func (s *Service) runWatch(ctx context.Context, w *watch, seen *Task) {
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
	closing := make(chan *historypb.HistoryEvent, 1)
	ended := make(chan struct{})
	var loaded atomic.Int64 // the newest event the last load saw
	go func() {
		defer close(ended)
		s.followHistory(ctx, w.id, &loaded, grew, closing)
	}()
	readerDone := false
	// closed takes the run's last event: the task as it says, when it
	// carries the final state (else the next load reads it).
	closed := func(ev *historypb.HistoryEvent) {
		if t, ok := s.closedTask(w.id, ev); ok {
			seen = t
		}
	}
	for {
		t, err := seen, error(nil)
		if seen == nil || seen.event == 0 {
			t, err = s.load(ctx, w.id)
		}
		seen = nil
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			loaded.Store(t.event)
			w.publish(t)
			if t.Status != StatusProcessing {
				return
			}
		} else {
			s.d.Logger.Warn("event stream: read task", "task", w.id, "error", err)
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
		case ev := <-closing:
			closed(ev)
		case <-ended:
			readerDone = true
			select {
			case ev := <-closing: // sent just before the reader ended
				closed(ev)
			default:
			}
		}
	}
}

// followHistory long-polls the history of task id's latest run, a page at
// a time, and says on grew when it holds events past loaded, or on closing
// (then returns) when a page ends with the event that ends the run. It
// returns when the history is complete, ctx ends, or a read fails for
// good: a transient failure (the frontend restarting, a call's own
// deadline) is tried again from the same page, as the SDK's history
// iterator does.
func (s *Service) followHistory(ctx context.Context, id string, loaded *atomic.Int64, grew chan<- struct{}, closing chan<- *historypb.HistoryEvent) {
	var token []byte
	backoff := historyRetryFirst
	for {
		cctx, cancel := context.WithTimeout(ctx, historyPollTimeout)
		resp, err := s.d.Temporal.WorkflowService().GetWorkflowExecutionHistory(cctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
			Namespace: s.d.Namespace, Execution: &commonpb.WorkflowExecution{WorkflowId: id},
			WaitNewEvent: true, NextPageToken: token, HistoryEventFilterType: enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT,
			SkipArchival: true,
		})
		cancel()
		if err != nil {
			if ctx.Err() != nil || !transientHistoryError(err) || backoff > historyRetryLast {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff *= 2
			continue
		}
		backoff = historyRetryFirst
		evs := resp.GetHistory().GetEvents()
		switch {
		case len(evs) > 0:
			last := evs[len(evs)-1]
			if _, _, _, ends := closeOf(last); ends {
				closing <- last
				return
			}
			if last.GetEventId() > loaded.Load() {
				signal(grew)
			}
		case len(resp.GetRawHistory()) > 0:
			signal(grew) // a server that sends history raw: a load reads it
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			return
		}
	}
}

// A history long poll ends at the server after ~20 s with an empty page;
// historyPollTimeout only bounds a call the server never answers. A
// transient failure is tried again after historyRetryFirst, doubling, up
// to historyRetryLast (~6 s in all).
const (
	historyPollTimeout = 70 * time.Second
	historyRetryFirst  = 100 * time.Millisecond
	historyRetryLast   = 3200 * time.Millisecond
)

// transientHistoryError: a history read that may succeed when tried
// again.
func transientHistoryError(err error) bool {
	switch serviceerror.ToStatus(err).Code() {
	case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded, codes.Aborted, codes.Internal:
		return true
	}
	return false
}

// signal sends on ch unless a signal is already waiting there.
func signal(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// MaxWait bounds a long poll (GetWait).
const MaxWait = 30 * time.Second

// GetWait reads a task for who, as Get, and for a running task waits up to
// wait for it to change: it returns as soon as the task's status or one of
// its steps' statuses differs from what it was when the call began (the
// task ended, a step started, finished or began to wait), or at the bound
// with the task as it then is. It rides the shared watch of the task (as
// Follow), so a waiting call counts against the caller's stream cap: an
// error wrapping ErrTooManyStreams means the cap is reached. A caller who
// may not read the task gets Get's answer.
func (s *Service) GetWait(ctx context.Context, who auth.Identity, id string, wait time.Duration) (*Task, error) {
	if wait <= 0 {
		return s.Get(ctx, who, id)
	}
	t, st, err := s.follow(ctx, who, id, true)
	if err != nil || st == nil {
		return t, err
	}
	defer st.Close()
	bound := time.NewTimer(min(wait, MaxWait))
	defer bound.Stop()
	was := progress(t)
	latest := t
	for {
		snap, _, changed := st.Current()
		if snap != nil {
			latest = snap
			if progress(snap) != was {
				return snap, nil
			}
		}
		select {
		case <-changed:
		case <-st.Done():
			// The watch ended: the task did (its last snapshot says so), or
			// following it failed (read it once more).
			if snap, _, _ := st.Current(); snap != nil && snap.Status != StatusProcessing {
				return snap, nil
			}
			return s.Get(ctx, who, id)
		case <-bound.C:
			return latest, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// progress sums up what a long poll waits to see change: the task's
// status and each step's.
func progress(t *Task) string {
	p := t.Status
	if t.State != nil {
		for _, step := range t.State.Steps {
			p += "\x00" + step.ID + "=" + step.Status
		}
	}
	return p
}
