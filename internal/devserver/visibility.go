package devserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
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
	sqliteschema "go.temporal.io/server/schema/sqlite"
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
// prepared once (writes) or kept by text (the query converter's reads,
// whose text repeats for a repeated list; their values are arguments).
// Writes that arrive while another commits are committed together. It
// reports the stock plugin's name, so Temporal picks the SQLite query
// converter for it as before.
const visibilityPlugin = "rigger-sqlite-visibility"

func init() { persistencesql.RegisterPlugin(visibilityPlugin, preparedVisibility{}) }

// visibilityFile is the visibility records' file in the data dir.
const visibilityFile = "temporal-visibility.db"

// prepareVisibility returns the visibility store's configuration: the main
// store's attributes on the file at path, through visibilityPlugin. The
// file is made when missing. A data dir made before the split keeps its
// records in the main file: they are copied into the new file, which is
// built under another name and renamed into place once complete, and then
// deleted from the main file.
func prepareVisibility(mainCfg *config.SQL, path string) (*config.SQL, error) {
	vis := *mainCfg
	vis.PluginName = visibilityPlugin
	vis.DatabaseName = path
	vis.ConnectAttributes = maps.Clone(mainCfg.ConnectAttributes)
	switch _, err := os.Stat(path); {
	case err == nil:
		return &vis, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	moved, err := buildVisibilityFile(mainCfg.DatabaseName, path)
	if err != nil {
		return nil, fmt.Errorf("make %s: %w", path, err)
	}
	if moved > 0 {
		db, err := sql.Open("sqlite", "file:"+mainCfg.DatabaseName+"?_pragma=busy_timeout%3D5000")
		if err != nil {
			return nil, err
		}
		defer db.Close()
		// The records are in the new file already: a failure here leaves
		// unused copies behind, nothing lost.
		if _, err := db.Exec("DELETE FROM executions_visibility"); err != nil {
			return nil, fmt.Errorf("%d visibility records were copied to %s; removing them from %s: %w", moved, path, mainCfg.DatabaseName, err)
		}
	}
	return &vis, nil
}

// buildVisibilityFile makes the file at path with Temporal's schema and the
// visibility records of the main file, and says how many it copied.
func buildVisibilityFile(mainFile, path string) (int64, error) {
	tmp := path + ".new"
	for _, f := range []string{tmp, tmp + "-journal"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, err
		}
	}
	if err := sqliteschema.SetupSchema(&config.SQL{PluginName: sqliteplugin.PluginName, DatabaseName: tmp, ConnectAttributes: map[string]string{"mode": "rwc"}}); err != nil {
		return 0, fmt.Errorf("create temporal schema: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+tmp+"?mode=rw")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx) // ATTACH holds for one connection
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "ATTACH DATABASE ? AS old", mainFile); err != nil {
		return 0, fmt.Errorf("open %s: %w", mainFile, err)
	}
	res, err := conn.ExecContext(ctx, "INSERT INTO main.executions_visibility ("+visibilityColumns+") SELECT "+visibilityColumns+" FROM old.executions_visibility")
	if err != nil {
		return 0, fmt.Errorf("copy the visibility records of %s: %w", mainFile, err)
	}
	moved, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if _, err := conn.ExecContext(ctx, "DETACH DATABASE old"); err != nil {
		return 0, err
	}
	if err := errors.Join(conn.Close(), db.Close()); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, err
	}
	return moved, syncDir(filepath.Dir(path))
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
	v, err := openVisibilityDB(stock, admin, cfg)
	if err != nil {
		_ = stock.Close()
		return nil, err
	}
	return v, nil
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
// start-up version check opens the visibility store as one.
type visibilityDB struct {
	sqlplugin.DB
	sqlplugin.AdminCRUD
	admin sqlplugin.AdminDB

	x *sqlx.DB
	// wc is the connection every write goes through, with its statements
	// (writes) prepared on it.
	wc     *sqlx.Conn
	writes map[string]*sqlx.Stmt
	get    *sqlx.Stmt

	// writing is held by the write that commits the queue; queued are the
	// writes waiting for it. Writes that queue up while one commits are
	// committed together in one transaction: a record touches ~60 index
	// pages, and a commit writes each page it dirtied to the WAL once, so
	// records that share pages share their writes.
	writing sync.Mutex
	qmu     sync.Mutex
	queued  []*pendingWrite
	// together counts the writes committed in a shared transaction.
	together atomic.Int64

	mu    sync.Mutex
	reads map[string]*sqlx.Stmt
}

// pendingWrite is a write waiting in visibilityDB's queue.
type pendingWrite struct {
	ctx   context.Context
	query string
	args  []any
	res   sql.Result
	err   error
	done  chan struct{}
}

// maxKeptReads bounds the reads kept by text. A list's text depends on its
// filter only; 64 covers the filters rigger and the Temporal UI send, and a
// full set is dropped whole (the next reads prepare again).
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
	// A record older than the stored one (a lower _version) changes nothing.
	visibilityUpsert = "INSERT INTO executions_visibility (" + visibilityColumns + ") VALUES (" + visibilityValues + ") ON CONFLICT (namespace_id, run_id) DO UPDATE SET " + upsertSets() +
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

func openVisibilityDB(stock sqlplugin.DB, admin sqlplugin.AdminDB, cfg *config.SQL) (_ *visibilityDB, err error) {
	// A 16 MB page cache a connection (the default is 2 MB: the table's 60
	// indexes did not fit, and each miss is a read call), and a checkpoint
	// every 10,000 WAL pages (40 MB) instead of 1,000: a record dirties ~70
	// pages, so the default copied the WAL back every ~15 records.
	// BenchmarkVisibilityRecord: 4.4–4.6 ms a run without these, 3.3–3.7
	// with them.
	x, err := sqlx.Open("sqlite", visibilityDSN(cfg)+"&_pragma=cache_size%3D-16000&_pragma=wal_autocheckpoint%3D10000")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = x.Close()
		}
	}()
	// The writing connection, and two for lists; WAL lets them run
	// together.
	x.SetMaxOpenConns(3)
	x.SetMaxIdleConns(3)
	x.MapperFunc(strcase.ToSnake)
	ctx := context.Background()
	v := &visibilityDB{DB: stock, AdminCRUD: admin, admin: admin, x: x, writes: map[string]*sqlx.Stmt{}, reads: map[string]*sqlx.Stmt{}}
	if v.wc, err = x.Connx(ctx); err != nil {
		return nil, err
	}
	for _, named := range []struct {
		query string
		arg   any
	}{{visibilityInsert, &sqlplugin.VisibilityRow{}}, {visibilityUpsert, &sqlplugin.VisibilityRow{}}, {visibilityDelete, sqlplugin.VisibilityDeleteFilter{}}} {
		q, _, err := x.BindNamed(named.query, named.arg)
		if err != nil {
			return nil, err
		}
		if v.writes[q], err = v.wc.PreparexContext(ctx, q); err != nil {
			return nil, fmt.Errorf("prepare %q: %w", q, err)
		}
	}
	if v.get, err = x.PreparexContext(ctx, "SELECT "+visibilityColumns+" FROM executions_visibility WHERE namespace_id = ? AND run_id = ?"); err != nil {
		return nil, fmt.Errorf("prepare visibility get: %w", err)
	}
	return v, nil
}

