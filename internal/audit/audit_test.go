package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"github.com/google/uuid"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/pgtest"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/postgres"
	"github.com/riggerdev/rigger/internal/store/sqlite"
	"github.com/riggerdev/rigger/internal/testtools"
)

var pg pgtest.Shared

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(pg.Main(m, "audit"))
}

// backend is one database the chain is tested on: open gives a new store
// on it (as another process would), raw a plain connection for tampering
// with the chain's database (on SQLite the audit file, sqlite.AuditPath).
type backend struct {
	name   string
	open   func(t testing.TB) store.Store
	raw    *sql.DB
	rebind func(string) string
}

func sqliteBackend(t testing.TB) backend {
	path := filepath.Join(t.TempDir(), "rigger.db")
	b := backend{name: "sqlite", rebind: func(q string) string { return q }}
	b.open = func(t testing.TB) store.Store {
		s, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	b.open(t) // migrate before the raw connection looks
	raw, err := sqlite.OpenRaw(sqlite.AuditPath(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	b.raw = raw
	return b
}

func postgresBackend(t testing.TB) backend {
	dsn := pg.DB(t, "audit")
	b := backend{name: "postgres", rebind: func(q string) string {
		n := 0
		var sb strings.Builder
		for _, c := range q {
			if c == '?' {
				n++
				fmt.Fprintf(&sb, "$%d", n)
				continue
			}
			sb.WriteRune(c)
		}
		return sb.String()
	}}
	b.open = func(t testing.TB) store.Store {
		s, err := postgres.Open(context.Background(), dsn, 4)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	b.open(t)
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	b.raw = raw
	return b
}

// onBoth runs fn on SQLite and on PostgreSQL.
func onBoth(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, sqliteBackend(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, postgresBackend(t)) })
}

func event(i int) Event {
	return Event{Actor: "user:default/alice", ActorKind: ActorUser, Action: "scaffolder.task.create",
		Target: fmt.Sprintf("task:%d", i), Decision: Allow, RequestID: fmt.Sprintf("req-%d", i),
		SourceIP: "127.0.0.1", UserAgent: "test", Details: map[string]string{"template": "template:default/x"}}
}

// appendN records n events through a Log on st and closes it (Close
// stores everything queued).
func appendN(t testing.TB, st store.AuditLog, out *bytes.Buffer, from, n int) {
	t.Helper()
	o := Options{Store: st, HeadEvery: 5}
	if out != nil {
		o.Out = out
	}
	l := New(o)
	for i := range n {
		l.Record(context.Background(), event(from+i))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func mustVerify(t *testing.T, st store.AuditLog, want int64) Result {
	t.Helper()
	res, err := Verify(context.Background(), st, nil)
	if err != nil {
		t.Fatalf("verify an untouched chain: %v", err)
	}
	if res.Events != want || res.HeadSeq != want {
		t.Fatalf("verified %d events up to seq %d, want %d", res.Events, res.HeadSeq, want)
	}
	return res
}

// wantBroken checks Verify fails naming seq, with a reason containing why.
func wantBroken(t *testing.T, st store.AuditLog, anchors Anchors, seq int64, why string) {
	t.Helper()
	_, err := Verify(context.Background(), st, anchors)
	var be *BrokenError
	if !errors.As(err, &be) {
		t.Fatalf("verify of a tampered chain: %v, want a BrokenError at seq %d", err, seq)
	}
	if be.Seq != seq || !strings.Contains(be.Reason, why) {
		t.Fatalf("verify names %v; want seq %d and %q", be, seq, why)
	}
	if !strings.Contains(be.Error(), fmt.Sprintf("seq %d", seq)) {
		t.Fatalf("message %q does not name seq %d", be.Error(), seq)
	}
}

func TestChainAppendAndVerify(t *testing.T) {
	onBoth(t, func(t *testing.T, b backend) {
		st := b.open(t)
		var out bytes.Buffer
		appendN(t, st, &out, 0, 12)
		mustVerify(t, st, 12)
		// The chain is what the package doc says: sha256(prev || body),
		// computed here independently of the store.
		recs, err := st.AuditRecords(context.Background(), store.AuditQuery{Limit: 3})
		if err != nil || len(recs) != 3 {
			t.Fatalf("records: %v, %v", recs, err)
		}
		prev := []byte{}
		for i, r := range recs {
			sum := sha256.Sum256(append(append([]byte{}, prev...), r.Body...))
			if got := hex.EncodeToString(sum[:]); got != r.Hash || r.Seq != int64(i+1) {
				t.Fatalf("record %d: seq %d hash %s, want seq %d hash %s", i, r.Seq, r.Hash, i+1, got)
			}
			prev = sum[:]
		}
		// Every event has a line; the head follows every 5th event, and the
		// last at Close.
		var kinds []string
		for _, ln := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			kind, _, _ := strings.Cut(strings.TrimPrefix(ln, `{"kind":"audit.`), `"`)
			seq, _, _ := strings.Cut(strings.SplitN(ln, `"seq":`, 2)[1], ",")
			kinds = append(kinds, kind+seq)
		}
		want := "event1 event2 event3 event4 event5 head5 event6 event7 event8 event9 event10 head10 event11 event12 head12"
		if strings.Join(kinds, " ") != want {
			t.Fatalf("lines: %s\nwant   %s", strings.Join(kinds, " "), want)
		}
		a, err := ReadAnchors(&out)
		if err != nil || len(a) != 12 {
			t.Fatalf("anchors: %d, %v", len(a), err)
		}
		if res, err := Verify(context.Background(), st, a); err != nil || res.Anchors != 12 {
			t.Fatalf("verify with the log: %+v, %v", res, err)
		}
	})
}

// TestEventIDsAscend: the ids Record gives are UUIDs of version 7 and,
// recorded from one goroutine, ascend with the chain's seq, so the unique
// index on id is appended to near its end (a random id put each event on
// a random page of it).
func TestEventIDsAscend(t *testing.T) {
	st := sqliteBackend(t).open(t)
	appendN(t, st, nil, 0, 300)
	recs, err := st.AuditRecords(context.Background(), store.AuditQuery{Limit: 300})
	if err != nil || len(recs) != 300 {
		t.Fatalf("records: %d, %v", len(recs), err)
	}
	prev := ""
	for _, r := range recs {
		id, err := uuid.Parse(r.ID)
		if err != nil || id.Version() != 7 {
			t.Fatalf("event %d: id %q is not a version 7 UUID (%v)", r.Seq, r.ID, err)
		}
		if r.ID <= prev {
			t.Fatalf("event %d: id %s does not follow %s", r.Seq, r.ID, prev)
		}
		prev = r.ID
	}
}

func TestTamperDetected(t *testing.T) {
	cases := []struct {
		name   string
		tamper string // SQL, ? = seq
		seq    int64  // seq the tamper targets
		broken int64  // seq Verify must name
		why    string
	}{
		{"edited body", `UPDATE audit_events SET body = REPLACE(body, 'alice', 'mallory') WHERE seq = ?`, 4, 4, "hash does not match"},
		{"edited filter column", `UPDATE audit_events SET actor = 'user:default/mallory' WHERE seq = ?`, 4, 4, "actor column"},
		{"deleted row", `DELETE FROM audit_events WHERE seq = ?`, 4, 4, "missing (deleted)"},
		{"deleted rows", `DELETE FROM audit_events WHERE seq >= ? AND seq <= 6`, 4, 4, "events 4 to 6 are missing"},
		{"deleted first row", `DELETE FROM audit_events WHERE seq = ?`, 1, 1, "missing (deleted)"},
		// Swapping two events' places: the chain breaks at the first.
		{"reordered", "", 3, 3, "hash does not match"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			onBoth(t, func(t *testing.T, b backend) {
				st := b.open(t)
				appendN(t, st, nil, 0, 8)
				mustVerify(t, st, 8)
				if c.name == "reordered" {
					swap(t, b, 3, 5)
				} else if _, err := b.raw.Exec(b.rebind(c.tamper), c.seq); err != nil {
					t.Fatal(err)
				}
				wantBroken(t, st, nil, c.broken, c.why)
			})
		})
	}
}

// swap exchanges the places (seq and hash) of two events, keeping their
// contents: what reordering rows looks like.
func swap(t *testing.T, b backend, x, y int64) {
	t.Helper()
	if _, err := b.raw.Exec(b.rebind(`UPDATE audit_events SET seq = -1 WHERE seq = ?`), x); err != nil {
		t.Fatal(err)
	}
	if _, err := b.raw.Exec(b.rebind(`UPDATE audit_events SET seq = ? WHERE seq = ?`), x, y); err != nil {
		t.Fatal(err)
	}
	if _, err := b.raw.Exec(b.rebind(`UPDATE audit_events SET seq = ? WHERE seq = -1`), y); err != nil {
		t.Fatal(err)
	}
}

// TestTruncatedTailFoundWithLog: deleting the newest events leaves a valid
// chain; the head lines of the JSON-lines log show it was longer.
func TestTruncatedTailFoundWithLog(t *testing.T) {
	onBoth(t, func(t *testing.T, b backend) {
		st := b.open(t)
		var out bytes.Buffer
		appendN(t, st, &out, 0, 10)
		if _, err := b.raw.Exec(`DELETE FROM audit_events WHERE seq > 7`); err != nil {
			t.Fatal(err)
		}
		mustVerify(t, st, 7) // without the log, nothing shows
		a, err := ReadAnchors(&out)
		if err != nil {
			t.Fatal(err)
		}
		wantBroken(t, st, a, 8, "deleted from the end")
	})
}

// TestAppendsAfterReopen: a second process continues the chain.
func TestAppendsAfterReopen(t *testing.T) {
	onBoth(t, func(t *testing.T, b backend) {
		appendN(t, b.open(t), nil, 0, 3)
		appendN(t, b.open(t), nil, 3, 4)
		mustVerify(t, b.open(t), 7)
	})
}

// TestConcurrentAppendsKeepOneChain: several stores (as several rigger
// server replicas) append at once to one PostgreSQL database; the lock
// makes them take turns, so the result is one chain with no fork or gap.
func TestConcurrentAppendsKeepOneChain(t *testing.T) {
	onBoth(t, func(t *testing.T, b backend) {
		const writers, each = 4, 60
		stores := make([]store.Store, writers)
		for i := range stores {
			stores[i] = b.open(t)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, writers)
		for w := range writers {
			wg.Go(func() {
				<-start
				for i := range each {
					// Single appends, so the replicas interleave as often as possible.
					e := event(w*each + i)
					e.ID, e.Time = fmt.Sprintf("w%d-%d", w, i), time.Now()
					r, err := e.record()
					if err == nil {
						_, err = stores[w].AppendAudit(context.Background(), []store.AuditRecord{r})
					}
					if err != nil {
						errs[w] = err
						return
					}
				}
			})
		}
		close(start)
		wg.Wait()
		for w, err := range errs {
			if err != nil {
				t.Fatalf("writer %d: %v", w, err)
			}
		}
		mustVerify(t, stores[0], writers*each)
	})
}

func TestEventsFilterAndPage(t *testing.T) {
	onBoth(t, func(t *testing.T, b backend) {
		st := b.open(t)
		base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		l := New(Options{Store: st})
		for i := range 30 {
			e := event(i)
			e.Time = base.Add(time.Duration(i) * time.Minute)
			if i%3 == 0 {
				e.Actor, e.Action = "service:ci", "catalog.location.create"
			}
			l.Record(context.Background(), e)
		}
		if err := l.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var got []int64
		q := Query{Actor: "service:ci", Limit: 4}
		for pages := 0; ; pages++ {
			p, err := l.Events(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Events {
				if e.Event.Actor != "service:ci" || e.Event.Action != "catalog.location.create" {
					t.Fatalf("filtered page holds %+v", e)
				}
				got = append(got, e.Seq)
			}
			if p.NextCursor == "" {
				break
			}
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			q.Cursor = p.NextCursor
		}
		if fmt.Sprint(got) != "[28 25 22 19 16 13 10 7 4 1]" {
			t.Fatalf("seqs by actor, newest first, over pages of 4: %v", got)
		}
		p, err := l.Events(context.Background(), Query{Since: base.Add(10 * time.Minute), Until: base.Add(13 * time.Minute), Target: "task:11"})
		if err != nil || len(p.Events) != 1 || p.Events[0].Event.Target != "task:11" {
			t.Fatalf("time window and target: %+v, %v", p, err)
		}
		if _, err := l.Events(context.Background(), Query{Cursor: "x"}); err == nil {
			t.Fatal("a bad cursor was accepted")
		}
	})
}

// TestRecordEdges: an event recorded with an ended context is still stored
// while the queue has room (a request's context ends when its client
// leaves); one recorded after Close is logged, not stored, and does not
// panic.
func TestRecordEdges(t *testing.T) {
	b := sqliteBackend(t)
	st := b.open(t)
	var logged bytes.Buffer
	l := New(Options{Store: st, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 50 {
		l.Record(ctx, event(i))
	}
	l.Close()
	l.Record(context.Background(), event(99))
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, st, 50)
	if !strings.Contains(logged.String(), "recorded after the audit log closed") || !strings.Contains(logged.String(), "task:99") {
		t.Fatalf("log after a late event: %s", logged.String())
	}
}

type lockedBuffer = testtools.SyncBuffer

// TestHeadWrittenOnInterval: fewer events than HeadEvery still get their
// chain head into the log once HeadInterval passes, without a Close.
func TestHeadWrittenOnInterval(t *testing.T) {
	st := sqliteBackend(t).open(t)
	var out lockedBuffer
	l := New(Options{Store: st, Out: &out, HeadEvery: 1000, HeadInterval: 20 * time.Millisecond})
	defer l.Close()
	for i := range 3 {
		l.Record(context.Background(), event(i))
	}
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), `"kind":"audit.head","seq":3,`) {
		if time.Now().After(deadline) {
			t.Fatalf("no head line for seq 3:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := strings.Count(out.String(), `"kind":"audit.head"`); n != 1 {
		t.Fatalf("%d head lines for one batch of events (a head is written only when events were appended since the last):\n%s", n, out.String())
	}
}

// TestAppendBatchSizes: AppendAudit writes a batch in multi-row INSERTs of
// a few sizes (store.auditInsertRows); whatever the batch's size, every
// record is stored once, in order, with the chain's seq and hash, and a
// batch whose rows break a constraint stores none of them.
func TestAppendBatchSizes(t *testing.T) {
	onBoth(t, func(t *testing.T, b backend) {
		st := b.open(t)
		ctx := context.Background()
		n := 0
		var returned []store.AuditRecord
		for _, size := range []int{1, 7, 8, 9, 32, 33, 41, 100, 256} {
			recs := make([]store.AuditRecord, size)
			for i := range recs {
				n++
				recs[i] = batchRecord(t, n, fmt.Sprintf("id-%04d", n))
			}
			got, err := st.AppendAudit(ctx, recs)
			if err != nil {
				t.Fatalf("append %d: %v", size, err)
			}
			if len(got) != size || got[0].Seq != int64(n-size+1) || got[size-1].Seq != int64(n) {
				t.Fatalf("append %d: %d records, seq %d to %d; want seq %d to %d", size, len(got), got[0].Seq, got[len(got)-1].Seq, n-size+1, n)
			}
			returned = append(returned, got...)
		}
		mustVerify(t, st, int64(n))
		stored, err := st.AuditRecords(ctx, store.AuditQuery{Limit: n + 1})
		if err != nil || len(stored) != n {
			t.Fatalf("records: %d, %v", len(stored), err)
		}
		for i, r := range stored {
			if want := batchRecord(t, i+1, fmt.Sprintf("id-%04d", i+1)); r.Seq != int64(i+1) || string(r.Body) != string(want.Body) || r.ID != want.ID || r.Target != want.Target {
				t.Fatalf("record %d: seq %d id %s target %s body %s", i, r.Seq, r.ID, r.Target, r.Body)
			}
			// What AppendAudit returned (the log's lines and heads are
			// written from it) is what it stored.
			if g := returned[i]; g.Seq != r.Seq || g.Hash != r.Hash || g.ID != r.ID {
				t.Fatalf("record %d: returned seq %d hash %s id %s, stored seq %d hash %s id %s", i, g.Seq, g.Hash, g.ID, r.Seq, r.Hash, r.ID)
			}
		}

		// A batch of 40 whose 35th id is taken: nothing of it is stored,
		// and the error names the rows' events.
		bad := make([]store.AuditRecord, 40)
		for i := range bad {
			bad[i] = batchRecord(t, n+1+i, fmt.Sprintf("new-%d", i))
		}
		bad[34].ID = "id-0001"
		_, err = st.AppendAudit(ctx, bad)
		if err == nil || !strings.Contains(err.Error(), "append audit events new-32 to new-39") {
			t.Fatalf("a batch with a taken id: %v", err)
		}
		mustVerify(t, st, int64(n))
	})
}

// batchRecord is the store record of the nth read event, with id.
func batchRecord(t *testing.T, n int, id string) store.AuditRecord {
	t.Helper()
	e := event(n)
	e.ID, e.Action, e.Target = id, "catalog.entity.read", fmt.Sprintf("/api/catalog/entities/by-name/component/default/c%d", n)
	e.Time = time.Date(2026, 12, 7, 12, 0, 0, n, time.UTC)
	r, err := e.record()
	if err != nil {
		t.Fatal(err)
	}
	return r
}
