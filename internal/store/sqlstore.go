package store

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/riggerdev/rigger/internal/errs"
)

// Dialect is what differs between the SQL databases.
type Dialect struct {
	Name string
	// Rebind turns ?-placeholders into the driver's form.
	Rebind func(query string) string
	// Migrations are applied in order, each once, recorded in schema_migrations.
	Migrations []string
	// MigrationLock, run first in each migration's transaction, holds a
	// lock until it ends, so processes starting together migrate one at a
	// time ("" = the database serializes them itself).
	MigrationLock string
	// MigrationWrite, run next in each migration's transaction, is a
	// write that changes nothing, so the transaction holds the database's
	// write lock (waiting for it under busy_timeout) before it reads the
	// version. SQLite: a transaction that read first could not take the
	// lock once another process had committed a migration meanwhile, and
	// failed at once with SQLITE_BUSY.
	MigrationWrite string
	// Busy says an error is the database's "locked by another process",
	// returned once its own wait for the lock (SQLite's busy_timeout)
	// ran out; Open then waits on (whileLocked). Nil: never.
	Busy func(error) bool
	// NewIDs selects ? fresh entity ids, one per row, safely beside other
	// writers (a sequence). Empty: writes are serialized (SerializeWrites
	// is required), so a batch counts on from the largest stored id.
	NewIDs string
	// SerializeWrites makes writes take a process-wide lock (SQLite has one
	// writer; waiting here beats SQLITE_BUSY).
	SerializeWrites bool
	// WritesInProcess says the database writes on the writing
	// goroutine's own thread (SQLite's library), not in a server that
	// answers it over a connection (see SQL.WritesInProcess).
	WritesInProcess bool
	// PreparedInserts writes new rows with prepared INSERT OR FAIL
	// statements of a few rows on the driver's connection instead of
	// multi-row INSERTs of up to MaxParams values (see rowInserter).
	PreparedInserts bool
	// PackedRows stores an entity's search and relation rows at rowids
	// id*rowsPerEntity+n (SQLite): the rows of one entity are a range of the
	// table's own B-tree, found and deleted without an index on entity_id
	// or origin_id (see sqlBuilder.searchOf).
	PackedRows bool
	// CountFromSearch counts the matches of one search-key condition from
	// the search_key_value index alone (countFromSearch). SQLite's entity
	// rows hold their bodies, so a count that looks each match up reads
	// ~25x the pages. Not on PostgreSQL: before a vacuum has set a
	// loaded table's visibility map, an index-only scan reads each row's
	// heap page too, and the search rows' are more pages than the
	// entities' (an owner count at 10k: 2.7 ms against 1.5 ms).
	CountFromSearch bool
	// OrFail is " OR FAIL" where the database takes it (SQLite), for the
	// prepared INSERTs (every table's, of one row or a few) and an
	// entity's UPDATE: a statement that writes
	// rows through a trigger (the write generation's) and may abort on a
	// constraint keeps a statement journal, copying every page it touches
	// (a first load of 10k entities 20 % slower, BenchmarkFirstLoad). FAIL
	// keeps what the statement wrote before a failure; the store then
	// rolls the whole transaction back, so nothing changes.
	OrFail string
	// FirstLoadIndexes lists (name, CREATE statement) of the secondary
	// indexes a first load into an empty catalog may build after its rows
	// ("" = never).
	FirstLoadIndexes string
	// FirstLoadLocks says dropping an index locks its table against
	// readers until the transaction ends (PostgreSQL; SQLite's readers
	// keep reading their snapshot, indexes included): the indexes are
	// then dropped only for a load into a catalog of fewer than
	// firstLoadMin entities, whose reads wait for the load instead of
	// answering from an (almost) empty catalog.
	FirstLoadLocks bool
	// FirstLoadLock, if set, takes the locks a first load's index drops
	// need on all the catalog tables in one statement without waiting,
	// failing where one is held (PostgreSQL: LOCK TABLE ... NOWAIT); the
	// load then keeps the indexes (see firstLoadLock).
	FirstLoadLock string
	// MaxParams bounds placeholders per statement.
	MaxParams int
	// CopyRows, if set, writes new rows a batch at a time with the
	// database's bulk-load path instead of INSERTs built here
	// (PostgreSQL's COPY: no statement of thousands of parameters to
	// parse and plan per batch; SQLite's C library: one call into C for
	// the batch instead of one per parameter). It runs on the
	// driver connection dc, inside the transaction open there (the store
	// checks it is, see rowInserter.onConn), so a failed batch still rolls
	// back whole; each row has one value per column.
	CopyRows func(ctx context.Context, dc any, table string, columns []string, rows [][]any) error
	// CopyData, if set, takes CopyRows's place: rows are encoded in
	// PostgreSQL's binary COPY format as they are added (appendCopyRow)
	// and each batch is handed over as those bytes, without CopyHeader
	// and CopyTrailer, to be written into table's columns on the driver
	// connection dc (in its open transaction, as CopyRows), frozen if
	// freeze is set (the table was emptied in this transaction:
	// FirstLoadTruncate); it returns how many rows were written.
	CopyData func(ctx context.Context, dc any, table string, columns []string, data []byte, freeze bool) (int64, error)
	// CopyBatch is how many rows a rowInserter hands CopyRows or CopyData
	// at a time (0: copyRows).
	CopyBatch int
	// FirstLoadTruncate, if set, empties the catalog tables a first load
	// writes (PostgreSQL: TRUNCATE) once they are found empty under the
	// load's locks, so that CopyData may write its rows frozen (see
	// frozenFirstLoad).
	FirstLoadTruncate string
	// RefCheck, if set, are the statements run before and after the
	// check of a streamed chunk's refs against other locations' entities
	// (ReplaceLocationStream), for a plan that reads them by the ref
	// index however small the table looked when it was planned.
	RefCheck [2]string
	// Analyze refreshes planner statistics after a large batch, in its
	// transaction ("" = the database does it itself).
	Analyze string
	// Vacuum runs after a large batch commits, on a goroutine of the
	// store (off the request that wrote it), one at a time ("" = the
	// database does it itself): PostgreSQL's VACUUM marks the batch's
	// pages all-visible, so index-only scans (the access checks of
	// searches and lists) stop reading heap rows before autovacuum would.
	Vacuum string
	// VacuumReady, if set, is polled before Vacuum (every
	// vacuumPoll, for vacuumWaitMax at most) until it returns true: a
	// row is marked all-visible only once no snapshot can still miss it,
	// so a run beside a transaction begun before the batch committed (an
	// autovacuum ANALYZE, a long read) would mark nothing and leave the
	// pages to autovacuum. Past the bound Vacuum runs anyway. Its one
	// parameter is how many seconds ago at least the batch committed
	// (vacuumDelay): a transaction older than that may predate it.
	VacuumReady string
	// WalkFullText answers a full-text query by name by walking the
	// kind's entities in name order (SQL.walk, over the index
	// entities_kind_name, which the schema must then have). PostgreSQL's
	// planner stops early by itself for a broad text, and planned the
	// walk's text test as a scan of every match (a rare text cost twice).
	WalkFullText bool
	// Checkpoint copies the write-ahead log into the database file; its
	// connections do not as they commit (see checkpointer). "" = the
	// database does it itself.
	Checkpoint string
	// QuietCPU is the CPU clock whose pace tells the checkpointer that the
	// database's readers are quiet, so that a large batch's copy can run
	// without slowing them (nil: this process's CPU time, where only this
	// process reads). A database other processes read (a SQLite file a
	// rigger worker loads and a rigger server queries) needs theirs too.
	QuietCPU func() time.Duration
	// AuditLock, run first in each audit append's transaction, holds a lock
	// until it ends (PostgreSQL: an advisory lock; SQLite: a write, which
	// takes the database's one write lock), so appends from several
	// processes queue before reading the chain head and cannot fork it.
	AuditLock string
	// SigningKeyLock, run first in a signing key rotation's transaction,
	// holds a lock until it ends, so replicas rotating together add one
	// key ("" = the rotation's first write takes the database's lock).
	SigningKeyLock string
	// FullText is the search index's engine: FullTextSQLite (FTS5) or
	// FullTextPostgres (tsvector and pg_trgm); it must match the schema's
	// (Schema's dialect). "" only for migrations before the index (tests
	// of old schemas): no index is kept or searched.
	FullText string
	// SearchDB, if set, is a pool of the same database for search queries
	// only, whose sessions have SearchSettings: a search query is then
	// one statement, where it otherwise sets them in a transaction of
	// its own (four round trips). The store closes it.
	SearchDB *sql.DB
	// GenericDB, if set, is a pool of the same database whose sessions
	// run prepared statements on generic plans (PostgreSQL's
	// plan_cache_mode = force_generic_plan), for the pages and counts of
	// filters that match few entities (genericplans.go says which and
	// why). The store closes it.
	GenericDB *sql.DB
	// AuditDB, if set, is a database of its own for the audit chain (on
	// SQLite a second file), so that the audit event each read request
	// appends leaves the catalog's database unchanged: a SQLite reader
	// whose database changed since its last read drops its page cache
	// and its memory map (every page it touches then faults in again),
	// which made an owner page at 100k entities cost 2-3x its CPU. Open
	// creates its table and moves events the main database holds into it.
	// The store closes it.
	AuditDB *sql.DB
	// BodyAsBytes, if set, is a format with one %s (the body column) that
	// reads it as bytes, which the driver hands over with one copy (SQLite:
	// "CAST(%s AS BLOB)"; its text takes two).
	BodyAsBytes string
	// BytesOwned: a []byte the driver hands a scan is a new slice each
	// time, the scan's to keep (both SQLite libraries copy a blob out of
	// SQLite's memory into one at every row; pgx's database/sql driver a
	// bytea out of its read buffer), so a body is kept as scanned, not
	// copied again (a tenth of an owner page's allocation). database/sql
	// lets a driver reuse the memory: each store's TestDriverBytesAreOwned
	// pins what its driver does.
	BytesOwned bool
	// LimitParam is the placeholder a statement's LIMIT is bound with
	// ("" = "?"). SQLite's planner reads the value of a bare bound LIMIT,
	// so a prepared statement whose LIMIT is bound again (database/sql
	// binds every argument on every run) is parsed and planned again on
	// its next run: an owner page's statement at 10k entities was, ~15 %
	// of its time. Behind a unary plus ("+?") it is not, with the same
	// plan. Writing the value into the text instead made each page size
	// a statement of its own in the bounded statement cache.
	LimitParam string
}

// SearchSettings are the session settings of a Dialect's SearchDB on
// PostgreSQL (searchRows and trigramCandidates say why).
func SearchSettings() map[string]string {
	return map[string]string{"enable_seqscan": "off", "jit": "off", "pg_trgm.similarity_threshold": trigramThreshold}
}

// The full-text engines a Dialect may name.
const (
	FullTextSQLite   = "fts5"
	FullTextPostgres = "tsvector"
)

