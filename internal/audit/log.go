package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// Options configure a Log.
type Options struct {
	// Store holds the hash chain. Required.
	Store store.AuditLog
	// Out receives one JSON line per event and the chain head lines; nil
	// writes none (audit.sink: database).
	Out io.Writer
	// Logger reports failures to store or write events.
	Logger *slog.Logger
	// HeadEvery and HeadInterval: the chain head is written to Out after
	// this many events, and at this interval when events were appended
	// since the last head line [100, 1m]. Also at Close.
	HeadEvery    int
	HeadInterval time.Duration
	// Queue is how many events may wait to be stored [4096]; Record blocks
	// (until its context ends) when it is full.
	Queue int
	// Batch is the most events appended in one transaction [256].
	Batch int
	// Linger is how long the writer waits after an event for more to
	// join its transaction [200ms]: a steady stream of requests (one read
	// event each) then costs one transaction per Linger, not one per
	// request. A Flush does not wait.
	Linger time.Duration
	// Now is the clock [time.Now]; the alert rules' windows follow the
	// events' times, which Record takes from it.
	Now func() time.Time
	// Alerts are the alert rules run on every event appended (none when
	// zero); see alerts.go.
	Alerts AlertOptions
}

// Line kinds of the JSON-lines output.
const (
	KindEvent = "audit.event"
	KindHead  = "audit.head"
)

// Line is one line of the JSON-lines output: an event as stored (Seq and
// Hash are 0 and "" if storing it failed), or the chain head.
type Line struct {
	Kind  string          `json:"kind"`
	Seq   int64           `json:"seq"`
	Hash  string          `json:"hash"`
	Time  *time.Time      `json:"time,omitempty"`
	Event json.RawMessage `json:"event,omitempty"`
}

// Log is the audit Recorder: Record queues an event; one goroutine appends
// queued events to the chain in batches (one transaction each) and writes
// their lines. Close stores everything queued before it returns.
type Log struct {
	o      Options
	mu     sync.RWMutex
	closed bool
	ch     chan item
	done   chan struct{}

	// Owned by the run goroutine.
	head      store.AuditRecord
	sinceHead int

	// alertMu guards the rules and their senders (SetAlerts swaps them).
	alertMu sync.Mutex
	alerts  *alerter  // nil: no rules
	senders []*sender // one per rule with a webhook
	// retiring are replaced senders still sending what they queued.
	retiring sync.WaitGroup
}

type item struct {
	ev    Event
	flush chan struct{} // set for a Flush marker instead of an event
}

// New starts the log's writer goroutine; stop it with Close.
func New(o Options) *Log {
	if o.HeadEvery <= 0 {
		o.HeadEvery = 100
	}
	if o.HeadInterval <= 0 {
		o.HeadInterval = time.Minute
	}
	if o.Queue <= 0 {
		o.Queue = 4096
	}
	if o.Batch <= 0 {
		o.Batch = 256
	}
	if o.Linger <= 0 {
		o.Linger = 200 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Log{o: o, ch: make(chan item, o.Queue), done: make(chan struct{})}
	l.startAlerts()
	go l.run()
	return l
}

// Record implements Recorder. It blocks only while the queue is full, and
// then at most until ctx ends (the event is then dropped, and logged).
func (l *Log) Record(ctx context.Context, e Event) {
	if e.ID == "" {
		e.ID = newEventID()
	}
	if e.Time.IsZero() {
		e.Time = l.o.Now()
	}
	e.Time = e.Time.UTC()
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.o.Logger.Error("audit event recorded after the audit log closed: not stored", "event", e)
		return
	}
	select {
	case l.ch <- item{ev: e}:
		return
	default:
	}
	select {
	case l.ch <- item{ev: e}:
	case <-ctx.Done():
		l.o.Logger.Error("audit queue full: event dropped", "event", e, "error", context.Cause(ctx))
	}
}

