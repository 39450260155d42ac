package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/store"
)

// dataVersion reads PRAGMA data_version on conn: it changes when another
// connection commits a change to the database file (what makes a SQLite
// reader drop its page cache and memory map).
func dataVersion(t *testing.T, conn *sql.Conn) int64 {
	t.Helper()
	var v int64
	if err := conn.QueryRowContext(context.Background(), `PRAGMA data_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// auditRecords are n chained records with seq from..from+n-1 after prev.
func auditRecords(t *testing.T, from, n int, prev string) []store.AuditRecord {
	t.Helper()
	var out []store.AuditRecord
	for i := range n {
		body := fmt.Sprintf(`{"action":"catalog.entity.read","n":%d}`, from+i)
		h, err := store.AuditChainHash(prev, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, store.AuditRecord{Seq: int64(from + i), ID: fmt.Sprintf("ev-%d", from+i), At: time.Unix(int64(from+i), 0),
			Actor: "user:default/alice", Action: "catalog.entity.read", Target: "entity-uid:x", Decision: "allow", Body: []byte(body), Hash: h})
		prev = h
	}
	return out
}

// TestAuditLeavesCatalogFileUnchanged: the audit chain has a file of its
// own, so appending events (one per read request) leaves the catalog's
// file as it was for its readers, while a catalog write changes it.
func TestAuditLeavesCatalogFileUnchanged(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rigger.db")
	s := openStore(t, path).(*store.SQL)
	raw, err := OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	before := dataVersion(t, conn)
	if _, err := s.AppendAudit(ctx, auditRecords(t, 1, 5, "")); err != nil {
		t.Fatal(err)
	}
	if after := dataVersion(t, conn); after != before {
		t.Errorf("an audit append changed the catalog's file (data_version %d -> %d)", before, after)
	}
	if recs, err := s.AuditRecords(ctx, store.AuditQuery{}); err != nil || len(recs) != 5 {
		t.Fatalf("audit records: %d, %v; want 5", len(recs), err)
	}
	if n := countAudit(t, AuditPath(path)); n != 5 {
		t.Fatalf("%s holds %d events; want 5", AuditPath(path), n)
	}
	// The check sees a change when there is one.
	if _, err := s.AddLocation(ctx, store.Location{Type: "file", Target: "/x.yaml"}); err != nil {
		t.Fatal(err)
	}
	if after := dataVersion(t, conn); after == before {
		t.Errorf("a catalog write left data_version at %d", after)
	}
}

// createdStore opens a store at a new path and closes it (the files
// made, the schema migrated), and returns the path.
func createdStore(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rigger.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	return path
}

// mustOpen opens a plain pool on the SQLite file path for the test.
func mustOpen(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// insertMainAudit writes recs into the main database's audit_events, as
// a rigger that kept the chain there did.
func insertMainAudit(t *testing.T, db *sql.DB, recs []store.AuditRecord) {
	t.Helper()
	for _, r := range recs {
		if _, err := db.Exec(`INSERT INTO audit_events (seq, id, at, actor, action, target, decision, body, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Seq, r.ID, store.AuditTime(r.At), r.Actor, r.Action, r.Target, r.Decision, string(r.Body), r.Hash); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAuditEventsMoveToTheirFile: events the main database holds (written
// before the chain had a file of its own) move on open, in order, and the
// chain goes on from them; an open after a crash between the copy and
// the delete finishes the move; a main-database event that conflicts
// with the audit file's stops the open with an error naming it and
// deletes nothing.
func TestAuditEventsMoveToTheirFile(t *testing.T) {
	ctx := context.Background()
	path := createdStore(t)
	recs := auditRecords(t, 1, 2500, "") // more than one batch of the move
	insertMainAudit(t, mustOpen(t, path), recs)

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.AuditRecords(ctx, store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) || got[0].Hash != recs[0].Hash || got[len(got)-1].Hash != recs[len(recs)-1].Hash || got[1234].Seq != 1235 {
		t.Fatalf("after the move: %d events; want the %d the main database held, in order", len(got), len(recs))
	}
	if left := countAudit(t, path); left != 0 {
		t.Fatalf("the main database still holds %d events", left)
	}
	next, err := s.AppendAudit(ctx, []store.AuditRecord{{ID: "after", At: time.Now(), Action: "x", Body: []byte(`{"after":1}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := store.AuditChainHash(recs[len(recs)-1].Hash, []byte(`{"after":1}`)); next[0].Seq != 2501 || next[0].Hash != want {
		t.Fatalf("the append after the move: seq %d hash %s; want 2501 chained to the moved events", next[0].Seq, next[0].Hash)
	}
	s.Close()

	// A crash after the copy committed, before the delete: the main
	// database holds copies; the next open deletes them.
	insertMainAudit(t, mustOpen(t, path), recs[:10])
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.AuditRecords(ctx, store.AuditQuery{}); err != nil || len(got) != 2501 {
		t.Fatalf("after the interrupted move: %d events (%v); want 2501", len(got), err)
	}
	if left := countAudit(t, path); left != 0 {
		t.Fatalf("the main database still holds %d events", left)
	}
	s.Close()

	// The main database holds copies of 1..1500 (a batch and more) and a
	// seq 1501 that is not the audit file's (an older rigger appended
	// it after the move).
	forked := slices.Clone(recs[:1501])
	forked[1500].Body, forked[1500].Hash = []byte(`{"forked":1}`), strings.Repeat("ab", 32)
	insertMainAudit(t, mustOpen(t, path), forked)
	if _, err := Open(ctx, path); err == nil || !strings.Contains(err.Error(), "audit event 1501 of the main database differs") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("open with a conflicting main-database event: %v", err)
	}
	if left := countAudit(t, path); left != 1501 {
		t.Fatalf("the main database holds %d events after the refused open; want its 1501", left)
	}
	if kept := countAudit(t, AuditPath(path)); kept != 2501 {
		t.Fatalf("the audit file holds %d events after the refused open; want 2501", kept)
	}
}

func TestAuditPath(t *testing.T) {
	for in, want := range map[string]string{
		"/data/rigger.db":     "/data/rigger-audit.db",
		"/data/catalog":       "/data/catalog-audit",
		"/d.v2/rigger.sqlite": "/d.v2/rigger-audit.sqlite",
	} {
		if got := AuditPath(in); got != want {
			t.Errorf("AuditPath(%q) = %q; want %q", in, got, want)
		}
	}
}

// countAudit counts the audit_events rows of the SQLite file path.
func countAudit(t *testing.T, path string) int {
	t.Helper()
	var n int
	if err := mustOpen(t, path).QueryRow(`SELECT COUNT(*) FROM audit_events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAuditMoveRefusesForks: main-database events that do not continue
// the audit file's chain — a new chain from seq 1 longer than the
// file's, or rows after its head that do not link to it — stop the open
// before anything is copied or deleted.
func TestAuditMoveRefusesForks(t *testing.T) {
	ctx := context.Background()
	for name, fork := range map[string]func(head []store.AuditRecord) []store.AuditRecord{
		"a new chain from seq 1": func([]store.AuditRecord) []store.AuditRecord {
			return auditRecords(t, 1, 300, strings.Repeat("cd", 32))
		},
		"rows after the head that do not link to it": func(head []store.AuditRecord) []store.AuditRecord {
			return auditRecords(t, len(head)+1, 20, strings.Repeat("ef", 32))
		},
		"a gap after the head": func(head []store.AuditRecord) []store.AuditRecord {
			return auditRecords(t, len(head)+2, 20, head[len(head)-1].Hash)
		},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rigger.db")
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			head, err := s.AppendAudit(ctx, auditRecords(t, 1, 100, ""))
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			insertMainAudit(t, mustOpen(t, path), fork(head))
			before := countAudit(t, path)
			if _, err := Open(ctx, path); err == nil || !strings.Contains(err.Error(), "nothing was changed") {
				t.Fatalf("open: %v; want a refusal", err)
			}
			if n := countAudit(t, AuditPath(path)); n != 100 {
				t.Errorf("the audit file holds %d events after the refused open; want its 100", n)
			}
			if n := countAudit(t, path); n != before {
				t.Errorf("the main database holds %d events after the refused open; want its %d", n, before)
			}
		})
	}
}

// TestAuditFileRemovedIsFound: an audit file removed (or replaced by an
// empty one) stops the open, naming what to do, instead of starting a
// new chain unnoticed; deleting the main database's audit_file row
// begins a new chain knowingly.
func TestAuditFileRemovedIsFound(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rigger.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendAudit(ctx, auditRecords(t, 1, 10, "")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(AuditPath(path) + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	for range 2 { // and again, once the open made an empty file
		if _, err := Open(ctx, path); err == nil || !strings.Contains(err.Error(), "removed, emptied or replaced") || !strings.Contains(err.Error(), "audit_file row") {
			t.Fatalf("open without the audit file: %v", err)
		}
	}
	if _, err := mustOpen(t, path).Exec(`DELETE FROM audit_file`); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("open after the audit_file row was deleted: %v", err)
	}
	defer s.Close()
	got, err := s.AppendAudit(ctx, auditRecords(t, 1, 1, ""))
	if err != nil || got[0].Seq != 1 {
		t.Fatalf("the new chain's first append: %+v, %v", got, err)
	}
}

// TestAuditMoveTogether: two stores opening an older data dir at once
// (rigger server and rigger worker) both open, and the events move once.
func TestAuditMoveTogether(t *testing.T) {
	ctx := context.Background()
	for round := range 3 {
		path := createdStore(t)
		for _, f := range []string{AuditPath(path), AuditPath(path) + "-wal", AuditPath(path) + "-shm"} {
			os.Remove(f)
		}
		main := mustOpen(t, path)
		if _, err := main.Exec(`DELETE FROM audit_file`); err != nil {
			t.Fatal(err)
		}
		insertMainAudit(t, main, auditRecords(t, 1, 1500, ""))
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				s, err := Open(ctx, path)
				if err == nil {
					s.Close()
				}
				errs <- err
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: an open beside another: %v", round, err)
			}
		}
		if a, m := countAudit(t, AuditPath(path)), countAudit(t, path); a != 1500 || m != 0 {
			t.Fatalf("round %d: audit file %d events, main database %d; want 1500 and 0", round, a, m)
		}
	}
}

// TestAuditFileUnwritableStopsOpen: an audit file that cannot be written
// stops the open (else each event appended later would be lost while
// the catalog works). chattr +i makes it immutable even for root.
func TestAuditFileUnwritableStopsOpen(t *testing.T) {
	ctx := context.Background()
	path := createdStore(t)
	if out, err := exec.Command("chattr", "+i", AuditPath(path)).CombinedOutput(); err != nil {
		t.Skipf("LOUD SKIP: chattr +i (needs root and a file system with attributes): %v %s", err, out)
	}
	defer exec.Command("chattr", "-i", AuditPath(path)).Run()
	if s, err := Open(ctx, path); err == nil {
		s.Close()
		t.Fatal("open with an immutable audit file succeeded")
	} else if !strings.Contains(err.Error(), "audit") {
		t.Fatalf("open with an immutable audit file: %v; want it to name the audit database", err)
	}
}

// TestFilesArePrivate: the files Open makes are 0600 whatever the umask.
func TestFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "rigger.db")
	openStore(t, path)
	for _, f := range []string{path, AuditPath(path), AuditPath(path) + "-wal"} {
		info, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v; want no access for group or others", f, info.Mode())
		}
	}
}