// analyzeAfter is the batch size after which statistics are refreshed, so
// the planner learns that kind=component matches most rows and drives
// owner queries from the search index instead.
const analyzeAfter = 1000

// SQL implements Store on database/sql for a Dialect.
type SQL struct {
	db      *sql.DB
	d       Dialect
	writeMu sync.Mutex
	now     func() time.Time
	byRefMu sync.Mutex
	byRef   *sql.Stmt
	// stmts are prepared statements of queries run often with few
	// distinct texts (see cachedQuery).
	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt
	// searchStmts are the prepared statements of searches on d.SearchDB.
	searchStmts map[string]*sql.Stmt
	generic     genericPlans
	// vocab are the typo vocabulary's words known committed; noIndex
	// turns the search index's upkeep off (SetSearchIndexing).
	vocab   vocabCache
	noIndex atomic.Bool
	vacuum  vacuumer
	ckpt    checkpointer
	// auditMu serializes audit appends on a Dialect.AuditDB (a file with
	// a write lock of its own: they need not wait for catalog writes).
	auditMu sync.Mutex
	// cols are the columns scanEntity reads (entityCols).
	cols string
}

// vacuumer runs Dialect.Vacuum after large batches: one run at a time, and
// batches that commit during a run ask for one more after it (not one
// each). Close cancels a run and waits for it.
type vacuumer struct {
	mu             sync.Mutex
	running, again bool
	ctx            context.Context
	cancel         context.CancelFunc
	wg             sync.WaitGroup
	// written counts rows written since the last run was asked for.
	written int
	// reported is set once a failed run was logged: the first failure
	// says why (a missing privilege, a bad statement), the rest repeat it.
	reported bool
}

// failed logs a run's error once per store through slog.Default() (the
// store has no logger of its own); a run the store's closing cancelled
// is no failure.
func (v *vacuumer) failed(stmt string, err error) {
	if err == nil || v.ctx.Err() != nil {
		return
	}
	v.mu.Lock()
	first := !v.reported
	v.reported = true
	v.mu.Unlock()
	if first {
		slog.Default().Warn("store: the vacuum after a large batch failed; autovacuum will clean up instead, and later failures are not logged",
			"statement", stmt, "err", err)
	}
}

// WaitMaintenance waits for the Dialect.Vacuum run asked for so far, if
// any, and copies the write-ahead log into the database file now if a copy
// is pending (benchmarks time searches after it: they measure a settled
// store).
func (s *SQL) WaitMaintenance() {
	s.vacuum.wg.Wait()
	s.ckpt.flush()
}

// vacuumDelay is how long after a large batch commits Dialect.Vacuum runs.
const vacuumDelay = time.Second

// vacuumAfterSmall is how many rows small batches (under analyzeAfter
// rows each: docs builds, single entities) write between two
// Dialect.Vacuum runs: a run is a statement per table and a read of
// their pages not all-visible yet, not worth a few rows.
const vacuumAfterSmall = 10 * analyzeAfter

// wrote counts n rows written by a committed transaction, and asks for a
// Dialect.Vacuum run after a large batch (analyzeAfter rows) or once small
// ones add up to vacuumAfterSmall; a large batch's Dialect.Checkpoint waits
// for a quiet moment.
func (s *SQL) wrote(n int) {
	if n >= analyzeAfter {
		s.ckpt.wroteLog(true)
	}
	v := &s.vacuum
	if s.d.Vacuum == "" || n <= 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.written += n; n < analyzeAfter && v.written < vacuumAfterSmall {
		return
	}
	v.written = 0
	if v.ctx == nil || v.ctx.Err() != nil {
		return // closed
	}
	if v.running {
		v.again = true
		return
	}
	v.running = true
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		for {
			// A failure (the store closing, a lock it skipped) leaves the
			// pages to autovacuum: nothing is lost, reads are only slower.
			// The first one is logged (vacuumer.failed).
			// A moment after the commit: batches committed meanwhile
			// share the run, and the commit's WAL is flushed (with
			// synchronous_commit off, a page whose rows' commit is not
			// flushed yet cannot be marked all-visible).
			select {
			case <-v.ctx.Done():
			case <-time.After(vacuumDelay):
			}
			v.failed(s.runVacuum())
			v.mu.Lock()
			if !v.again || v.ctx.Err() != nil {
				v.running = false
				v.mu.Unlock()
				return
			}
			v.again = false
			v.mu.Unlock()
		}
	}()
}

// vacuumPoll is how often Dialect.VacuumReady is asked, and
// vacuumWaitMax how long at most before Dialect.Vacuum runs anyway.
const (
	vacuumPoll    = 200 * time.Millisecond
	vacuumWaitMax = 15 * time.Second
)

// runVacuum runs Dialect.Vacuum once Dialect.VacuumReady says it can
// mark the batch (or after vacuumWaitMax, or at once if the question
// fails: the wait only makes the run worth more); it returns the
// statement that failed, if one did, the vacuum's failure first.
func (s *SQL) runVacuum() (string, error) {
	v := &s.vacuum
	var readyErr error
	for deadline := time.Now().Add(vacuumWaitMax); s.d.VacuumReady != ""; {
		var ready bool
		if readyErr = s.db.QueryRowContext(v.ctx, s.q(s.d.VacuumReady), vacuumDelay.Seconds()).Scan(&ready); readyErr != nil || ready || time.Now().After(deadline) {
			break
		}
		select {
		case <-v.ctx.Done():
			return "", v.ctx.Err()
		case <-time.After(vacuumPoll):
		}
	}
	if _, err := s.db.ExecContext(v.ctx, s.d.Vacuum); err != nil {
		return s.d.Vacuum, err
	}
	if readyErr != nil {
		return s.d.VacuumReady, readyErr
	}
	return "", nil
}

// maxCachedStmts bounds SQL.stmts; beyond it queries are prepared per call.
const maxCachedStmts = 256

// cachedQuery runs query as a prepared statement kept for the next call
// with the same text: planning a query with many access conditions costs
// more than running it.
func (s *SQL) cachedQuery(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, query, err := s.cachedStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return s.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

// cachedStmt is cachedQuery's prepared statement for query (nil past
// maxCachedStmts), and the query rebound for the driver.
func (s *SQL) cachedStmt(ctx context.Context, query string) (*sql.Stmt, string, error) {
	return s.cachedStmtOn(ctx, s.db, &s.stmts, query)
}

// cachedStmtOn is cachedStmt on db, whose statements cache holds.
func (s *SQL) cachedStmtOn(ctx context.Context, db *sql.DB, cache *map[string]*sql.Stmt, query string) (*sql.Stmt, string, error) {
	query = s.q(query)
	s.stmtMu.Lock()
	st, ok := (*cache)[query]
	full := len(*cache) >= maxCachedStmts
	s.stmtMu.Unlock()
	if ok {
		return st, query, nil
	}
	if full {
		return nil, query, nil
	}
	// Prepared outside the lock and with the caller's deadline: preparing
	// reads the catalog of the tables named, which waits while another
	// transaction holds one of them exclusively (a PostgreSQL first load,
	// a migration), and that wait must hold up neither other statements
	// nor a caller past its deadline.
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, "", err
	}
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if had, ok := (*cache)[query]; ok { // prepared meanwhile by another caller
		st.Close()
		return had, query, nil
	}
	if len(*cache) >= maxCachedStmts {
		st.Close()
		return nil, query, nil
	}
	if *cache == nil {
		*cache = map[string]*sql.Stmt{}
	}
	(*cache)[query] = st
	return st, query, nil
}

var _ Store = (*SQL)(nil)

// Open applies pending migrations and returns the store.
func Open(ctx context.Context, db *sql.DB, d Dialect) (*SQL, error) {
	if d.NewIDs == "" && !d.SerializeWrites {
		return nil, fmt.Errorf("%s: a dialect without NewIDs must serialize writes", d.Name)
	}
	if d.FullText != "" && d.FullText != FullTextSQLite && d.FullText != FullTextPostgres {
		return nil, fmt.Errorf("%s: unknown full-text engine %q", d.Name, d.FullText)
	}
	s := &SQL{db: db, d: d, now: func() time.Time { return time.Now().UTC() }, cols: entityCols(d)}
	if d.GenericDB != nil {
		n := d.GenericDB.Stats().MaxOpenConnections
		if n <= 0 { // no bound: 16 at once, the rest planned per request
			n = 16
		}
		s.generic.slots = make(chan struct{}, n)
	}
	s.vacuum.ctx, s.vacuum.cancel = context.WithCancel(context.Background())
	if err := s.whileLocked(ctx, "migrate the database", s.migrate); err != nil {
		return nil, err
	}
	// A retry after the move into the audit database committed finds
	// what a crash between its two transactions leaves, and finishes it.
	if err := s.whileLocked(ctx, "open the audit database", s.openAuditDB); err != nil {
		return nil, err
	}
	if d.FullText != "" && searchIndexOffInThisBuild {
		// What this build writes is not indexed: the index is marked for
		// a rebuild by the next rigger that indexes.
		slog.Warn("this rigger was built with -tags benchnosearchindex, for benchmarks only: it writes no search index")
		if _, err := db.ExecContext(ctx, `INSERT INTO search_state (key, value) VALUES ('needs_reindex', '1') ON CONFLICT (key) DO NOTHING`); err != nil {
			s.Close()
			return nil, fmt.Errorf("mark the search index for a rebuild: %w", err)
		}
	}
	if d.FullText == "" || searchIndexOffInThisBuild {
		s.noIndex.Store(true)
		s.startCheckpointer()
		return s, nil
	}
	if err := s.whileLocked(ctx, "rebuild the search index", s.reindexIfNeeded); err != nil {
		return nil, err
	}
	s.startCheckpointer()
	return s, nil
}

func (s *SQL) q(query string) string { return s.d.Rebind(query) }

