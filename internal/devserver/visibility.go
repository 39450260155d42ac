package devserver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iancoleman/strcase"
	"github.com/jmoiron/sqlx"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	persistencesql "go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/resolver"
)

// The embedded server keeps its visibility records (the rows behind
// ListWorkflowExecutions and the Temporal UI's lists) in a SQLite file of
// their own, through the plugin below.
//
// Why: Temporal's SQLite plugin runs every statement through sqlx with no
// prepared statement, and modernc's driver keeps none either, so each
// visibility write compiled its upsert again: 2,668 VDBE ops over a table
// with 60 indexes and three full-text triggers, 4–5 ms of CPU and ~55 page
// faults a call, two calls a task. In the shared file it also held the one
// connection the history service's own writes wait for.
//
// The plugin is the stock one for everything but the visibility table's
// seven calls, which it runs on its own connections with their statements
// prepared once (writes) or kept by text (reads: see maxKeptReads). Writes
// that arrive while another commits are committed together. It
// reports the stock plugin's name, so Temporal picks the SQLite query
// converter for it as before.
const visibilityPlugin = "rigger-sqlite-visibility"

func init() { persistencesql.RegisterPlugin(visibilityPlugin, preparedVisibility{}) }

// visibilityFile is the visibility records' file in the data dir.
const visibilityFile = "temporal-visibility.db"