// The methods both embedded interfaces have.

func (v *visibilityDB) DbName() string     { return v.DB.DbName() }
func (v *visibilityDB) PluginName() string { return v.DB.PluginName() }

func (v *visibilityDB) ExpectedVersion() string { return v.admin.ExpectedVersion() }
func (v *visibilityDB) VerifyVersion() error    { return v.admin.VerifyVersion() }

func (v *visibilityDB) Close() error {
	v.writing.Lock()
	defer v.writing.Unlock()
	v.mu.Lock()
	defer v.mu.Unlock()
	var errs []error
	for _, s := range v.reads {
		errs = append(errs, s.Close())
	}
	v.reads = map[string]*sqlx.Stmt{}
	for _, s := range v.writes {
		errs = append(errs, s.Close())
	}
	v.writes = map[string]*sqlx.Stmt{}
	errs = append(errs, v.get.Close(), v.wc.Close(), v.x.Close(), v.DB.Close())
	return errors.Join(errs...)
}

// write runs the named statement query for arg, committed with the writes
// queued beside it.
func (v *visibilityDB) write(ctx context.Context, query string, arg any) (sql.Result, error) {
	q, args, err := v.x.BindNamed(query, arg)
	if err != nil {
		return nil, err
	}
	w := &pendingWrite{ctx: ctx, query: q, args: args, done: make(chan struct{})}
	v.qmu.Lock()
	v.queued = append(v.queued, w)
	v.qmu.Unlock()
	v.writing.Lock()
	select {
	case <-w.done: // committed by the write that held the lock before
	default:
		v.qmu.Lock()
		batch := v.queued
		v.queued = nil
		v.qmu.Unlock()
		v.commit(batch)
	}
	v.writing.Unlock()
	return w.res, w.err
}

