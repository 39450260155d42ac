// Package sqlite opens rigger's catalog store in a SQLite file for `rigger
// dev` and single-node servers: WAL journal, synchronous=normal (survives a
// process crash), a busy timeout, and one writer at a time. It runs on
// SQLite's C code where the build has it, on a pure-Go translation
// otherwise (library.go).
//
// It must not import api, worker, workflows or activities.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/riggerdev/rigger/internal/store"
)

// connPragmas are the pragmas each connection runs as it opens, the
// catalog's and the audit file's.
func connPragmas() []string {
	// temp_store stays at its default (files, cached in memory while
	// small): building the indexes of a 100k-entity first load sorts ~300
	// MiB of keys, which temp_store=MEMORY kept resident (a 450 MiB peak
	// instead of ~110 MiB, for no measurable speed-up).
	//
	// mmap_size maps the file (up to 1 GiB) instead of reading each page
	// with pread into a 2 MiB cache per connection: at 100k entities a
	// search's B-tree lookups were half system calls, and its p50 fell
	// from 18.7 to 8.4 ms (under load) once mapped. A reader unmaps the
	// file when another connection changed it since its last read (every
	// page then faults in again, dearer than a read): the audit events
	// each read request appends go to a file of their own (AuditPath).
	//
	// threads lets a sort that outgrows memory (the index builds after
	// a first load: 2.6M search rows at 100k entities) use that many
	// more threads: the builds of a 100k load took 8.6-9.5 s instead of
	// 10.9-12.7 s here (2 cores), for 4.5 MiB more memory at their peak.
	// Sorts that fit in memory, every request's, use none.
	// busy_timeout is not among them: each library sets it before any
	// statement (library.open).
	return []string{"journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(ON)", "mmap_size(1073741824)",
		fmt.Sprintf("threads(%d)", sorterThreads())}
}

// busyTimeout is how long a statement waits for another connection's
// lock before it fails with SQLITE_BUSY (a test shortens it).
var busyTimeout = 10 * time.Second

// bodyAsBytes reads an entity's body as a blob (Dialect.BodyAsBytes).
const bodyAsBytes = "CAST(%s AS BLOB)"

// quietCPU is the clock a large batch's copy into the file waits on
// (store.Dialect.QuietCPU): the machine's CPU time, as other processes
// (a rigger server beside the worker that loads) may read the file. A
// test sets nil (this process's time) to control what counts as quiet.
var quietCPU = store.MachineCPU

// sorterThreads is the catalog connections' PRAGMA threads: a thread
// a core, 4 at most (SQLite's own bound is 8).
func sorterThreads() int { return min(runtime.NumCPU(), 4) }

// Open opens (creating if needed) the database file at path and the audit
// chain's file beside it (AuditPath), and migrates them.
func Open(ctx context.Context, path string) (*store.SQL, error) {
	return openWith(ctx, path, defaultLibrary)
}