// prepareVisibility returns the visibility store's configuration: the main
// store's attributes on the file at path, through visibilityPlugin.
//
// The file is made when missing, with the visibility table's schema taken
// from the main file (Temporal's own, created there by its setup), built
// under another name and renamed into place once complete; an existing
// file gets the indexes a new one would (alignVisibilityIndexes). A main file
// made just now (mainIsNew) drops a visibility file left from an earlier
// one: its records name runs that no longer exist. Records found in the main
// file (a data dir from before the split, or one an older rigger ran on
// since) are moved into the visibility file on every start: copied, a newer
// version of a record winning, then deleted from the main file; a crash in
// between leaves copies that the next start moves again.
func prepareVisibility(mainCfg *config.SQL, path string, mainIsNew bool, logger *slog.Logger) (*config.SQL, error) {
	vis := *mainCfg
	vis.PluginName = visibilityPlugin
	vis.DatabaseName = path
	vis.ConnectAttributes = maps.Clone(mainCfg.ConnectAttributes)
	if mainIsNew {
		for _, f := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
		}
	}
	built := false
	switch _, err := os.Stat(path); {
	case errors.Is(err, os.ErrNotExist):
		if err := buildVisibilityFile(mainCfg.DatabaseName, path); err != nil {
			return nil, fmt.Errorf("make %s: %w", path, err)
		}
		built = true
	case err != nil:
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	// One connection for both start-up steps.
	err := onAttached(path, mainCfg.DatabaseName, func(ctx context.Context, conn *sql.Conn) error {
		if !built {
			// Shown at the embedded server's log level (warn): on a large
			// data dir this takes a while, once.
			if _, err := alignVisibilityIndexes(ctx, conn, func(indexes int, records int64) {
				logger.Warn("rebuilding indexes of the visibility file made by an older rigger (once)", "indexes", indexes, "records", records, "file", path)
			}); err != nil {
				return fmt.Errorf("index %s: %w", path, err)
			}
		}
		moved, err := moveVisibilityRecords(ctx, conn, mainCfg.DatabaseName)
		if err != nil {
			return fmt.Errorf("move the visibility records of %s to %s: %w", mainCfg.DatabaseName, path, err)
		}
		if moved > 0 {
			logger.Warn("moved Temporal's visibility records to their own file (a data dir an older rigger ran on)", "records", moved, "from", mainCfg.DatabaseName, "to", path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &vis, nil
}

// attached is a connection to file with other attached as "old".
func attached(ctx context.Context, file, other string) (*sql.DB, *sql.Conn, error) {
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout%3D5000")
	if err != nil {
		return nil, nil, err
	}
	conn, err := db.Conn(ctx) // ATTACH holds for one connection
	if err == nil {
		if _, err = conn.ExecContext(ctx, "ATTACH DATABASE ? AS old", other); err != nil {
			_ = conn.Close()
		}
	}
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	return db, conn, nil
}

// buildVisibilityFile makes the file at path with the schema of the main
// file's visibility table: the table, its indexes and triggers, and the
// full-text tables the triggers keep (whose own storage tables these
// create).
func buildVisibilityFile(mainFile, path string) (err error) {
	tmp := path + ".new"
	for _, f := range []string{tmp, tmp + "-journal"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	ctx := context.Background()
	db, conn, err := attached(ctx, tmp, mainFile)
	if err != nil {
		return err
	}
	defer func() {
		err = errors.Join(err, conn.Close(), db.Close())
		if err == nil {
			if err = os.Rename(tmp, path); err == nil {
				err = syncDir(filepath.Dir(path))
			}
		}
	}()
	rows, err := conn.QueryContext(ctx, `SELECT type, name, sql FROM old.sqlite_master WHERE sql IS NOT NULL AND
		(tbl_name = 'executions_visibility' OR (type = 'table' AND name LIKE 'executions\_visibility\_%' ESCAPE '\' AND sql LIKE 'CREATE VIRTUAL TABLE%'))
		ORDER BY rowid`)
	if err != nil {
		return err
	}
	var ddl []string
	for rows.Next() {
		var typ, name, s string
		if err := rows.Scan(&typ, &name, &s); err != nil {
			rows.Close()
			return err
		}
		if typ == "index" {
			var keep bool
			if s, keep, err = visibilityIndex(name, s); err != nil || !keep {
				if err != nil {
					rows.Close()
					return err
				}
				continue
			}
		}
		ddl = append(ddl, s)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	if len(ddl) == 0 {
		return fmt.Errorf("%s has no executions_visibility table", mainFile)
	}
	if err := inTransaction(ctx, conn, "BEGIN", ddl); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "DETACH DATABASE old")
	return err
}

// inTransaction runs stmts on conn in one transaction that begin starts.
func inTransaction(ctx context.Context, conn *sql.Conn, begin string, stmts []string) error {
	if _, err := conn.ExecContext(ctx, begin); err != nil {
		return err
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			_, _ = conn.ExecContext(ctx, "ROLLBACK")
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	_, err := conn.ExecContext(ctx, "COMMIT")
	return err
}

// onAttached runs f on a connection to file with other attached as "old".
func onAttached(file, other string, f func(ctx context.Context, conn *sql.Conn) error) error {
	ctx := context.Background()
	db, conn, err := attached(ctx, file, other)
	if err != nil {
		return err
	}
	defer db.Close()
	defer conn.Close()
	return f(ctx, conn)
}

// unindexed are the indexes of Temporal's visibility schema the file is
// built without: those on the closing statistics (history length and
// size, duration, transitions), which every closed record holds. A list
// filtered on one of them scans the namespace's records instead: the same
// results, slower on a large file.
var unindexed = nameSet("by_history_length", "by_history_size_bytes", "by_execution_duration", "by_state_transition_count")

// sparseIndexes are the indexes of Temporal's visibility schema the file
// holds only for the records that have their column (a partial index,
// WHERE column IS NOT NULL): the search attribute slots of every type
// (rigger's own take 4 of the 10 keyword slots, in an order Temporal
// picks), Temporal's pre-allocated slots, the system attributes of
// features rigger does not use (batches, schedules, pauses, worker
// versioning), and the parent ids, which only child workflows' records
// have (rigger's catalog refresh loops). Every index is pages a record
// writes, and most of rigger's records hold NULL in these columns:
// BenchmarkVisibilityRecord took 1.1–1.3 ms a run with them partial,
// against 2.4 ms with 16 of them dropped and the rest whole (stop 42's
// file). SQLite can use a partial index wherever a query
// compares its column with =, IN, <, >, BETWEEN, LIKE or GLOB (each
// implies the column is not NULL), so a list comparing one of these
// attributes with a value reads its index as before; one asking for the
// attribute to be NULL scans, as != and NOT IN already did. A slot index
// a later Temporal adds stays whole until it is listed here.
var sparseIndexes = nameSet(
	"by_keyword_01", "by_keyword_02", "by_keyword_03", "by_keyword_04", "by_keyword_05", "by_keyword_06",
	"by_keyword_07", "by_keyword_08", "by_keyword_09", "by_keyword_10", "by_bool_01", "by_bool_02",
	"by_bool_03", "by_datetime_01", "by_datetime_02", "by_datetime_03", "by_double_01", "by_double_02",
	"by_double_03", "by_int_01", "by_int_02", "by_int_03", "by_temporal_bool_01", "by_temporal_bool_02",
	"by_temporal_datetime_01", "by_temporal_datetime_02", "by_temporal_double_01", "by_temporal_double_02",
	"by_temporal_int_01", "by_temporal_int_02", "by_temporal_keyword_01", "by_temporal_keyword_02",
	"by_temporal_keyword_03", "by_temporal_keyword_04", "by_temporal_low_cardinality_keyword_01",
	"by_batcher_user", "by_temporal_scheduled_start_time", "by_temporal_scheduled_by_id",
	"by_temporal_schedule_paused", "by_temporal_pause_info", "by_temporal_worker_deployment_version",
	"by_temporal_workflow_versioning_behavior", "by_temporal_worker_deployment", "by_parent_workflow_id",
	"by_parent_run_id",
)

// nameSet is a set of names.
func nameSet(names ...string) map[string]bool {
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return set
}

// indexedColumn is the column a visibility index of Temporal's schema is
// by: the one after namespace_id.
var indexedColumn = regexp.MustCompile(`^CREATE INDEX \w+\s+ON executions_visibility \(namespace_id,\s*(\w+),[^;]*\)$`)

// visibilityIndex is the DDL the file holds for the index name, given its
// DDL in Temporal's schema: none (keep false), the same, or partial.
func visibilityIndex(name, ddl string) (_ string, keep bool, _ error) {
	switch {
	case unindexed[name]:
		return "", false, nil
	case sparseIndexes[name]:
		m := indexedColumn.FindStringSubmatch(ddl)
		if m == nil {
			return "", false, fmt.Errorf("index %s: unexpected DDL %q", name, ddl)
		}
		return ddl + " WHERE " + m[1] + " IS NOT NULL", true, nil
	}
	return ddl, true, nil
}

// alignVisibilityIndexes gives the visibility file (conn's main, with the
// main file attached as "old") the indexes of
// Temporal's schema as buildVisibilityFile gives them to a new one (a
// file built by an earlier rigger may hold them otherwise), in one
// transaction, and says how many indexes it dropped or rebuilt. Before it
// starts, starting is told how many, and how many records the file holds.
// Indexes not in Temporal's schema are left as they are.
func alignVisibilityIndexes(ctx context.Context, conn *sql.Conn, starting func(indexes int, records int64)) (int, error) {
	indexes := func(schema string) (map[string]string, error) {
		rows, err := conn.QueryContext(ctx, "SELECT name, sql FROM "+schema+".sqlite_master WHERE type = 'index' AND tbl_name = 'executions_visibility' AND sql IS NOT NULL")
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var name, ddl string
			if err := rows.Scan(&name, &ddl); err != nil {
				return nil, err
			}
			out[name] = ddl
		}
		return out, rows.Err()
	}
	schema, err := indexes("old")
	if err != nil {
		return 0, err
	}
	have, err := indexes("main")
	if err != nil {
		return 0, err
	}
	var stmts []string
	changed := 0
	for _, name := range slices.Sorted(maps.Keys(schema)) {
		want, keep, err := visibilityIndex(name, schema[name])
		if err != nil {
			return 0, err
		}
		got, ok := have[name]
		if ok && (!keep || got != want) {
			stmts = append(stmts, "DROP INDEX main."+name)
		}
		if keep && got != want {
			stmts = append(stmts, want)
		}
		if ok != keep || got != want {
			changed++
		}
	}
	if changed == 0 {
		return 0, nil
	}
	var records int64
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM main.executions_visibility").Scan(&records); err != nil {
		return 0, err
	}
	starting(changed, records)
	if err := inTransaction(ctx, conn, "BEGIN IMMEDIATE", stmts); err != nil {
		return 0, err
	}
	return changed, nil
}

// moveVisibilityRecords moves the main file's visibility records (conn's
// "old") into the visibility file (conn's main) and says how many it moved.
func moveVisibilityRecords(ctx context.Context, conn *sql.Conn, mainFile string) (int64, error) {
	var found bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM old.executions_visibility)").Scan(&found); err != nil || !found {
		return 0, err
	}
	// Two statements, each committed alone: across two WAL files one
	// transaction would not be atomic anyway, and in this order a crash
	// between them loses nothing.
	res, err := conn.ExecContext(ctx, "INSERT INTO main.executions_visibility ("+visibilityColumns+") SELECT "+visibilityColumns+
		" FROM old.executions_visibility WHERE true"+keepNewer)
	if err != nil {
		return 0, err
	}
	moved, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if _, err := conn.ExecContext(ctx, "DELETE FROM old.executions_visibility"); err != nil {
		return 0, fmt.Errorf("the records were copied; removing them from %s: %w", mainFile, err)
	}
	return moved, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

type preparedVisibility struct{}

func (preparedVisibility) CreateDB(kind sqlplugin.DbKind, cfg *config.SQL, r resolver.ServiceResolver, l log.Logger, mh metrics.Handler) (sqlplugin.GenericDB, error) {
	stockCfg := *cfg
	stockCfg.PluginName = sqliteplugin.PluginName
	stock, err := persistencesql.NewSQLDB(kind, &stockCfg, r, l, mh)
	if err != nil {
		return nil, err
	}
	admin, ok := stock.(sqlplugin.AdminDB)
	if !ok {
		_ = stock.Close()
		return nil, fmt.Errorf("temporal's sqlite plugin returned %T, which is not an admin database", stock)
	}
	f, err := openVisFile(cfg)
	if err != nil {
		_ = stock.Close()
		return nil, err
	}
	return &visibilityDB{DB: stock, AdminCRUD: admin, admin: admin, visFile: f}, nil
}

func (preparedVisibility) GetVisibilityQueryConverter() sqlplugin.VisibilityQueryConverter {
	c, err := persistencesql.GetPluginVisibilityQueryConverter(sqliteplugin.PluginName)
	if err != nil {
		// The stock plugin registers itself in its package's init, which ran
		// before this package's.
		panic(err)
	}
	return c
}

// visibilityDB is Temporal's SQLite database with the visibility calls run
// on prepared statements. It is an admin database too, because Temporal's
// start-up version check opens the visibility store as one. Every
// visibilityDB of a file shares the file's visFile (the server opens four).
type visibilityDB struct {
	sqlplugin.DB
	sqlplugin.AdminCRUD
	admin sqlplugin.AdminDB
	*visFile
	closed sync.Once
}

// visFile is the connections and statements of one visibility file.
type visFile struct {
	dsn  string
	refs int // guarded by visFiles.mu

	x   *sqlx.DB
	get *sqlx.Stmt

	// turn is held by the write that commits the queue; wc, the connection
	// every write goes through, and writes, its statements, are its. Writes
	// that queue up while one commits are committed together in one
	// transaction: a record touches ~60 index pages, and a commit writes
	// each page it dirtied to the WAL once, so records that share pages
	// share their writes.
	turn   chan struct{}
	wc     *sqlx.Conn
	writes map[string]*sqlx.Stmt
	qmu    sync.Mutex
	queued []*pendingWrite
	// together counts the writes committed in a shared transaction.
	together atomic.Int64

	mu    sync.Mutex
	reads map[string]*keptRead
}

var visFiles = struct {
	mu sync.Mutex
	m  map[string]*visFile
}{m: map[string]*visFile{}}

// pendingWrite is a write waiting in visFile's queue.
type pendingWrite struct {
	ctx   context.Context
	query string
	args  []any
	res   sql.Result
	err   error
	done  chan struct{}
}

// keptRead is a read statement kept by its text. A statement dropped from
// the set is closed once no call uses it.
type keptRead struct {
	s       *sqlx.Stmt
	uses    int
	dropped bool
}

// maxKeptReads bounds the reads kept by text. A list's text is its filter,
// values included (the SQLite query converter writes them into the text),
// and the page's bounds as arguments: rigger's own lists repeat theirs, a
// Temporal UI list with a time range does not. A full set is dropped whole.
const maxKeptReads = 64

// visibilityDSN is the stock plugin's form of cfg's file and attributes:
// mode as a URI parameter, the others as pragmas, and times written in
// SQLite's format, so that rows written here and rows written by the stock
// plugin compare and sort alike.
func visibilityDSN(cfg *config.SQL) string {
	q := url.Values{}
	keys := make([]string, 0, len(cfg.ConnectAttributes))
	for k := range cfg.ConnectAttributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.TrimSpace(cfg.ConnectAttributes[k])
		switch k = strings.TrimSpace(k); k {
		case "mode", "cache", "vfs":
			q.Set(k, v)
		default:
			q.Add("_pragma", k+"="+v)
		}
	}
	q.Add("_time_format", "sqlite")
	return "file:" + cfg.DatabaseName + "?" + q.Encode()
}

// The visibility table's writes, in sqlx's named form.
var (
	visibilityColumns = strings.Join(sqlplugin.DbFields, ", ")
	visibilityValues  = ":" + strings.Join(sqlplugin.DbFields, ", :")
	visibilityInsert  = "INSERT INTO executions_visibility (" + visibilityColumns + ") VALUES (" + visibilityValues + ") ON CONFLICT (namespace_id, run_id) DO NOTHING"
	visibilityUpsert  = "INSERT INTO executions_visibility (" + visibilityColumns + ") VALUES (" + visibilityValues + ")" + keepNewer
	// keepNewer ends an insert that replaces a stored record with a newer
	// one: a record older than the stored one (a lower _version) changes
	// nothing.
	keepNewer = " ON CONFLICT (namespace_id, run_id) DO UPDATE SET " + upsertSets() +
		" WHERE executions_visibility." + sqlplugin.VersionColumnName + " < excluded." + sqlplugin.VersionColumnName
	visibilityDelete = "DELETE FROM executions_visibility WHERE namespace_id = :namespace_id AND run_id = :run_id"
)

func upsertSets() string {
	sets := make([]string, len(sqlplugin.DbFields))
	for i, f := range sqlplugin.DbFields {
		sets[i] = f + " = excluded." + f
	}
	return strings.Join(sets, ", ")
}

// openVisFile is cfg's file's visFile, opened when no store has it open.
func openVisFile(cfg *config.SQL) (*visFile, error) {
	dsn := visibilityDSN(cfg)
	visFiles.mu.Lock()
	defer visFiles.mu.Unlock()
	if f := visFiles.m[dsn]; f != nil {
		f.refs++
		return f, nil
	}
	// A 4 MB page cache a connection (the default is 2 MB) and a checkpoint
	// every 10,000 WAL pages (a WAL file of up to 40 MB) instead of 1,000:
	// a record dirties ~70 pages, so the default copied the WAL back into
	// the file every ~15 records. BenchmarkVisibilityRecord, writes each
	// alone: 6.3 ms a run with the defaults, 4.6 ms with the later
	// checkpoint; with batches, 3.5–4.0 ms for caches of 2 to 16 MB (4 MB
	// chosen: three connections' caches cost that much memory each).
	x, err := sqlx.Open("sqlite", dsn+"&_pragma=cache_size%3D-4000&_pragma=wal_autocheckpoint%3D10000")
	if err != nil {
		return nil, err
	}
	// The writing connection, and two for lists; WAL lets them run
	// together.
	x.SetMaxOpenConns(3)
	x.SetMaxIdleConns(3)
	// A list connection idle for a minute is closed, its cache with it.
	x.SetConnMaxIdleTime(time.Minute)
	x.MapperFunc(strcase.ToSnake)
	f := &visFile{dsn: dsn, refs: 1, x: x, turn: make(chan struct{}, 1), reads: map[string]*keptRead{}}
	if err := f.openWriter(); err != nil {
		_ = x.Close()
		return nil, err
	}
	if f.get, err = x.Preparex("SELECT " + visibilityColumns + " FROM executions_visibility WHERE namespace_id = ? AND run_id = ?"); err != nil {
		f.closeWriter(false)
		_ = x.Close()
		return nil, fmt.Errorf("prepare visibility get: %w", err)
	}
	visFiles.m[dsn] = f
	return f, nil
}

// openWriter takes the writing connection and prepares the writes on it.
func (f *visFile) openWriter() (err error) {
	ctx := context.Background()
	if f.wc, err = f.x.Connx(ctx); err != nil {
		return err
	}
	f.writes = map[string]*sqlx.Stmt{}
	for _, named := range []struct {
		query string
		arg   any
	}{{visibilityInsert, &sqlplugin.VisibilityRow{}}, {visibilityUpsert, &sqlplugin.VisibilityRow{}}, {visibilityDelete, sqlplugin.VisibilityDeleteFilter{}}} {
		q, _, err := f.x.BindNamed(named.query, named.arg)
		if err == nil {
			f.writes[q], err = f.wc.PreparexContext(ctx, q)
		}
		if err != nil {
			f.closeWriter(false)
			return fmt.Errorf("prepare %q: %w", named.query, err)
		}
	}
	return nil
}

// closeWriter closes the writing connection; with discard (a transaction
// may be left open on it), the pool discards it instead of keeping it.
func (f *visFile) closeWriter(discard bool) error {
	if f.wc == nil {
		return nil
	}
	var errs []error
	for _, s := range f.writes {
		errs = append(errs, s.Close())
	}
	f.writes = nil
	if discard {
		_ = f.wc.Raw(func(any) error { return driver.ErrBadConn })
	}
	errs = append(errs, f.wc.Close())
	f.wc = nil
	return errors.Join(errs...)
}

// The methods both embedded interfaces have.

func (v *visibilityDB) DbName() string     { return v.DB.DbName() }
func (v *visibilityDB) PluginName() string { return v.DB.PluginName() }

func (v *visibilityDB) ExpectedVersion() string { return v.admin.ExpectedVersion() }
func (v *visibilityDB) VerifyVersion() error    { return v.admin.VerifyVersion() }

func (v *visibilityDB) Close() error {
	var err error
	v.closed.Do(func() { err = errors.Join(v.visFile.release(), v.DB.Close()) })
	return err
}

// release closes f when its last store closes.
func (f *visFile) release() error {
	visFiles.mu.Lock()
	f.refs--
	last := f.refs == 0
	if last {
		delete(visFiles.m, f.dsn)
	}
	visFiles.mu.Unlock()
	if !last {
		return nil
	}
	f.turn <- struct{}{}
	defer func() { <-f.turn }()
	f.mu.Lock()
	var errs []error
	for _, k := range f.reads {
		errs = append(errs, k.s.Close())
	}
	f.reads = map[string]*keptRead{}
	f.mu.Unlock()
	errs = append(errs, f.get.Close(), f.closeWriter(false), f.x.Close())
	return errors.Join(errs...)
}

// write runs the named statement query for arg, committed with the writes
// queued beside it.
func (f *visFile) write(ctx context.Context, query string, arg any) (sql.Result, error) {
	q, args, err := f.x.BindNamed(query, arg)
	if err != nil {
		return nil, err
	}
	w := &pendingWrite{ctx: ctx, query: q, args: args, done: make(chan struct{})}
	f.qmu.Lock()
	f.queued = append(f.queued, w)
	f.qmu.Unlock()
	select {
	case <-w.done: // committed by the write that had the turn
		return w.res, w.err
	case <-ctx.Done():
		// Still queued: the next write's turn drops it unrun.
		return nil, ctx.Err()
	case f.turn <- struct{}{}:
	}
	select {
	case <-w.done:
	default:
		f.qmu.Lock()
		batch := f.queued
		f.queued = nil
		f.qmu.Unlock()
		f.commit(batch)
	}
	<-f.turn
	return w.res, w.err
}

// commit runs batch's writes whose callers still wait: in one transaction
// when there are several. A write that fails there is rolled back with the
// others and answered with its error; the others then run each alone.
func (f *visFile) commit(batch []*pendingWrite) {
	live := batch[:0]
	for _, w := range batch {
		if err := w.ctx.Err(); err != nil {
			w.err = err
			close(w.done)
		} else {
			live = append(live, w)
		}
	}
	if len(live) > 1 {
		live = f.commitTogether(live)
	}
	for _, w := range live {
		w.res, w.err = f.exec(w.ctx, w)
		close(w.done)
	}
}

func (f *visFile) exec(ctx context.Context, w *pendingWrite) (sql.Result, error) {
	if f.wc == nil {
		if err := f.openWriter(); err != nil {
			return nil, err
		}
	}
	s := f.writes[w.query]
	if s == nil {
		return nil, fmt.Errorf("visibility write %q was not prepared", w.query)
	}
	return s.ExecContext(ctx, w.args...)
}

// commitTogether runs batch in one transaction and returns the writes it
// did not commit (all of them but the failed one when one failed, all of
// them when the transaction did).
func (f *visFile) commitTogether(batch []*pendingWrite) (rest []*pendingWrite) {
	// The transaction is not any one caller's: their contexts were checked
	// before it, and lock waits end with busy_timeout.
	ctx := context.Background()
	if f.wc == nil {
		if err := f.openWriter(); err != nil {
			return batch
		}
	}
	if _, err := f.wc.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return batch
	}
	results := make([]sql.Result, len(batch))
	for i, w := range batch {
		var err error
		if results[i], err = f.exec(ctx, w); err != nil {
			f.rollback()
			w.err = err
			close(w.done)
			return slices.Delete(slices.Clone(batch), i, i+1)
		}
	}
	if _, err := f.wc.ExecContext(ctx, "COMMIT"); err != nil {
		f.rollback()
		return batch
	}
	f.together.Add(int64(len(batch)))
	for i, w := range batch {
		w.res = results[i]
		close(w.done)
	}
	return nil
}

// rollback ends the writing connection's transaction. When that fails
// (a transaction may be left open), the connection is dropped and the next
// write opens another.
func (f *visFile) rollback() {
	if _, err := f.wc.ExecContext(context.Background(), "ROLLBACK"); err != nil && !strings.Contains(err.Error(), "no transaction is active") {
		_ = f.closeWriter(true)
	}
}

func (v *visibilityDB) InsertIntoVisibility(ctx context.Context, row *sqlplugin.VisibilityRow) (sql.Result, error) {
	return v.write(ctx, visibilityInsert, toStoredRow(row))
}

func (v *visibilityDB) ReplaceIntoVisibility(ctx context.Context, row *sqlplugin.VisibilityRow) (sql.Result, error) {
	return v.write(ctx, visibilityUpsert, toStoredRow(row))
}

func (v *visibilityDB) DeleteFromVisibility(ctx context.Context, filter sqlplugin.VisibilityDeleteFilter) (sql.Result, error) {
	return v.write(ctx, visibilityDelete, filter)
}

// read is the kept statement for query, prepared now when it is not kept
// yet; the caller hands it back with unread.
func (f *visFile) read(ctx context.Context, query string) (*keptRead, error) {
	f.mu.Lock()
	if k := f.reads[query]; k != nil {
		k.uses++
		f.mu.Unlock()
		return k, nil
	}
	f.mu.Unlock()
	s, err := f.x.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if k := f.reads[query]; k != nil {
		_ = s.Close()
		k.uses++
		return k, nil
	}
	if len(f.reads) >= maxKeptReads {
		for _, k := range f.reads {
			k.dropped = true
			if k.uses == 0 {
				_ = k.s.Close()
			}
		}
		f.reads = map[string]*keptRead{}
	}
	k := &keptRead{s: s, uses: 1}
	f.reads[query] = k
	return k, nil
}

func (f *visFile) unread(k *keptRead) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k.uses--; k.uses == 0 && k.dropped {
		_ = k.s.Close()
	}
}