// whileLocked runs step, one of Open's, again while it fails because
// another process holds the database's lock (Dialect.Busy), until ctx
// ends or lockWaitMax has passed: that process may be migrating or
// rebuilding the search index of a large catalog, which takes longer
// than one wait for the lock. The wait is logged at once and then every
// lockWaitLog, so a start that hangs there says why. The steps can run
// again after a failure part-way (each migration commits on its own and
// is skipped once applied; the audit move finishes what a crash between
// its two transactions leaves).
func (s *SQL) whileLocked(ctx context.Context, what string, step func(context.Context) error) error {
	start := time.Now()
	var logged time.Time
	for {
		err := step(ctx)
		if err == nil || s.d.Busy == nil || !s.d.Busy(err) {
			return err
		}
		waited := time.Since(start)
		if waited > lockWaitMax {
			return fmt.Errorf("%w (another process held the database's lock for %s, while this one waited to %s)", err, waited.Round(time.Second), what)
		}
		if logged.IsZero() || time.Since(logged) >= lockWaitLog {
			logged = time.Now()
			slog.Default().Warn("store: another process holds the database's lock; waiting for it to "+what,
				"database", s.d.Name, "waited", waited.Round(time.Second).String(), "err", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting to %s: %w: %w", what, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// lockWaitMax bounds whileLocked's wait (long enough for a search
// rebuild of a large catalog); lockWaitLog is how often it says it waits.
var lockWaitMax = 10 * time.Minute

const lockWaitLog = 30 * time.Second

func (s *SQL) migrate(ctx context.Context) error {
	current, err := s.migrateDB(ctx, s.db, s.d.Name, s.d.Migrations)
	if err != nil {
		return err
	}
	// A migration may have rebuilt tables (and lost their statistics): the
	// planner needs them to serve owner queries from the search index.
	// In a transaction: SQLite's Analyze opens a savepoint, which outside
	// one would stay open on the pooled connection after a failure. Waited
	// for here, as a retry of migrate would find nothing left to migrate
	// and skip it.
	if current > 0 && current < len(s.d.Migrations) && s.d.Analyze != "" {
		return s.whileLocked(ctx, "refresh planner statistics after migrating", func(ctx context.Context) error {
			if err := s.inTx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, s.d.Analyze)
				return err
			}); err != nil {
				return fmt.Errorf("%s: refresh planner statistics after migrating: %w", s.d.Name, err)
			}
			return nil
		})
	}
	return nil
}

// migrateDB applies the migrations db has not had yet (what names it in
// errors), each in a transaction with its version in db's
// schema_migrations, and returns the version db had before.
func (s *SQL) migrateDB(ctx context.Context, db *sql.DB, what string, migrations []string) (int, error) {
	if err := inTxOn(ctx, db, func(tx *sql.Tx) error {
		if s.d.MigrationLock != "" {
			// Even CREATE TABLE IF NOT EXISTS races on PostgreSQL.
			if _, err := tx.ExecContext(ctx, s.d.MigrationLock); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`)
		return err
	}); err != nil {
		return 0, fmt.Errorf("%s: create schema_migrations: %w", what, err)
	}
	var current int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return 0, fmt.Errorf("%s: read schema version: %w", what, err)
	}
	if current > len(migrations) {
		return 0, fmt.Errorf("%s: database schema version %d is newer than this rigger knows (%d): refusing to run an older binary on it", what, current, len(migrations))
	}
	if current == len(migrations) {
		return current, nil
	}
	for v := current + 1; v <= len(migrations); v++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		// Processes starting together queue here (PostgreSQL: the lock;
		// SQLite: the write); the ones behind the first find the migration
		// applied.
		for _, lock := range []string{s.d.MigrationLock, s.d.MigrationWrite} {
			if lock == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, lock); err != nil {
				_ = tx.Rollback()
				return 0, fmt.Errorf("%s: migration lock: %w", what, err)
			}
		}
		var applied int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&applied); err != nil {
			_ = tx.Rollback()
			return 0, fmt.Errorf("%s: read schema version: %w", what, err)
		}
		if applied >= v {
			_ = tx.Rollback()
			continue
		}
		if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
			_ = tx.Rollback()
			return 0, fmt.Errorf("%s: migration %d: %w", what, v, err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), v, s.now().Format(time.RFC3339Nano)); err != nil {
			_ = tx.Rollback()
			return 0, err
		}
		if err := tx.Commit(); err != nil {
			return 0, fmt.Errorf("%s: migration %d: %w", what, v, err)
		}
	}
	return current, nil
}

func (s *SQL) lockWrites() func() {
	if !s.d.SerializeWrites {
		return func() {}
	}
	unlock := s.lockWritesOnly()
	return func() {
		unlock()
		s.ckpt.wroteLog(false)
	}
}

// lockWritesOnly is lockWrites for the checkpointer's own copies, which
// are no writes to copy.
func (s *SQL) lockWritesOnly() func() {
	if !s.d.SerializeWrites {
		return func() {}
	}
	s.writeMu.Lock()
	return s.writeMu.Unlock
}

// WritesInProcess says the database writes on the calling goroutine's
// own thread (Dialect.WritesInProcess): a writer that waits for a
// database server instead needs a CPU free when each answer comes (the
// catalog leaves it one; see activities' parseWorkers).
func (s *SQL) WritesInProcess() bool { return s.d.WritesInProcess }

// Ping checks the database answers.
func (s *SQL) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// DBStats is the main pool's statistics (connections opened and closed),
// for benchmarks and diagnostics.
func (s *SQL) DBStats() sql.DBStats { return s.db.Stats() }

// Close closes the database.
func (s *SQL) Close() error {
	s.stopCheckpointer()
	if s.vacuum.cancel != nil {
		s.vacuum.mu.Lock()
		s.vacuum.cancel()
		s.vacuum.mu.Unlock()
		s.vacuum.wg.Wait()
	}
	s.byRefMu.Lock()
	if s.byRef != nil {
		s.byRef.Close()
		s.byRef = nil
	}
	s.byRefMu.Unlock()
	s.stmtMu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	for _, st := range s.searchStmts {
		st.Close()
	}
	for _, st := range s.generic.stmts {
		st.Close()
	}
	s.stmts, s.searchStmts, s.generic.stmts = nil, nil, nil
	s.stmtMu.Unlock()
	if s.d.SearchDB != nil {
		s.d.SearchDB.Close()
	}
	if s.d.GenericDB != nil {
		s.d.GenericDB.Close()
	}
	if s.d.AuditDB != nil {
		s.d.AuditDB.Close()
	}
	return s.db.Close()
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTS(v sql.NullString) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, v.String)
	return t
}

// ---- locations

const locationCols = `id, type, target, static, created_at, last_error, last_refresh`

func scanLocation(row interface{ Scan(...any) error }) (Location, error) {
	var l Location
	var static int
	var created, refreshed, lastErr sql.NullString
	if err := row.Scan(&l.ID, &l.Type, &l.Target, &static, &created, &lastErr, &refreshed); err != nil {
		return Location{}, err
	}
	l.Static = static == 1
	l.CreatedAt, l.LastRefresh, l.LastError = parseTS(created), parseTS(refreshed), lastErr.String
	return l, nil
}

// AddLocation stores a new location; an existing type+target is a conflict.
func (s *SQL) AddLocation(ctx context.Context, l Location) (Location, error) {
	defer s.lockWrites()()
	if l.ID == "" {
		l.ID = uuid.NewString()
	}
	l.CreatedAt = s.now()
	static := 0
	if l.Static {
		static = 1
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO locations (id, type, target, static, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (type, target) DO NOTHING`), l.ID, l.Type, l.Target, static, ts(l.CreatedAt))
	if err != nil {
		return Location{}, fmt.Errorf("add location: %w", err)
	}
	got, err := scanLocation(s.db.QueryRowContext(ctx, s.q(`SELECT `+locationCols+` FROM locations WHERE type = ? AND target = ?`), l.Type, l.Target))
	if err != nil {
		return Location{}, fmt.Errorf("add location: %w", err)
	}
	if got.ID != l.ID {
		return got, errs.Conflict("location %s:%s already exists (id %s)", l.Type, l.Target, got.ID)
	}
	return got, nil
}

// GetLocation returns one location.
func (s *SQL) GetLocation(ctx context.Context, id string) (Location, error) {
	l, err := scanLocation(s.db.QueryRowContext(ctx, s.q(`SELECT `+locationCols+` FROM locations WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Location{}, errs.NotFound("no location with id %q", id)
	}
	return l, err
}

// ListLocations returns every location, oldest first.
func (s *SQL) ListLocations(ctx context.Context) ([]Location, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+locationCols+` FROM locations ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Location
	for rows.Next() {
		l, err := scanLocation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// DeleteLocation removes the location and every entity it owns.
func (s *SQL) DeleteLocation(ctx context.Context, id string) error {
	defer s.lockWrites()()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.deleteLocationRow(ctx, tx, id); err != nil {
			return err
		}
		ids, err := s.idsWhere(ctx, tx, `location_id = ?`, id)
		if err != nil {
			return err
		}
		return s.deleteEntities(ctx, tx, ids)
	})
}

// deleteLocationRow deletes one location's row, or says there is none.
func (s *SQL) deleteLocationRow(ctx context.Context, tx *sql.Tx, id string) error {
	res, err := tx.ExecContext(ctx, s.q(`DELETE FROM locations WHERE id = ?`), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFound("no location with id %q", id)
	}
	return nil
}

// OrphanLocation removes a location and marks the entities it owned
// orphaned, owned by no location.
func (s *SQL) OrphanLocation(ctx context.Context, id string) error {
	defer s.lockWrites()()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.deleteLocationRow(ctx, tx, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`UPDATE entities SET orphan = 1, location_id = NULL WHERE location_id = ?`), id)
		return err
	})
}

// LocationOfEntity returns the location that owns ref.
func (s *SQL) LocationOfEntity(ctx context.Context, ref string) (Location, error) {
	l, err := scanLocation(s.db.QueryRowContext(ctx, s.q(`SELECT l.id, l.type, l.target, l.static, l.created_at, l.last_error, l.last_refresh
		FROM locations l JOIN entities e ON e.location_id = l.id WHERE e.ref = ?`), strings.ToLower(ref)))
	if errors.Is(err, sql.ErrNoRows) {
		return Location{}, errs.NotFound("no location owns entity %q", ref)
	}
	return l, err
}

// SetLocationStatus records the outcome of a refresh.
func (s *SQL) SetLocationStatus(ctx context.Context, id, lastError string, at time.Time) error {
	defer s.lockWrites()()
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE locations SET last_error = ?, last_refresh = ? WHERE id = ?`), lastError, ts(at), id)
	return err
}

func (s *SQL) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return inTxOn(ctx, s.db, fn)
}

// inTxOn runs fn in a transaction of db, committed if fn returns nil.
func inTxOn(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// ---- write path

// owned is a stored entity of the location being replaced.
type owned struct {
	id   int64
	hash string
}

// ReplaceLocation implements Store.
func (s *SQL) ReplaceLocation(ctx context.Context, locationID string, entities []Entity, opts ReplaceOptions) (ReplaceResult, error) {
	return s.ReplaceLocationStream(ctx, locationID, func(yield func(Entity, error) bool) {
		for _, e := range entities {
			if !yield(e, nil) {
				return
			}
		}
	}, opts)
}

// ReplaceLocationStream implements Store. Streamed entities are classified
// and written a chunk at a time (one lookup of the refs other locations own
// per chunk), so what is held is a chunk, plus every ref and owned id.
func (s *SQL) ReplaceLocationStream(ctx context.Context, locationID string, entities iter.Seq2[Entity, error], opts ReplaceOptions) (ReplaceResult, error) {
	defer s.lockWrites()()
	var res ReplaceResult
	// With CopyRows, CopyData or PreparedInserts the transaction runs on
	// a connection the store holds, whose driver connection they (and the
	// row inserts: rowInserter.exec) reach too.
	var conn *sql.Conn
	begin := s.db.BeginTx
	if s.d.CopyRows != nil || s.d.CopyData != nil || s.d.PreparedInserts {
		c, err := s.db.Conn(ctx)
		if err != nil {
			return ReplaceResult{}, fmt.Errorf("replace entities of location %s: %w", locationID, err)
		}
		defer c.Close()
		conn, begin = c, c.BeginTx
	}
	tx, err := begin(ctx, nil)
	if err != nil {
		return ReplaceResult{}, fmt.Errorf("replace entities of location %s: %w", locationID, err)
	}
	err = func() error {
		// Statements run without ctx's cancellation (the drivers watch a
		// cancellable context on a goroutine per statement: a tenth of a
		// large batch's CPU time); the transaction still rolls back when ctx
		// ends, and classify checks it between chunks.
		r := &replacer{s: s, ctx: context.WithoutCancel(ctx), done: ctx, conn: conn, tx: tx, loc: locationID, now: ts(s.now()), seen: map[string]bool{}}
		defer r.close()
		if err := r.begin(); err != nil {
			return err
		}
		var tm ReplaceTiming
		mark := time.Now()
		// lap adds the time since the last mark to *d.
		lap := func(d *time.Duration) {
			now := time.Now()
			*d += now.Sub(mark)
			mark = now
		}
		for e, err := range entities {
			lap(&tm.Wait)
			if err != nil {
				return err
			}
			r.pending = append(r.pending, e)
			if len(r.pending) >= min(s.d.MaxParams-1, classifyChunk) {
				if err := r.classify(); err != nil {
					return err
				}
			}
			lap(&tm.Write)
		}
		lap(&tm.Wait)
		if err := r.finish(opts); err != nil {
			return err
		}
		indexed, err := r.index.finish(r.ctx, tx)
		if err != nil {
			return err
		}
		lap(&tm.Finish)
		res = r.res
		large := res.Inserted+res.Updated+res.Removed >= analyzeAfter
		// Statistics change with the rows, in the same transaction: the
		// first query that sees the batch is planned with them, and no
		// ANALYZE runs beside the requests that follow.
		if s.d.Analyze != "" && large {
			if _, err := tx.ExecContext(r.ctx, s.d.Analyze); err != nil {
				return fmt.Errorf("refresh planner statistics: %w", err)
			}
		}
		lap(&tm.Analyze)
		r.close()
		cerr := tx.Commit()
		lap(&tm.Commit)
		res.Timing = tm
		if cerr == nil {
			indexed()
			s.wrote(res.Inserted + res.Updated + res.Removed)
		}
		return cerr
	}()
	if err != nil {
		_ = tx.Rollback() // a no-op after a failed commit
		return ReplaceResult{}, fmt.Errorf("replace entities of location %s: %w", locationID, err)
	}
	return res, nil
}

// replacer is one ReplaceLocationStream transaction.
type replacer struct {
	s        *SQL
	ctx      context.Context
	done     context.Context
	conn     *sql.Conn
	tx       *sql.Tx
	loc, now string
	res      ReplaceResult
	// mine is what the location owned before, by ref; seen, the refs
	// streamed so far.
	mine map[string]owned
	seen map[string]bool
	// pending are streamed entities not classified yet.
	pending []Entity
	// held are new entities kept back, while holdUntil > 0, to learn
	// whether a first load is large enough to build the secondary indexes
	// after its rows (see dropSecondaryIndexes).
	held      []Entity
	holdUntil int
	// rebuild recreates the indexes dropped for a first load.
	rebuild []string
	// bulkIndexes: the secondary indexes are to be dropped before the
	// next chunk is written, the catalog tables' locks allowing
	// (Dialect.FirstLoadLock; a first load that found them busy tries
	// again with every chunk).
	bulkIndexes bool
	// frozen: the catalog tables were empty and emptied again in this
	// transaction, and their rows are written frozen (frozenFirstLoad).
	frozen bool
	// lastID is the largest entity id stored or allocated so far, on a
	// dialect without NewIDs.
	lastID             int64
	ents, search, rels *rowInserter
	// index writes the search index's rows (nil: indexing is off).
	index *searchIndexer
}

// classifyChunk bounds the streamed entities held before they are
// classified and written (fewer on a dialect with fewer parameters per
// statement): what a refresh holds is a chunk, whatever the location's size.
const classifyChunk = 1000

// firstLoadMin is the batch size from which a first load into empty tables
// builds the secondary indexes after the rows instead of row by row.
const firstLoadMin = 1000

func (r *replacer) begin() error {
	var exists int
	if err := r.tx.QueryRowContext(r.ctx, r.s.q(`SELECT COUNT(*) FROM locations WHERE id = ?`), r.loc).Scan(&exists); err != nil {
		return err
	}
	if exists == 0 {
		return errs.NotFound("no location with id %q", r.loc)
	}
	r.mine = map[string]owned{}
	rows, err := r.tx.QueryContext(r.ctx, r.s.q(`SELECT ref, id, hash FROM entities WHERE location_id = ?`), r.loc)
	if err != nil {
		return err
	}
	for rows.Next() {
		var ref string
		var o owned
		if err := rows.Scan(&ref, &o.id, &o.hash); err != nil {
			rows.Close()
			return err
		}
		r.mine[ref] = o
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// A location that owns nothing yet may bring a first load at least as
	// large as the whole stored catalog: hold its new entities until that
	// is known. Never on an incremental update of a location.
	if r.s.d.FirstLoadIndexes != "" && len(r.mine) == 0 {
		var stored int
		if err := r.tx.QueryRowContext(r.ctx, `SELECT COUNT(*) FROM entities`).Scan(&stored); err != nil {
			return err
		}
		r.holdUntil = max(firstLoadMin, stored)
		if r.s.d.FirstLoadLocks && stored >= firstLoadMin {
			r.holdUntil = 0
		}
	}
	if r.s.d.NewIDs == "" {
		if err := r.tx.QueryRowContext(r.ctx, `SELECT COALESCE(MAX(id), 0) FROM entities`).Scan(&r.lastID); err != nil {
			return err
		}
	}
	r.ents = r.inserter("entities", "id", "uid", "ref", "kind", "namespace", "name", "location_id", "body", "hash", "created_at", "updated_at")
	searchCols := []string{"entity_id", "key", "value", "original"}
	relCols := []string{"origin_id", "source_ref", "type", "type_lower", "target_ref", "target_lower"}
	if r.s.d.PackedRows { // each row's own id first (see writeRows)
		searchCols, relCols = append([]string{"id"}, searchCols...), append([]string{"id"}, relCols...)
	}
	r.search = r.inserter("search", searchCols...)
	r.rels = r.inserter("relations", relCols...)
	if r.s.indexing() {
		x := &searchIndexer{s: r.s, vocab: map[string]bool{}}
		cols := r.s.searchColumns()
		if r.s.d.FullText == FullTextSQLite {
			// Ids from the largest stored (writes are serialized), so the
			// batch's rows are those above it (ftsAdd).
			if err := r.tx.QueryRowContext(r.ctx, `SELECT COALESCE(MAX(doc_id), 0) FROM search_docs`).Scan(&x.firstAfter); err != nil {
				return err
			}
			x.nextID = x.firstAfter
			cols = append([]string{"doc_id"}, cols...)
		}
		x.docs = r.inserter("search_docs", cols...)
		r.index = x
	}
	return nil
}

func (r *replacer) close() {
	ins := []*rowInserter{r.ents, r.search, r.rels}
	if r.index != nil {
		ins = append(ins, r.index.docs)
	}
	for _, in := range ins {
		if in != nil {
			in.close()
		}
	}
	r.ents, r.search, r.rels, r.index = nil, nil, nil, nil
}

// classify sorts the pending entities into unchanged, updated, conflicting
// and new ones, and writes them.
func (r *replacer) classify() error {
	if len(r.pending) == 0 {
		return nil
	}
	if err := r.done.Err(); err != nil {
		return err
	}
	defer func() {
		clear(r.pending)
		r.pending = r.pending[:0]
	}()
	// Refs claimed by other locations.
	var foreign []string
	for _, e := range r.pending {
		if _, ok := r.mine[e.Ref]; !ok && !r.seen[e.Ref] {
			foreign = append(foreign, e.Ref)
		}
	}
	others := map[string]string{}
	if err := r.refCheck(0, len(foreign)); err != nil {
		return err
	}
	for _, chunk := range chunks(foreign, r.s.d.MaxParams-1) {
		rows, err := r.tx.QueryContext(r.ctx, r.s.q(`SELECT ref, COALESCE(location_id, '') FROM entities WHERE ref IN (`+placeholders(len(chunk))+`)`), anys(chunk)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var ref, loc string
			if err := rows.Scan(&ref, &loc); err != nil {
				rows.Close()
				return err
			}
			others[ref] = loc
		}
		rows.Close()
	}
	if err := r.refCheck(1, len(foreign)); err != nil {
		return err
	}

	var inserts []Entity
	var updates []ownedEntity
	var clearOrphan []int64
	for _, e := range r.pending {
		if r.seen[e.Ref] {
			r.res.Conflicts = append(r.res.Conflicts, Conflict{Ref: e.Ref, OwnerLocation: r.loc})
			continue
		}
		r.seen[e.Ref] = true
		if o, ok := r.mine[e.Ref]; ok {
			if o.hash == e.Hash {
				r.res.Unchanged++
				clearOrphan = append(clearOrphan, o.id)
				continue
			}
			updates = append(updates, ownedEntity{e, o.id})
			continue
		}
		if loc, ok := others[e.Ref]; ok {
			r.res.Conflicts = append(r.res.Conflicts, Conflict{Ref: e.Ref, OwnerLocation: loc})
			continue
		}
		if e.UID == "" {
			e.UID = newUID()
		}
		inserts = append(inserts, e)
	}

	// Updated entities: rewrite the row, replace search and relation rows.
	updIDs := make([]int64, 0, len(updates))
	for _, u := range updates {
		if _, err := r.tx.ExecContext(r.ctx, r.s.q(`UPDATE`+r.s.d.OrFail+` entities SET body = ?, hash = ?, orphan = 0, updated_at = ? WHERE id = ?`),
			string(u.Body), u.Hash, r.now, u.id); err != nil {
			return fmt.Errorf("update %s: %w", u.Ref, err)
		}
		updIDs = append(updIDs, u.id)
	}
	if err := r.s.deleteRows(r.ctx, r.tx, updIDs); err != nil {
		return err
	}
	for i := range updates {
		if err := r.writeRows(updates[i].id, &updates[i].Entity); err != nil {
			return err
		}
	}
	r.res.Updated += len(updates)
	if err := r.s.execChunks(r.ctx, r.tx, "UPDATE entities SET orphan = 0 WHERE orphan = 1 AND id IN (%s)", clearOrphan); err != nil {
		return err
	}

	if r.holdUntil > 0 {
		r.held = append(r.held, inserts...)
		if len(r.held) < r.holdUntil {
			return nil
		}
		// Large enough: build the indexes after the rows.
		inserts, r.held, r.holdUntil = r.held, nil, 0
		r.bulkIndexes = true
	}
	if r.bulkIndexes {
		// Where readers held the catalog tables, every later chunk tries
		// again, once: the rows written so far are indexed one by one,
		// the rest still in bulk.
		tries := firstLoadLockTries
		if r.res.Inserted > 0 {
			tries = 1
		}
		rebuild, dropped, err := r.s.dropSecondaryIndexes(r.ctx, r.tx, tries)
		if err != nil {
			return err
		}
		r.rebuild, r.bulkIndexes = rebuild, !dropped
		if dropped {
			if err := r.frozenFirstLoad(); err != nil {
				return err
			}
		}
	}
	return r.insert(inserts)
}

// frozenFirstLoad has a first load into an empty catalog write its rows
// frozen (Dialect.FirstLoadTruncate): the catalog tables are checked
// empty (nothing of this transaction written yet either) under the
// load's locks and truncated, which lets COPY FREEZE write rows every
// snapshot sees, with their pages all-visible. Otherwise the first reads
// after the load set each row's hint bits, writing its pages again, and
// index-only scans read the heap until the VACUUM after the load has
// marked them all-visible; that VACUUM, competing with the first reads,
// now has little to do. A truncate the database refuses (another
// table's foreign key names entities) only leaves the rows unfrozen. Readers with an older snapshot (a REPEATABLE READ
// transaction begun before the commit that had not read these tables)
// see the rows where they would have seen an empty catalog: PostgreSQL's
// documented cost of COPY FREEZE, and no reader of the store's holds one.
// COPY FREEZE needs the truncate in the current subtransaction: the
// savepoint's release hands it to the transaction, and no savepoint may
// be taken after it in the load (every later COPY would fail).
func (r *replacer) frozenFirstLoad() error {
	if r.s.d.FirstLoadTruncate == "" || r.res.Inserted > 0 {
		return nil // (rows of this load are written already)
	}
	// Only at READ COMMITTED (the store's sessions: postgres.connConfig)
	// does this statement see every row committed before the locks were
	// taken; an older snapshot could miss another writer's, which the
	// truncate would then remove.
	var empty bool
	err := r.tx.QueryRowContext(r.ctx, `SELECT current_setting('transaction_isolation') = 'read committed'
		AND NOT EXISTS (SELECT 1 FROM entities) AND NOT EXISTS (SELECT 1 FROM search)
		AND NOT EXISTS (SELECT 1 FROM relations) AND NOT EXISTS (SELECT 1 FROM search_docs)`).Scan(&empty)
	if err != nil || !empty {
		return err
	}
	if _, err := r.tx.ExecContext(r.ctx, "SAVEPOINT first_load_truncate"); err != nil {
		return fmt.Errorf("first load: %w", err)
	}
	if _, err := r.tx.ExecContext(r.ctx, r.s.d.FirstLoadTruncate); err != nil {
		slog.Debug("first load: the catalog tables cannot be truncated; writing rows unfrozen", "error", err)
		if _, rerr := r.tx.ExecContext(r.ctx, "ROLLBACK TO SAVEPOINT first_load_truncate"); rerr != nil {
			return fmt.Errorf("first load: undo truncate (%v): %w", err, rerr)
		}
	} else {
		r.frozen = true
	}
	if _, err := r.tx.ExecContext(r.ctx, "RELEASE SAVEPOINT first_load_truncate"); err != nil {
		return fmt.Errorf("first load: %w", err)
	}
	for _, in := range []*rowInserter{r.ents, r.search, r.rels, r.docs()} {
		if in != nil {
			in.freeze = r.frozen
		}
	}
	return nil
}

// docs is the search documents' inserter (nil: no search index kept).
func (r *replacer) docs() *rowInserter {
	if r.index == nil {
		return nil
	}
	return r.index.docs
}

// refCheck runs the dialect's statement i of RefCheck (0 before the
// check of n refs, 1 after it), if it has one and there are refs.
func (r *replacer) refCheck(i, n int) error {
	if r.s.d.RefCheck[i] == "" || n == 0 {
		return nil
	}
	_, err := r.tx.ExecContext(r.ctx, r.s.d.RefCheck[i])
	return err
}

// ownedEntity is an entity with its stored id.
type ownedEntity struct {
	Entity
	id int64
}

// insert writes new entities and their rows.
func (r *replacer) insert(es []Entity) error {
	if len(es) == 0 {
		return nil
	}
	ids, err := r.newIDs(len(es))
	if err != nil {
		return err
	}
	for i := range es {
		e := &es[i]
		kind, ns, name := splitRef(e.Ref)
		// A body's bytes as they are where the dialect copies them into
		// its batch anyway (CopyData); a string for a driver that binds
		// []byte as a blob.
		var body any = []byte(e.Body)
		if r.s.d.CopyData == nil {
			body = string(e.Body)
		}
		if err := r.ents.add(ids[i], e.UID, e.Ref, kind, ns, name, r.loc, body, e.Hash, r.now, r.now); err != nil {
			return err
		}
		if err := r.writeRows(ids[i], e); err != nil {
			return err
		}
	}
	r.res.Inserted += len(es)
	return nil
}

// newIDs allocates n entity ids: from the dialect's sequence, or counting
// on from the largest id stored when the transaction began (writes are
// serialized then, and this one holds the lock until it ends).
func (r *replacer) newIDs(n int) ([]int64, error) {
	ids := make([]int64, 0, n)
	if r.s.d.NewIDs != "" {
		rows, err := r.tx.QueryContext(r.ctx, r.s.q(r.s.d.NewIDs), n)
		if err != nil {
			return nil, fmt.Errorf("allocate entity ids: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(ids) != n {
			return nil, fmt.Errorf("allocate entity ids: got %d, want %d", len(ids), n)
		}
		return ids, nil
	}
	for range n {
		r.lastID++
		ids = append(ids, r.lastID)
	}
	return ids, nil
}

// writeRows writes the search and relation rows of the entity stored as id.
func (r *replacer) writeRows(id int64, e *Entity) error {
	packed := r.s.d.PackedRows
	if packed && max(len(e.Search), len(e.Relations)) > rowsPerEntity {
		return fmt.Errorf("%s: %d searchable values and %d relations, more than the %d an entity may have", e.Ref, len(e.Search), len(e.Relations), rowsPerEntity)
	}
	if packed && id >= maxPackedID {
		return fmt.Errorf("%s: entity id %d is past the %d whose rows can be stored", e.Ref, id, maxPackedID-1)
	}
	for i, row := range e.Search {
		if !StoredSearchKey(row.Key) {
			continue
		}
		// Most values are written lower-case already: original is then NULL,
		// a tenth of the search table's bytes (facets read COALESCE(original, value)).
		lower := row.Original == row.Value
		var err error
		if packed {
			var original any = row.Original
			if lower {
				original = nil
			}
			err = r.search.add(id*rowsPerEntity+int64(i), id, row.Key, row.Value, original)
		} else {
			err = r.search.addIDTexts(id, lower, row.Key, row.Value, row.Original)
		}
		if err != nil {
			return err
		}
	}
	for i, rel := range e.Relations {
		source, typ, target := strings.ToLower(rel.Source), strings.ToLower(rel.Type), strings.ToLower(rel.Target)
		var err error
		if packed {
			err = r.rels.add(id*rowsPerEntity+int64(i), id, source, rel.Type, typ, rel.Target, target)
		} else {
			err = r.rels.addIDTexts(id, false, source, rel.Type, typ, rel.Target, target)
		}
		if err != nil {
			return err
		}
	}
	return r.index.add(id, e)
}

// rowsPerEntity bounds an entity's search rows and its relation rows with
// Dialect.PackedRows: each has the rowids id*rowsPerEntity up to the next
// entity's. 2^24 leaves entity ids 39 bits (maxPackedID).
const (
	rowsPerEntity = 1 << 24
	maxPackedID   = 1 << 39
)

// finish writes what is left, then removes or orphans the entities that
// left the location.
func (r *replacer) finish(opts ReplaceOptions) error {
	if err := r.classify(); err != nil {
		return err
	}
	// A first load smaller than the catalog: written with the indexes in place.
	if err := r.insert(r.held); err != nil {
		return err
	}
	r.held = nil
	for _, in := range []*rowInserter{r.ents, r.search, r.rels} {
		if err := in.flush(); err != nil {
			return err
		}
	}
	if len(r.rebuild) > 0 {
		// The search rows too: a first load indexes nothing after this.
		if err := r.index.write(r.ctx, r.tx, false); err != nil {
			return err
		}
	}
	for _, create := range r.rebuild {
		if _, err := r.tx.ExecContext(r.ctx, create); err != nil {
			return fmt.Errorf("rebuild index: %w", err)
		}
	}

	// Entities that left the location (kept ones have not: they are
	// still there, only invalid this time).
	keep := opts.Keep
	if opts.KeepAfter != nil {
		keep = append(slices.Clip(keep), opts.KeepAfter()...)
	}
	for _, ref := range keep {
		r.seen[strings.ToLower(ref)] = true
	}
	var gone []int64
	for ref, o := range r.mine {
		if !r.seen[ref] {
			gone = append(gone, o.id)
		}
	}
	slices.Sort(gone)
	if opts.Orphans == OrphanKeep {
		if err := r.s.execChunks(r.ctx, r.tx, "UPDATE entities SET orphan = 1 WHERE id IN (%s)", gone); err != nil {
			return err
		}
		r.res.Orphaned = len(gone)
		return nil
	}
	if err := r.s.deleteEntities(r.ctx, r.tx, gone); err != nil {
		return err
	}
	r.res.Removed = len(gone)
	return nil
}

// DeleteEntity removes one entity (it comes back on its location's next
// refresh if still there, as in Backstage).
func (s *SQL) DeleteEntity(ctx context.Context, uid string) error {
	defer s.lockWrites()()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		ids, err := s.idsWhere(ctx, tx, `uid = ?`, uid)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return errs.NotFound("no entity with uid %q", uid)
		}
		return s.deleteEntities(ctx, tx, ids)
	})
}

func (s *SQL) idsWhere(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, s.q(`SELECT id FROM entities WHERE `+where), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// deleteRows removes the search, relation and search index rows written
// from the bodies of entities ids (before they are rewritten or deleted).
func (s *SQL) deleteRows(ctx context.Context, tx *sql.Tx, ids []int64) error {
	if s.d.PackedRows {
		if err := deleteRanges(ctx, tx, ids); err != nil {
			return err
		}
	} else {
		if err := s.execChunks(ctx, tx, "DELETE FROM search WHERE entity_id IN (%s)", ids); err != nil {
			return err
		}
		if err := s.execChunks(ctx, tx, "DELETE FROM relations WHERE origin_id IN (%s)", ids); err != nil {
			return err
		}
	}
	return s.deleteSearchRows(ctx, tx, ids, SearchTypeCatalog)
}

// deleteRanges removes the search and relation rows of entities ids where
// they are packed (Dialect.PackedRows): a rowid range each.
func deleteRanges(ctx context.Context, tx *sql.Tx, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	for _, table := range []string{"search", "relations"} {
		st, err := tx.PrepareContext(ctx, "DELETE FROM "+table+" WHERE id BETWEEN ? AND ?")
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := st.ExecContext(ctx, id*rowsPerEntity, id*rowsPerEntity+rowsPerEntity-1); err != nil {
				st.Close()
				return fmt.Errorf("delete %s rows of entity %d: %w", table, id, err)
			}
		}
		st.Close()
	}
	return nil
}

// deleteEntities removes entities ids with every row naming them, their
// docs' search rows included.
func (s *SQL) deleteEntities(ctx context.Context, tx *sql.Tx, ids []int64) error {
	if err := s.deleteRows(ctx, tx, ids); err != nil {
		return err
	}
	if err := s.deleteSearchRows(ctx, tx, ids, SearchTypeDocs); err != nil {
		return err
	}
	// An entity's docs site goes with it: an entity registered later under
	// the same ref must not be served the old one's docs. Files kept
	// outside the database are left to the publisher's sweep.
	if err := s.execChunks(ctx, tx, orphanDocsSQL+"entity_ref IN (SELECT ref FROM entities WHERE id IN (%s))"+onConflictNothing, ids); err != nil {
		return err
	}
	for _, table := range []string{"docs_files", "docs_sites"} {
		if err := s.execChunks(ctx, tx, "DELETE FROM "+table+" WHERE entity_ref IN (SELECT ref FROM entities WHERE id IN (%s))", ids); err != nil {
			return err
		}
	}
	return s.execChunks(ctx, tx, "DELETE FROM entities WHERE id IN (%s)", ids)
}

// execChunks runs stmt (one %s for a placeholder list) over ids, at most
// MaxParams at a time.
func (s *SQL) execChunks(ctx context.Context, tx *sql.Tx, stmt string, ids []int64) error {
	for _, chunk := range chunks(ids, s.d.MaxParams) {
		if _, err := tx.ExecContext(ctx, s.q(fmt.Sprintf(stmt, placeholders(len(chunk)))), anys(chunk)...); err != nil {
			return err
		}
	}
	return nil
}

// FirstLoadIndexes returns the CREATE statements of the secondary indexes a
// first load may drop and rebuild (Dialect.FirstLoadIndexes), sorted: a
// load must leave them as it found them.
func (s *SQL) FirstLoadIndexes(ctx context.Context) ([]string, error) {
	if s.d.FirstLoadIndexes == "" {
		return nil, nil
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	_, creates, err := s.listIndexes(ctx, tx)
	slices.Sort(creates)
	return creates, err
}

// firstLoadLockTries are a first load's attempts at Dialect.FirstLoadLock
// when its first chunk is written, a pause of firstLoadLockPause apart;
// then one more with each chunk.
const (
	firstLoadLockTries = 10
	firstLoadLockPause = 30 * time.Millisecond
)

// firstLoadLock takes every catalog table's lock a first load's index
// drops need, all at once and without waiting (Dialect.FirstLoadLock), in
// a savepoint: false when a reader (or a vacuum) holds one of them still
// after tries, the savepoint then undone. Waiting instead would queue
// every reader behind the load, and a reader holding one table while it
// waits for another the load holds would be a deadlock (PostgreSQL then
// aborts one of the two: a failed request); a load that never waits for a
// lock is in no such cycle.
func (s *SQL) firstLoadLock(ctx context.Context, tx *sql.Tx, tries int) (bool, error) {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT first_load_lock"); err != nil {
		return false, fmt.Errorf("first load: %w", err)
	}
	var err error
	for try := range tries {
		if try > 0 {
			time.Sleep(firstLoadLockPause)
		}
		if _, err = tx.ExecContext(ctx, s.d.FirstLoadLock); err == nil {
			_, err = tx.ExecContext(ctx, "RELEASE SAVEPOINT first_load_lock")
			return err == nil, err
		}
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT first_load_lock"); rerr != nil {
			return false, fmt.Errorf("first load: undo lock attempt (%v): %w", err, rerr)
		}
	}
	slog.Debug("first load: the catalog tables are in use; writing with their indexes in place", "tries", tries, "last", err)
	_, rerr := tx.ExecContext(ctx, "RELEASE SAVEPOINT first_load_lock")
	return false, rerr
}

// listIndexes lists the names and CREATE statements of the indexes
// Dialect.FirstLoadIndexes names.
func (s *SQL) listIndexes(ctx context.Context, tx *sql.Tx) (names, creates []string, err error) {
	rows, err := tx.QueryContext(ctx, s.d.FirstLoadIndexes)
	if err != nil {
		return nil, nil, fmt.Errorf("list indexes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, create string
		if err := rows.Scan(&name, &create); err != nil {
			return nil, nil, err
		}
		names, creates = append(names, name), append(creates, create)
	}
	return names, creates, rows.Err()
}

// dropSecondaryIndexes drops the secondary indexes the dialect lists,
// returning the statements that rebuild them, for a first load at least as
// large as the whole stored catalog: building an index from sorted rows is
// far cheaper than inserting into it row by row. The drop, the load and the
// rebuild share one transaction, so readers never see a missing index: on
// SQLite they read their WAL snapshot meanwhile; on PostgreSQL they wait
// for the commit (Dialect.FirstLoadLocks), and where the catalog tables
// are busy the indexes stay (firstLoadLock, tries times; dropped is then
// false).
func (s *SQL) dropSecondaryIndexes(ctx context.Context, tx *sql.Tx, tries int) (rebuild []string, dropped bool, err error) {
	if s.d.FirstLoadLock != "" {
		locked, err := s.firstLoadLock(ctx, tx, tries)
		if err != nil || !locked {
			return nil, false, err
		}
	}
	names, creates, err := s.listIndexes(ctx, tx)
	if err != nil {
		return nil, false, err
	}
	for _, name := range names {
		if _, err := tx.ExecContext(ctx, "DROP INDEX "+name); err != nil {
			return nil, false, fmt.Errorf("drop index %s: %w", name, err)
		}
	}
	return creates, true, nil
}

// rowInserter writes the rows of one table. On a dialect with CopyRows it
// buffers copyRows rows at a time for it (with CopyData, encoded as they
// come: appendCopyRow); with PreparedInserts it runs a
// prepared INSERT OR FAIL of preparedRows rows on the driver's connection
// (exec), and one of a single row for each row left at a flush; otherwise
// it buffers rows into multi-row INSERTs of at most MaxParams
// placeholders. Buffered rows are written at the latest by flush.
type rowInserter struct {
	s   *SQL
	ctx context.Context
	// done is the context the transaction was begun with (see onConn).
	done    context.Context
	conn    *sql.Conn
	tx      *sql.Tx
	table   string
	columns []string
	buf     []any
	// raw and rawRows are the INSERTs of one row and of preparedRows rows
	// prepared on conn's driver connection, and args their arguments (see
	// exec).
	raw, rawRows driver.Stmt
	args         []driver.NamedValue
	// bytes is the text and bytes of the rows buffered for CopyRows.
	bytes int
	// data holds the rows encoded for CopyData, rows of them; err is the
	// failure of a batch written, after which the inserter refuses rows
	// (its transaction is to be rolled back, and a batch sent again
	// could duplicate rows the database kept).
	data []byte
	rows int
	err  error
	// freeze: CopyData writes the rows frozen (replacer.frozenFirstLoad).
	freeze bool
}

// preparedRows is how many rows one prepared INSERT writes with
// PreparedInserts: each statement run costs a bind of its arguments, a
// step, a reset and the driver's locking whatever its rows, and a first
// load runs millions. On SQLite (modernc), 600k search rows into a table
// alone took 1.34 µs a row one at a time, 0.96-0.99 at 8 a statement,
// 1.00-1.03 at 16, 1.22 at 32 (each argument is looked up among all of
// the statement's); with an index in place 3.0 µs a row, 2.5 at 8. OR
// FAIL keeps SQLite from opening a statement journal for a statement of
// many rows (a failure keeps the rows before it; the transaction is
// rolled back on any error).
const preparedRows = 8

// copyRows is how many rows a rowInserter hands CopyRows at a time unless
// the dialect says (Dialect.CopyBatch): each call costs a statement to
// prepare on SQLite's C library, where 10,000 made a 100k-entity load
// 3-5 % slower than 2,000. Its rows are held until then (four tables'
// worth: at 10000, with 8000 entities held per classified chunk, a worker
// loading 100k entities peaked at 240-270 MiB; at 2000, with
// classifyChunk, at 147 MiB, for the same CPU time; PostgreSQL's 10,000
// took a worker's peak from ~115 to 133-139 MiB in 2026-12-07's runs).
const copyRows = 2000

// copyBytes bounds the text and bytes of the rows buffered for CopyRows
// too: 2000 entities of a megabyte each would otherwise be held (and on
// SQLite copied once more into the batch) all at once. It is the bound
// that counts for the entities' bodies (~1.5 KB each): with PostgreSQL's
// 10,000-row batches and parsing no longer holding the writer up, a
// worker loading 100k entities peaked at 139-155 MiB with 8 MiB (3 of 13
// runs at 149.8 or more) and at 132-142 MiB with 4 MiB, as fast
// (2026-12-07, BenchmarkCatalogServerWorker, interleaved).
const copyBytes = 4 << 20

func (r *replacer) inserter(table string, columns ...string) *rowInserter {
	return &rowInserter{s: r.s, ctx: r.ctx, done: r.done, conn: r.conn, tx: r.tx, table: table, columns: columns}
}

func (in *rowInserter) width() int { return len(in.columns) }

func (in *rowInserter) row() string { return "(" + placeholders(in.width()) + ")" }

func (in *rowInserter) insertInto() string {
	verb := "INSERT INTO "
	if in.s.d.PreparedInserts {
		verb = "INSERT" + in.s.d.OrFail + " INTO "
	}
	return verb + in.table + " (" + strings.Join(in.columns, ", ") + ") VALUES "
}

// add writes one row (one value per column), or buffers it.
func (in *rowInserter) add(vals ...any) error {
	if in.s.d.CopyData != nil {
		if in.err != nil {
			return in.err
		}
		if len(vals) != len(in.columns) {
			return fmt.Errorf("%s: a row of %d values for %d columns", in.table, len(vals), len(in.columns))
		}
		at := len(in.data)
		var err error
		in.data, err = appendCopyRow(in.data, vals)
		return in.encoded(at, err)
	}
	in.buf = append(in.buf, vals...)
	if in.s.d.PreparedInserts {
		if len(in.buf) < preparedRows*in.width() {
			return nil
		}
		err := in.exec(&in.rawRows, preparedRows, in.buf)
		clear(in.buf)
		in.buf = in.buf[:0]
		return err
	}
	limit := max(in.width(), in.s.d.MaxParams)
	if in.s.d.CopyRows != nil {
		limit = cmp.Or(in.s.d.CopyBatch, copyRows) * in.width()
		for _, v := range vals {
			switch t := v.(type) {
			case string:
				in.bytes += len(t)
			case []byte:
				in.bytes += len(t)
			}
		}
		if in.bytes >= copyBytes {
			return in.flush()
		}
	}
	if len(in.buf)+in.width() > limit {
		return in.flush()
	}
	return nil
}

// addIDTexts is add(id, texts...), the last text written as NULL if
// lastNull; where rows are encoded as they come (CopyData) the values are
// not boxed on the way (3M allocations in a 100k-entity load).
func (in *rowInserter) addIDTexts(id int64, lastNull bool, texts ...string) error {
	if in.s.d.CopyData != nil {
		if in.err != nil {
			return in.err
		}
		if 1+len(texts) != len(in.columns) {
			return fmt.Errorf("%s: a row of %d values for %d columns", in.table, 1+len(texts), len(in.columns))
		}
		at := len(in.data)
		var err error
		in.data, err = appendCopyIDTexts(in.data, id, lastNull, texts)
		return in.encoded(at, err)
	}
	vals := make([]any, 0, 1+len(texts))
	vals = append(vals, id)
	for i, t := range texts {
		if lastNull && i == len(texts)-1 {
			vals = append(vals, nil)
		} else {
			vals = append(vals, t)
		}
	}
	return in.add(vals...)
}

// encoded counts a row encoded for CopyData from in.data[at:] (err: its
// encoding failed, and what it appended goes), and writes the batch once
// it is full.
func (in *rowInserter) encoded(at int, err error) error {
	if err != nil {
		in.data = in.data[:at]
		return fmt.Errorf("%s: %w", in.table, err)
	}
	if in.rows++; in.rows >= cmp.Or(in.s.d.CopyBatch, copyRows) || len(in.data) >= copyBytes {
		return in.flush()
	}
	return nil
}

// flush writes the buffered rows.
func (in *rowInserter) flush() error {
	if in.err != nil {
		return in.err
	}
	if in.rows > 0 {
		var n int64
		err := in.onConn(func(dc any) (err error) {
			n, err = in.s.d.CopyData(in.ctx, dc, in.table, in.columns, in.data, in.freeze)
			return err
		})
		if err == nil && n != int64(in.rows) {
			err = fmt.Errorf("%d rows written", n)
		}
		if err != nil {
			in.err = fmt.Errorf("write %d rows into %s: %w", in.rows, in.table, err)
			in.data, in.rows = nil, 0
			return in.err
		}
		// The buffer is kept for the next batch, unless a large row grew
		// it well past the bound.
		in.data, in.rows = in.data[:0], 0
		if cap(in.data) > 2*copyBytes {
			in.data = nil
		}
		return nil
	}
	if len(in.buf) == 0 {
		return nil
	}
	w := in.width()
	n := len(in.buf) / w
	if in.s.d.PreparedInserts {
		for i := range n {
			if err := in.exec(&in.raw, 1, in.buf[i*w:(i+1)*w]); err != nil {
				return err
			}
		}
		clear(in.buf)
		in.buf = in.buf[:0]
		return nil
	}
	if in.s.d.CopyRows != nil {
		rows := make([][]any, n)
		for i := range rows {
			rows[i] = in.buf[i*w : (i+1)*w : (i+1)*w]
		}
		err := in.onConn(func(dc any) error { return in.s.d.CopyRows(in.ctx, dc, in.table, in.columns, rows) })
		if err != nil {
			return fmt.Errorf("write %d rows into %s: %w", n, in.table, err)
		}
		clear(in.buf)
		in.buf, in.bytes = in.buf[:0], 0
		return nil
	}
	var b strings.Builder
	b.WriteString(in.insertInto())
	row := in.row()
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	if _, err := in.tx.ExecContext(in.ctx, in.s.q(b.String()), in.buf...); err != nil {
		return fmt.Errorf("insert into %s: %w", in.table, err)
	}
	in.buf = in.buf[:0]
	return nil
}

// exec runs the table's INSERT of rows rows (vals, a row's values after
// another) on the driver's connection (in the transaction open there),
// the statement prepared there once into *stmt: database/sql's own
// statement path (converting each argument, finding the statement's
// connection, locking it, wrapping the result) was a sixth of the CPU
// time of a first load's 3M single-row inserts, and a tenth of the
// store's share of the load (BenchmarkFirstLoad on SQLite).
func (in *rowInserter) exec(stmt *driver.Stmt, rows int, vals []any) error {
	err := in.onConn(func(dc any) error {
		if *stmt == nil {
			p, ok := dc.(driver.ConnPrepareContext)
			if !ok {
				return fmt.Errorf("driver connection %T cannot prepare statements", dc)
			}
			text := in.insertInto() + in.row() + strings.Repeat(","+in.row(), rows-1)
			st, err := p.PrepareContext(in.ctx, in.s.q(text))
			if err != nil {
				return err
			}
			*stmt = st
		}
		ex, ok := (*stmt).(driver.StmtExecContext)
		if !ok {
			return fmt.Errorf("driver statement %T cannot run with a context", *stmt)
		}
		in.args = in.args[:0]
		for i, v := range vals {
			if !driver.IsValue(v) {
				// What database/sql converts by default (an int, a Valuer).
				c, err := driver.DefaultParameterConverter.ConvertValue(v)
				if err != nil {
					return fmt.Errorf("column %s: %w", in.columns[i%in.width()], err)
				}
				v = c
			}
			in.args = append(in.args, driver.NamedValue{Ordinal: i + 1, Value: v})
		}
		_, err := ex.ExecContext(in.ctx, in.args)
		return err
	})
	if err != nil {
		return fmt.Errorf("insert into %s: %w", in.table, err)
	}
	return nil
}

// onConn runs f on the driver connection the transaction is open on, if
// it still is. When the context the transaction was begun with ends,
// database/sql rolls it back on a goroutine of its own and may keep the
// connection (a driver that resets sessions): a statement run on the
// driver connection after that would run outside any transaction and
// commit on its own. The rollback takes the connection's lock, which f
// holds (sql.Conn.Raw), and follows the context's end: a context still
// live under the lock means the transaction is still open until f returns.
func (in *rowInserter) onConn(f func(dc any) error) error {
	if in.conn == nil {
		return errors.New("no connection held")
	}
	return in.conn.Raw(func(dc any) error {
		if in.done == nil {
			return errors.New("no transaction context")
		}
		if err := in.done.Err(); err != nil {
			return fmt.Errorf("the transaction ended: %w", context.Cause(in.done))
		}
		return f(dc)
	})
}

func (in *rowInserter) close() {
	for _, st := range []*driver.Stmt{&in.raw, &in.rawRows} {
		if *st != nil {
			_ = in.conn.Raw(func(any) error { return (*st).Close() })
			*st = nil
		}
	}
}

// ---- read path

// entityCols are the columns scanEntity reads, for d. The body is read as
// bytes where d can (Dialect.BodyAsBytes): as text on SQLite it was
// copied three times on its way to StoredEntity.Body (twice by the
// driver, once from string to bytes), a sixth of an owner page's
// allocation at 10k entities.
func entityCols(d Dialect) string {
	body := "e.body"
	if d.BodyAsBytes != "" {
		body = fmt.Sprintf(d.BodyAsBytes, body)
	}
	return `e.uid, e.ref, e.hash, COALESCE(e.location_id, ''), e.orphan, ` + body + `, e.created_at, e.updated_at`
}

// bodyBytes scans a stored body: bytes (copied, as a driver's are its
// own only until the next row) or text.
type bodyBytes json.RawMessage

// ownedBodyBytes scans a stored body the driver handed in a slice of its
// own (Dialect.BytesOwned): kept, not copied.
type ownedBodyBytes json.RawMessage

func (b *ownedBodyBytes) Scan(src any) error {
	if v, ok := src.([]byte); ok {
		*b = v
		return nil
	}
	return (*bodyBytes)(b).Scan(src)
}

func (b *bodyBytes) Scan(src any) error {
	switch v := src.(type) {
	case []byte:
		*b = bytes.Clone(v)
	case string:
		*b = []byte(v)
	default:
		return fmt.Errorf("an entity body stored as %T", src)
	}
	return nil
}

func (s *SQL) scanEntity(row interface{ Scan(...any) error }, extra ...any) (*StoredEntity, error) {
	return s.newEntityScan(extra...).scan(row)
}

// entityScan scans rows of entityCols, then extra, into new entities; its
// destinations serve every row (they were a sixth of an owner page's
// allocation, made again at each row).
type entityScan struct {
	e                StoredEntity
	orphan           int
	created, updated sql.NullString
	dest             []any
}

func (s *SQL) newEntityScan(extra ...any) *entityScan {
	r := &entityScan{}
	var body sql.Scanner = (*bodyBytes)(&r.e.Body)
	if s.d.BytesOwned {
		body = (*ownedBodyBytes)(&r.e.Body)
	}
	r.dest = append([]any{&r.e.UID, &r.e.Ref, &r.e.ETag, &r.e.LocationID, &r.orphan, body, &r.created, &r.updated}, extra...)
	return r
}

// scan reads row (and its extra columns, into extra) and returns the
// entity it holds, new at each call.
func (r *entityScan) scan(row interface{ Scan(...any) error }) (*StoredEntity, error) {
	r.e = StoredEntity{}
	if err := row.Scan(r.dest...); err != nil {
		return nil, err
	}
	e := new(StoredEntity)
	*e = r.e
	e.Orphan = r.orphan == 1
	e.Hash = e.ETag
	e.CreatedAt, e.UpdatedAt = parseTS(r.created), parseTS(r.updated)
	return e, nil
}

// EntityByRef implements Store: the entity and its relations in one
// statement, prepared once, and on SQLite run without ctx's cancellation:
// a lookup by primary key ends soon anyway, and the driver would watch a
// cancellable context on a goroutine per statement (most of the cost of so
// small a read).
func (s *SQL) EntityByRef(ctx context.Context, ref string) (*StoredEntity, error) {
	st, err := s.byRefStmt(ctx)
	if err != nil {
		return nil, err
	}
	ref = strings.ToLower(ref)
	var rels string
	var gen int64
	qctx := ctx
	if !s.d.FirstLoadLocks {
		// SQLite: a WAL reader never waits on a writer. On PostgreSQL the
		// read waits while a first load holds the table, and keeps the
		// caller's deadline.
		qctx = context.WithoutCancel(ctx)
	}
	e, err := s.scanEntity(st.QueryRowContext(qctx, ref), &rels, &gen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFound("no entity named %q", ref)
	}
	if err != nil {
		return nil, err
	}
	e.Gen = gen
	if e.Relations, err = s.relationsOf(e.Ref, rels); err != nil {
		return nil, err
	}
	e.ETag = ServedETag(e.Hash, e.Relations)
	return e, nil
}

// byRefStmt prepares EntityByRef's statement on first use.
func (s *SQL) byRefStmt(ctx context.Context) (*sql.Stmt, error) {
	s.byRefMu.Lock()
	defer s.byRefMu.Unlock()
	if s.byRef != nil {
		return s.byRef, nil
	}
	st, err := s.db.PrepareContext(ctx, s.q(`SELECT `+s.cols+`, `+s.relationsCol("e.ref")+`, `+s.generationCol()+` FROM entities e WHERE e.ref = ?`))
	if err != nil {
		return nil, err
	}
	s.byRef = st
	return st, nil
}

// EntityByUID implements Store.
func (s *SQL) EntityByUID(ctx context.Context, uid string) (*StoredEntity, error) {
	e, err := s.scanEntity(s.db.QueryRowContext(ctx, s.q(`SELECT `+s.cols+` FROM entities e WHERE e.uid = ?`), uid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFound("no entity with uid %q", uid)
	}
	if err != nil {
		return nil, err
	}
	return e, s.attachRelations(ctx, []*StoredEntity{e})
}

// EntitiesByRefs implements Store.
func (s *SQL) EntitiesByRefs(ctx context.Context, refs []string) ([]*StoredEntity, error) {
	return s.entitiesByRefs(ctx, refs, true)
}

// EntityBodiesByRefs implements Store.
func (s *SQL) EntityBodiesByRefs(ctx context.Context, refs []string) ([]*StoredEntity, error) {
	return s.entitiesByRefs(ctx, refs, false)
}

func (s *SQL) entitiesByRefs(ctx context.Context, refs []string, relations bool) ([]*StoredEntity, error) {
	lower := make([]string, len(refs))
	for i, r := range refs {
		lower[i] = strings.ToLower(r)
	}
	found := map[string]*StoredEntity{}
	scan := s.newEntityScan()
	for _, chunk := range chunks(lower, s.d.MaxParams) {
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+s.cols+` FROM entities e WHERE e.ref IN (`+placeholders(len(chunk))+`)`), anys(chunk)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			e, err := scan.scan(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			found[e.Ref] = e
		}
		rows.Close()
	}
	out := make([]*StoredEntity, len(refs))
	var list []*StoredEntity
	for i, r := range lower {
		out[i] = found[r]
		if found[r] != nil {
			list = append(list, found[r])
		}
	}
	if !relations {
		return out, nil
	}
	return out, s.attachRelations(ctx, list)
}

// relationsCol is a scalar subquery: the relations whose source is the
// ref in refCol, as pairs of [type, target] (s.relationsOf reads them,
// distinct and in the order attachRelations reads them): on SQLite a JSON
// array, on PostgreSQL a two-dimensional text array. Building JSON values
// there (json_build_array, json_agg) was a fifth of an owner page's
// execution at 100k entities (1.09-1.41 ms against 0.93-1.02 for the
// array, 600 pages each), and the array's text form is as quick to read.
//
// The pairs are neither made distinct nor sorted in SQL, as Go does both
// on a few pairs (sortedDistinct, which finds them in order as the index
// relations_source reads them under a binary collation). On SQLite either
// needs an ephemeral table, whose pages the driver's allocator maps and
// unmaps for each row the subquery runs for (a system call pair and page
// faults: 85 of a by-name read's 130 us at 100k entities, and as much for
// each entity of a page); on PostgreSQL an aggregate's ORDER BY sorts
// each row's pairs again: with it and DISTINCT an owner page took a
// p50 of 1.68-1.96 ms at 10k entities (BenchmarkCatalogRead), without
// 1.41-1.55.
func (s *SQL) relationsCol(refCol string) string {
	if s.d.Name == "postgres" {
		return "ARRAY(SELECT ARRAY[type, target_ref] FROM relations WHERE source_ref = " + refCol + ")"
	}
	return "(SELECT json_group_array(json_array(type, target_ref)) FROM relations WHERE source_ref = " + refCol + ")"
}

// relationsOf reads relationsCol's pairs: the relations of ref, distinct
// and ordered by type and then target.
func (s *SQL) relationsOf(ref, raw string) ([]Relation, error) {
	if s.d.Name == "postgres" {
		rels, err := parseTextPairs(ref, raw)
		if err != nil {
			return nil, err
		}
		return sortedDistinct(rels), nil
	}
	return readRelations(ref, raw)
}

// readRelations reads a JSON array of [type, target] pairs: the relations of ref,
// distinct, ordered by type and then target (byte order, as SQL's ORDER
// BY under the binary collation).
func readRelations(ref, raw string) ([]Relation, error) {
	rels, err := parseRelations(ref, raw)
	if err != nil {
		return nil, err
	}
	return sortedDistinct(rels), nil
}

// sortedDistinct orders rels by type and then target and drops repeats;
// rels already so (SQLite's index relations_source reads them in this
// order, so only repeats need work; PostgreSQL's under a C collation) is
// returned as it is, with no allocation.
func sortedDistinct(rels []Relation) []Relation {
	cmp := func(a, b Relation) int {
		if c := strings.Compare(a.Type, b.Type); c != 0 {
			return c
		}
		return strings.Compare(a.Target, b.Target)
	}
	for i := 1; i < len(rels); i++ {
		if cmp(rels[i-1], rels[i]) >= 0 {
			slices.SortFunc(rels, cmp)
			return slices.CompactFunc(rels, func(a, b Relation) bool { return cmp(a, b) == 0 })
		}
	}
	return rels
}

// parseRelations reads readRelations' array: the relations of ref. The
// strings of the array share raw's memory when none holds an escape (the
// usual case: reflection and a copy of each string were a sixth of an
// owner page's allocation); json.Unmarshal reads anything else.
func parseRelations(ref, raw string) ([]Relation, error) {
	if out, ok := scanPairs(ref, raw); ok {
		return out, nil
	}
	var pairs [][2]string
	if err := json.Unmarshal([]byte(raw), &pairs); err != nil {
		return nil, fmt.Errorf("relations of %s: %w", ref, err)
	}
	out := make([]Relation, len(pairs))
	for i, p := range pairs {
		out[i] = Relation{Source: ref, Type: p[0], Target: p[1]}
	}
	return out, nil
}

// scanPairs reads a JSON array of [type, target] string pairs whose
// strings are ASCII without a backslash (as SQLite and PostgreSQL write
// refs, spaces allowed); ok is false for anything else.
func scanPairs(ref, raw string) (out []Relation, ok bool) {
	i := 0
	skip := func() {
		for i < len(raw) && (raw[i] == ' ' || raw[i] == '\n' || raw[i] == '\t' || raw[i] == '\r') {
			i++
		}
	}
	want := func(c byte) bool {
		skip()
		if i < len(raw) && raw[i] == c {
			i++
			return true
		}
		return false
	}
	str := func() (string, bool) {
		if !want('"') {
			return "", false
		}
		start := i
		for i < len(raw) && raw[i] != '"' {
			if raw[i] == '\\' || raw[i] < 0x20 || raw[i] >= 0x80 {
				return "", false
			}
			i++
		}
		if i >= len(raw) {
			return "", false
		}
		i++
		return raw[start : i-1], true
	}
	if !want('[') {
		return nil, false
	}
	out = make([]Relation, 0, max(0, strings.Count(raw, "]")-1))
	if want(']') {
		skip()
		return out, i == len(raw)
	}
	for {
		if !want('[') {
			return nil, false
		}
		typ, ok1 := str()
		if !ok1 || !want(',') {
			return nil, false
		}
		target, ok2 := str()
		if !ok2 || !want(']') {
			return nil, false
		}
		out = append(out, Relation{Source: ref, Type: typ, Target: target})
		if want(']') {
			skip()
			return out, i == len(raw)
		}
		if !want(',') {
			return nil, false
		}
	}
}

// attachRelations loads the relations of es in one query per chunk.
func (s *SQL) attachRelations(ctx context.Context, es []*StoredEntity) error {
	if len(es) == 0 {
		return nil
	}
	byRef := map[string][]*StoredEntity{}
	refs := make([]string, 0, len(es))
	for _, e := range es {
		if _, ok := byRef[e.Ref]; !ok {
			refs = append(refs, e.Ref)
		}
		byRef[e.Ref] = append(byRef[e.Ref], e)
		e.Relations = []Relation{}
	}
	for _, chunk := range chunks(refs, s.d.MaxParams) {
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT DISTINCT source_ref, type, target_ref FROM relations WHERE source_ref IN (`+placeholders(len(chunk))+`) ORDER BY source_ref, type, target_ref`), anys(chunk)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r Relation
			if err := rows.Scan(&r.Source, &r.Type, &r.Target); err != nil {
				rows.Close()
				return err
			}
			for _, e := range byRef[r.Source] {
				e.Relations = append(e.Relations, r)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for _, e := range es {
		// The database's order (PostgreSQL's collation may not be byte
		// order), made the one every read path serves.
		e.Relations = sortedDistinct(e.Relations)
		e.ETag = ServedETag(e.Hash, e.Relations)
	}
	return nil
}

// ServedETag is the etag an entity is served with: a hash of its stored
// body's hash and of the relations read with it (sorted, as every read
// path sorts them). The relations whose source is an entity are partly
// written by other entities (a component's ownedBy makes its group's
// ownerOf), so a change elsewhere — a new dependent, an owner moved away
// — changes the served entity and, through this, its etag, as Backstage's
// final_entities etag does; the body hash alone would not.
func ServedETag(bodyHash string, rels []Relation) string {
	// Most entities' text fits the stack buffer (an owner page's 50
	// buffers were 5 % of its allocation); a longer one grows onto the heap.
	var stack [1024]byte
	b := append(stack[:0], bodyHash...)
	for _, r := range rels {
		// NUL and newline occur in no ref and no relation type.
		b = append(append(append(append(b, '\n'), r.Type...), 0), r.Target...)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func splitRef(ref string) (kind, ns, name string) {
	kind, rest, _ := strings.Cut(ref, ":")
	ns, name, _ = strings.Cut(rest, "/")
	return kind, ns, name
}

func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

func anys[T any](ss []T) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func chunks[T any](ss []T, n int) [][]T {
	if n <= 0 {
		n = 500
	}
	var out [][]T
	for len(ss) > 0 {
		k := min(n, len(ss))
		out = append(out, ss[:k])
		ss = ss[k:]
	}
	return out
}

// newUID returns a time-ordered (version 7) UUID: consecutive inserts then
// land at the end of the uid index instead of at random pages.
func newUID() string {
	u, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return u.String()
}