// commit runs batch in one transaction; when that fails (a write's context
// ended, or a statement failed), each write runs alone, so that one bad
// write does not fail the others.
func (v *visibilityDB) commit(batch []*pendingWrite) {
	if len(batch) > 1 && v.commitTogether(batch) == nil {
		return
	}
	for _, w := range batch {
		w.res, w.err = v.exec(w.ctx, w)
		close(w.done)
	}
}

func (v *visibilityDB) exec(ctx context.Context, w *pendingWrite) (sql.Result, error) {
	s := v.writes[w.query]
	if s == nil {
		return nil, fmt.Errorf("visibility write %q was not prepared", w.query)
	}
	return s.ExecContext(ctx, w.args...)
}

func (v *visibilityDB) commitTogether(batch []*pendingWrite) (err error) {
	// The batch is not any one caller's: each caller's context is checked
	// before its statement runs, and lock waits end with busy_timeout.
	ctx := context.Background()
	if _, err := v.wc.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_, _ = v.wc.ExecContext(ctx, "ROLLBACK")
		}
	}()
	results := make([]sql.Result, len(batch))
	for i, w := range batch {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		if results[i], err = v.exec(ctx, w); err != nil {
			return err
		}
	}
	if _, err := v.wc.ExecContext(ctx, "COMMIT"); err != nil {
		return err
	}
	v.together.Add(int64(len(batch)))
	for i, w := range batch {
		w.res = results[i]
		close(w.done)
	}
	return nil
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

// read is the prepared statement for query, prepared now when it is not
// kept yet.
func (v *visibilityDB) read(ctx context.Context, query string) (*sqlx.Stmt, error) {
	v.mu.Lock()
	s := v.reads[query]
	v.mu.Unlock()
	if s != nil {
		return s, nil
	}
	s, err := v.x.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if kept := v.reads[query]; kept != nil {
		_ = s.Close()
		return kept, nil
	}
	if len(v.reads) >= maxKeptReads {
		// A statement another call still runs closes once that call is done
		// (database/sql waits for it).
		for _, old := range v.reads {
			_ = old.Close()
		}
		v.reads = map[string]*sqlx.Stmt{}
	}
	v.reads[query] = s
	return s, nil
}

func (v *visibilityDB) SelectFromVisibility(ctx context.Context, filter sqlplugin.VisibilitySelectFilter) ([]sqlplugin.VisibilityRow, error) {
	if filter.Query == "" {
		// The stock plugin builds such a query from the filter's fields
		// (Temporal's own tests use it); nothing in the server does.
		return v.DB.SelectFromVisibility(ctx, filter)
	}
	s, err := v.read(ctx, filter.Query)
	if err != nil {
		return nil, err
	}
	var rows []sqlplugin.VisibilityRow
	if err := s.SelectContext(ctx, &rows, filter.QueryArgs...); err != nil {
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
	s, err := v.read(ctx, filter.Query)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := s.GetContext(ctx, &n, filter.QueryArgs...); err != nil {
		return 0, err
	}
	return n, nil
}

func (v *visibilityDB) CountGroupByFromVisibility(ctx context.Context, filter sqlplugin.VisibilitySelectFilter) ([]sqlplugin.VisibilityCountRow, error) {
	s, err := v.read(ctx, filter.Query)
	if err != nil {
		return nil, err
	}
	rows, err := s.QueryContext(ctx, filter.QueryArgs...)
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