func (v *visibilityDB) SelectFromVisibility(ctx context.Context, filter sqlplugin.VisibilitySelectFilter) ([]sqlplugin.VisibilityRow, error) {
	if filter.Query == "" {
		// The stock plugin builds such a query from the filter's fields
		// (Temporal's own tests use it); nothing in the server does.
		return v.DB.SelectFromVisibility(ctx, filter)
	}
	k, err := v.read(ctx, filter.Query)
	if err != nil {
		return nil, err
	}
	defer v.unread(k)
	var rows []sqlplugin.VisibilityRow
	if err := k.s.SelectContext(ctx, &rows, filter.QueryArgs...); err != nil {
		return nil, err
	}
	for i := range rows {
		fromStoredRow(&rows[i])
	}
	return rows, nil
}

func (v *visibilityDB) GetFromVisibility(ctx context.Context, filter sqlplugin.VisibilityGetFilter) (*sqlplugin.VisibilityRow, error) {
	var row sqlplugin.VisibilityRow
	if err := v.get.GetContext(ctx, &row, filter.NamespaceID, filter.RunID); err != nil {
		return nil, err
	}
	fromStoredRow(&row)
	return &row, nil
}

func (v *visibilityDB) CountFromVisibility(ctx context.Context, filter sqlplugin.VisibilitySelectFilter) (int64, error) {
	k, err := v.read(ctx, filter.Query)
	if err != nil {
		return 0, err
	}
	defer v.unread(k)
	var n int64
	if err := k.s.GetContext(ctx, &n, filter.QueryArgs...); err != nil {
		return 0, err
	}
	return n, nil
}