// Flush waits until every event recorded before it is stored and written.
func (l *Log) Flush(ctx context.Context) error {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return nil
	}
	done := make(chan struct{})
	select {
	case l.ch <- item{flush: done}:
	case <-ctx.Done():
		l.mu.RUnlock()
		return context.Cause(ctx)
	}
	l.mu.RUnlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Close stores and writes every queued event, writes the chain head, and
// stops the writer; queued alert webhooks then get at most one webhook
// timeout to go out. Later Records are logged as errors, not stored.
func (l *Log) Close() error {
	l.mu.Lock()
	first := !l.closed
	if first {
		l.closed = true
		close(l.ch)
	}
	l.mu.Unlock()
	<-l.done
	if first {
		l.alertMu.Lock()
		senders := l.senders
		l.alertMu.Unlock()
		for _, s := range senders {
			s.stop()
		}
		l.retiring.Wait()
	}
	return nil
}

func (l *Log) run() {
	defer close(l.done)
	tick := time.NewTicker(l.o.HeadInterval)
	defer tick.Stop()
	batch := make([]Event, 0, l.o.Batch)
	var flushes []chan struct{}
	for {
		var it item
		var ok bool
		select {
		case it, ok = <-l.ch:
		case <-tick.C:
			if l.sinceHead > 0 {
				l.writeHead()
			}
			continue
		}
		if !ok {
			if l.sinceHead > 0 {
				l.writeHead()
			}
			return
		}
		batch, flushes = batch[:0], flushes[:0]
		closed := false
		linger := time.NewTimer(l.o.Linger)
	gather:
		for {
			if it.flush != nil {
				flushes = append(flushes, it.flush)
			} else {
				batch = append(batch, it.ev)
			}
			if len(batch) == cap(batch) || len(flushes) > 0 {
				break
			}
			select {
			case it, ok = <-l.ch:
				if !ok {
					closed = true
					break gather
				}
			case <-linger.C:
				break gather
			}
		}
		linger.Stop()
		l.store(batch)
		for _, f := range flushes {
			close(f)
		}
		if closed {
			if l.sinceHead > 0 {
				l.writeHead()
			}
			return
		}
	}
}

// newEventID is a UUID of version 7: time-ordered, so the chain's unique
// index on id grows at its end, as its other indexes do, instead of
// taking each event on a random page.
func newEventID() string { return uuid.Must(uuid.NewV7()).String() }

// store appends batch to the chain and writes its lines, then runs the
// alert rules over it and appends (and sends) the alerts they raise.
func (l *Log) store(batch []Event) {
	l.append(batch)
	// The rules of this moment, held while they count and until their
	// alerts are queued: a SetAlerts meanwhile waits.
	l.alertMu.Lock()
	defer l.alertMu.Unlock()
	if l.alerts == nil {
		return
	}
	var raised []alert
	for _, e := range batch {
		raised = l.alerts.evaluate(e, raised)
	}
	if len(raised) == 0 {
		return
	}
	evs := make([]Event, len(raised))
	for i := range raised {
		raised[i].ev.ID = newEventID()
		evs[i] = raised[i].ev
	}
	stored := map[string]store.AuditRecord{}
	for _, r := range l.append(evs) {
		stored[r.ID] = r
	}
	for _, a := range raised {
		r, ok := stored[a.ev.ID]
		if a.hook == nil || !ok {
			continue
		}
		b, err := json.Marshal(Line{Kind: KindAlert, Seq: r.Seq, Hash: r.Hash, Event: r.Body})
		if err != nil {
			l.o.Logger.Error("audit alert not sent to its webhook", "rule", a.ev.Target, "error", err)
			continue
		}
		a.hook.enqueue(b)
	}
}

