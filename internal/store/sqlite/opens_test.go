package sqlite

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/testtools"
)

// TestOpensTogetherOnNewDataDir: stores opening a new data dir at once
// (rigger server and rigger workers started together) all open, though
// each of their first connections turns the new files to WAL mode.
func TestOpensTogetherOnNewDataDir(t *testing.T) {
	ctx := context.Background()
	const rounds, openers = 10, 4
	for round := range rounds {
		path := filepath.Join(t.TempDir(), "rigger.db")
		errs := make(chan error, openers)
		start := make(chan struct{})
		for range openers {
			go func() {
				<-start
				s, err := Open(ctx, path)
				if err == nil {
					err = s.Close()
				}
				errs <- err
			}()
		}
		close(start)
		for range openers {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %d stores opening a new data dir at once: %v", round, openers, err)
			}
		}
	}
}

// TestOpenWaitsPastBusyTimeout: a store that must rebuild its search
// index while another process holds the database's write lock for
// longer than one busy_timeout (a long migration or rebuild of its own)
// waits for it, logs why it waits, and then opens and rebuilds, instead
// of failing with "database is locked".
func TestOpenWaitsPastBusyTimeout(t *testing.T) {
	ctx := context.Background()
	path := createdStore(t)
	db := mustOpen(t, path)
	if _, err := db.Exec(`INSERT INTO search_state (key, value) VALUES ('needs_reindex', '1')`); err != nil {
		t.Fatal(err)
	}
	defer func(d time.Duration) { busyTimeout = d }(busyTimeout)
	busyTimeout = 300 * time.Millisecond
	var log testtools.SyncBuffer
	defer func(l *slog.Logger) { slog.SetDefault(l) }(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&log, nil)))

	holder, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	const held = 1500 * time.Millisecond
	released := make(chan struct{}, 1)
	go func() {
		time.Sleep(held)
		_, err := holder.ExecContext(ctx, `ROLLBACK`)
		if err != nil {
			t.Error(err)
		}
		released <- struct{}{}
	}()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open while another connection held the write lock for %v (busy_timeout %v): %v", held, busyTimeout, err)
	}
	defer s.Close()
	<-released
	// The audit database's open is the first step that writes to the
	// main database, so the first to wait.
	if !strings.Contains(log.String(), "another process holds the database's lock; waiting for it to open the audit database") {
		t.Errorf("the wait was not logged:\n%s", log.String())
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM search_state WHERE key = 'needs_reindex'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("after the open, needs_reindex rows: %d, %v; want the rebuild done", n, err)
	}
}