func (v *visibilityDB) CountGroupByFromVisibility(ctx context.Context, filter sqlplugin.VisibilitySelectFilter) ([]sqlplugin.VisibilityCountRow, error) {
	k, err := v.read(ctx, filter.Query)
	if err != nil {
		return nil, err
	}
	defer v.unread(k)
	rows, err := k.s.QueryContext(ctx, filter.QueryArgs...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlplugin.ParseCountGroupByRows(rows, filter.GroupBy)
}

// How the SQLite schema stores a record, as Temporal's plugin writes and
// reads it: times in UTC to the microsecond, a zero time as the year 1000,
// a keyword list as its values joined by keywordListSeparator, a datetime
// search attribute as RFC 3339 text.
const keywordListSeparator = "♡"

var zeroStoredTime = time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)

func toStoredTime(t time.Time) time.Time {
	if t.IsZero() {
		return zeroStoredTime
	}
	return t.UTC().Truncate(time.Microsecond)
}

func fromStoredTime(t time.Time) time.Time {
	if t.Equal(zeroStoredTime) {
		return time.Time{}.UTC()
	}
	return t.UTC()
}

func toStoredRow(row *sqlplugin.VisibilityRow) *sqlplugin.VisibilityRow {
	if row == nil {
		return nil
	}
	out := *row
	mapTimes(&out, toStoredTime)
	if out.SearchAttributes != nil {
		attrs := make(sqlplugin.VisibilitySearchAttributes, len(*out.SearchAttributes))
		for name, value := range *out.SearchAttributes {
			switch x := value.(type) {
			case []string:
				attrs[name] = strings.Join(x, keywordListSeparator)
			case time.Time:
				attrs[name] = x.Format(time.RFC3339Nano)
			default:
				attrs[name] = x
			}
		}
		out.SearchAttributes = &attrs
	}
	return &out
}

// mapTimes sets row's times to f of them (a close time to a new value:
// the caller's row may share it).
func mapTimes(row *sqlplugin.VisibilityRow, f func(time.Time) time.Time) {
	row.StartTime = f(row.StartTime)
	row.ExecutionTime = f(row.ExecutionTime)
	if row.CloseTime != nil {
		t := f(*row.CloseTime)
		row.CloseTime = &t
	}
}

func fromStoredRow(row *sqlplugin.VisibilityRow) {
	mapTimes(row, fromStoredTime)
	if row.SearchAttributes != nil {
		for name, value := range *row.SearchAttributes {
			if s, ok := value.(string); ok && strings.Contains(s, keywordListSeparator) {
				(*row.SearchAttributes)[name] = strings.Split(s, keywordListSeparator)
			}
		}
	}
}