// append appends batch to the chain (retrying once) and writes its lines.
// It returns the records written (Seq 0 when storing failed).
func (l *Log) append(batch []Event) []store.AuditRecord {
	if len(batch) == 0 {
		return nil
	}
	recs := make([]store.AuditRecord, 0, len(batch))
	for _, e := range batch {
		r, err := e.record()
		if err != nil {
			l.o.Logger.Error("audit event not stored", "event", e, "error", err)
			continue
		}
		recs = append(recs, r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stored, err := l.o.Store.AppendAudit(ctx, recs)
	if err != nil {
		stored, err = l.o.Store.AppendAudit(ctx, recs)
	}
	if err != nil {
		// The lines still go out, without a place in the chain.
		l.o.Logger.Error("audit events not stored in the database", "count", len(recs), "error", err)
		stored = recs
	}
	for _, r := range stored {
		l.writeLine(Line{Kind: KindEvent, Seq: r.Seq, Hash: r.Hash, Event: r.Body})
		if err != nil {
			continue
		}
		l.head = r
		if l.sinceHead++; l.sinceHead >= l.o.HeadEvery {
			l.writeHead()
		}
	}
	return stored
}

func (l *Log) writeHead() {
	now := l.o.Now().UTC()
	l.writeLine(Line{Kind: KindHead, Seq: l.head.Seq, Hash: l.head.Hash, Time: &now})
	l.sinceHead = 0
}

func (l *Log) writeLine(ln Line) {
	if l.o.Out == nil {
		return
	}
	b, err := json.Marshal(ln)
	if err == nil {
		_, err = l.o.Out.Write(append(b, '\n'))
	}
	if err != nil {
		l.o.Logger.Error("write audit log line", "seq", ln.Seq, "error", err)
	}
}

// Query selects stored events, newest first. Empty fields do not filter.
type Query struct {
	Actor, Action, Target string
	Since, Until          time.Time
	// Cursor continues a listing (Page.NextCursor).
	Cursor string
	// Limit is the page size [100, at most 1000].
	Limit int
}

// StoredEvent is an event with its place in the chain.
type StoredEvent struct {
	Seq   int64  `json:"seq"`
	Hash  string `json:"hash"`
	Event Event  `json:"event"`
}

// Page is one page of events; NextCursor is "" on the last.
type Page struct {
	Events     []StoredEvent
	NextCursor string
}

// MaxLimit is the largest page Events returns.
const MaxLimit = 1000

// Events lists stored events, newest first.
func (l *Log) Events(ctx context.Context, q Query) (Page, error) {
	return Events(ctx, l.o.Store, q)
}

// Events lists the events stored in st, newest first.
func Events(ctx context.Context, st store.AuditLog, q Query) (Page, error) {
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = 100
	case limit > MaxLimit:
		return Page{}, errs.Invalid("limit %d is too large: at most %d", limit, MaxLimit)
	}
	sq := store.AuditQuery{Actor: q.Actor, Action: q.Action, Target: q.Target, Since: q.Since, Until: q.Until, Desc: true, Limit: limit + 1}
	if q.Cursor != "" {
		seq, err := strconv.ParseInt(q.Cursor, 10, 64)
		if err != nil || seq <= 0 {
			return Page{}, errs.Invalid("cursor %q is not one this server returned", q.Cursor)
		}
		sq.BeforeSeq = seq
	}
	recs, err := st.AuditRecords(ctx, sq)
	if err != nil {
		return Page{}, err
	}
	var p Page
	if len(recs) > limit {
		recs = recs[:limit]
		p.NextCursor = strconv.FormatInt(recs[limit-1].Seq, 10)
	}
	p.Events = make([]StoredEvent, 0, len(recs))
	for _, r := range recs {
		var e Event
		if err := json.Unmarshal(r.Body, &e); err != nil {
			return Page{}, fmt.Errorf("audit event seq %d: %w", r.Seq, err)
		}
		p.Events = append(p.Events, StoredEvent{Seq: r.Seq, Hash: r.Hash, Event: e})
	}
	return p, nil
}

var _ Recorder = (*Log)(nil)

// errBroken marks a broken chain (see BrokenError).
var errBroken = errors.New("audit chain broken")