// openWith is Open on the library lib.
func openWith(ctx context.Context, path string, lib library) (*store.SQL, error) {
	// Files made here are private whoever opens first (a CLI command's
	// umask may be 022); SQLite gives its -wal and -shm files the same
	// mode as the database's.
	for _, f := range []string{path, AuditPath(path)} {
		if err := createPrivate(f); err != nil {
			return nil, err
		}
	}
	q := connPragmas()
	// The catalog's connections leave copying the write-ahead log into
	// the file to the store (store.Dialect.Checkpoint); the audit file's
	// still copy it as they commit, past 1000 pages. Once copied whole,
	// the log starts over and is cut back to 64 MiB (a 100k-entity load
	// grew it to ~780 MB, which it then kept).
	db, err := lib.open(path, busyTimeout, append(slices.Clone(q), "wal_autocheckpoint(0)", "journal_size_limit(67108864)"), false)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// The audit chain's file. Its transactions are all writes (appends,
	// its migration, the move of older events): each takes the write
	// lock as it begins (_txlock=immediate), so processes opening it
	// together take turns instead of failing.
	auditPath := AuditPath(path)
	auditDB, err := lib.open(auditPath, busyTimeout, q, true)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", auditPath, err)
	}
	auditDB.SetMaxOpenConns(4)
	auditDB.SetMaxIdleConns(4)
	// Readers run concurrently under WAL; writers are serialised by the store.
	// All stay open when idle (database/sql keeps 2): a page runs its
	// count on a second connection beside audit and other readers, and a
	// connection closed and opened again parses the schema and prepares
	// each statement anew.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	if err := ping(ctx, db, lib); err != nil {
		db.Close()
		auditDB.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := ping(ctx, auditDB, lib); err != nil {
		db.Close()
		auditDB.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", auditPath, err)
	}
	s, err := store.Open(ctx, db, store.Dialect{
		Name:            "sqlite",
		Rebind:          func(q string) string { return q },
		Migrations:      store.Schema("sqlite"),
		SerializeWrites: true,
		WritesInProcess: true,
		// A multi-row INSERT (OR ABORT) needs a statement journal here;
		// prepared single-row INSERTs made a 10k-entity first load 2.5x
		// faster, prepared INSERT OR FAIL of 8 rows faster again. The C
		// library writes batches of rows in one call instead (insertRows).
		PreparedInserts: lib.insertRows == nil,
		CopyRows:        lib.insertRows,
		// Search and relation rows at rowid ranges (the schema's packedRows).
		PackedRows: true,
		// Counts from the search index (see the field).
		CountFromSearch: true,
		// Bodies read with one copy by the driver, a LIMIT bound without
		// re-planning (see the fields).
		BodyAsBytes: bodyAsBytes,
		BytesOwned:  true,
		LimitParam:  "+?",
		OrFail:      " OR FAIL",
		// Named indexes only: the ones behind PRIMARY KEY and UNIQUE stay.
		FirstLoadIndexes: `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('entities', 'search', 'relations', 'search_docs') ORDER BY name`,
		// The pure-Go library's bind cost grows with the statement's parameter count:
		// 400 per statement made a 10k-entity batch 3x faster than 30000
		// (still used for IN lists and deletes).
		MaxParams: 400,
		// Entities in full (8 ms at 10k, 75 ms at 100k): a 200-row sample
		// of entities_kind, all of one kind, says each kind matches 200
		// rows, and an owner count then scans every component's entry of
		// that index (6 ms at 100k) instead of looking up the owner's few.
		// Search and relations, ten times larger, are sampled.
		//
		// The pure-Go library's SQLite has STAT4: ANALYZE also samples
		// index keys, and a prepared statement that compares a parameter
		// with an indexed column is then compiled again at its first step
		// after each new binding, so each cached statement was parsed and
		// planned on every call (a tenth of rigger dev's CPU under owner
		// queries, most of it the relation-target check). The samples are
		// dropped, in the same savepoint, and the planner keeps sqlite_stat1
		// (rows per key prefix), which is what serves its owner plans. The
		// C library is built without STAT4.
		Analyze: "SAVEPOINT analyze; PRAGMA analysis_limit=0; ANALYZE entities; PRAGMA analysis_limit=200; ANALYZE search; ANALYZE relations; " +
			dropSamples(lib) + "ANALYZE sqlite_schema; RELEASE analyze",
		Checkpoint: "PRAGMA wal_checkpoint(PASSIVE)",
		QuietCPU:   quietCPU,
		// Without the walk a broad picker text ("s" at 100k components)
		// sorted every match: ~250 ms of CPU, now ~1 ms.
		WalkFullText: true,
		// A write first, so the append takes the write lock (waiting under
		// busy_timeout) before it reads the chain head.
		AuditLock:      "DELETE FROM audit_events WHERE seq < 0",
		MigrationWrite: "DELETE FROM schema_migrations WHERE version < 0",
		Busy:           lib.busy,
		// Both libraries have FTS5 compiled in.
		FullText: store.FullTextSQLite,
		// Its own file: each read request's audit event would otherwise
		// change the catalog's, and every reader then dropped its page
		// cache and memory map (Dialect.AuditDB).
		AuditDB: auditDB,
	})
	if err != nil {
		db.Close()
		auditDB.Close()
		return nil, err
	}
	return s, nil
}

// dropSamples is the statement of the store's ANALYZE that deletes the
// key samples lib's ANALYZE wrote, if it writes any.
func dropSamples(lib library) string {
	if lib.stat4 {
		return "DELETE FROM sqlite_stat4; "
	}
	return ""
}

// ping opens a first connection, trying again while it fails with
// SQLITE_BUSY, for busyTimeout as a statement waits for a lock. A
// connection's PRAGMA journal_mode=WAL turns a new file to WAL mode; when two processes open the same new
// file at once (rigger server and rigger worker on a new data dir), one
// of them can get SQLITE_BUSY at once, without busy_timeout's wait:
// SQLite does not wait where waiting could deadlock.
func ping(ctx context.Context, db *sql.DB, lib library) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		err := db.PingContext(ctx)
		if err == nil || !lib.busy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// AuditPath is the file Open keeps the audit chain in for the database
// file path: rigger.db's is rigger-audit.db beside it.
func AuditPath(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-audit" + ext
}

// createPrivate creates the file path, empty and mode 0600, unless it
// exists.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return f.Close()
}
