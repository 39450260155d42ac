package devserver

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/suite"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	persistencesql "go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	sqltests "go.temporal.io/server/common/persistence/sql/sqlplugin/tests"
	"go.temporal.io/server/common/resolver"
	sqliteschema "go.temporal.io/server/schema/sqlite"
)

// fileConfig is the embedded server's configuration of a SQLite file at
// path, through plugin.
func fileConfig(path, plugin string) *config.SQL {
	return &config.SQL{PluginName: plugin, DatabaseName: path, ConnectAttributes: map[string]string{
		"mode": "rwc", "journal_mode": "wal", "synchronous": "normal", "busy_timeout": "5000"}}
}

// openVisibility opens cfg's file as a visibility store (plugin as cfg
// says); it is closed when the test ends.
func openVisibility(t *testing.T, cfg *config.SQL) sqlplugin.DB {
	t.Helper()
	db, err := persistencesql.NewSQLDB(sqlplugin.DbKindVisibility, cfg, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// newVisibilityFile is a new visibility file as the embedded server
// builds it (prepareVisibility, beside a main file with Temporal's SQLite
// schema), opened through the stock plugin and through rigger's.
func newVisibilityFile(t *testing.T) (stock, prepared sqlplugin.DB) {
	t.Helper()
	dir := t.TempDir()
	mainCfg := fileConfig(filepath.Join(dir, "temporal.db"), sqliteplugin.PluginName)
	if err := sqliteschema.SetupSchema(mainCfg); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, visibilityFile)
	if _, err := prepareVisibility(mainCfg, path, true, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	stock = openVisibility(t, fileConfig(path, sqliteplugin.PluginName))
	prepared = openVisibility(t, fileConfig(path, visibilityPlugin))
	if _, ok := prepared.(*visibilityDB); !ok {
		t.Fatalf("the %s plugin gave %T", visibilityPlugin, prepared)
	}
	return stock, prepared
}

// TestVisibilityConformance runs Temporal's own test suite of the
// visibility table's calls against rigger's prepared plugin.
func TestVisibilityConformance(t *testing.T) {
	_, prepared := newVisibilityFile(t)
	suite.Run(t, sqltests.NewVisibilitySuite(t, prepared))
}

// visibilityRows are records with every kind of value the schema stores:
// open and closed, keyword lists, datetime, bool and int search
// attributes, a zero execution time, a parent, a memo.
func visibilityRows(ns string) []sqlplugin.VisibilityRow {
	at := time.Date(2026, 12, 6, 1, 2, 3, 456789123, time.FixedZone("x", 3600))
	closed := at.Add(1500 * time.Millisecond)
	n := func(v int64) *int64 { return &v }
	parent := "parent-wf"
	var rows []sqlplugin.VisibilityRow
	for i := range 5 {
		sa := sqlplugin.VisibilitySearchAttributes{
			"KeywordList01": []string{"a", fmt.Sprintf("b%d", i)},
			"Datetime01":    at.Add(time.Duration(i) * time.Hour),
			"Bool01":        i%2 == 0,
			"Int01":         int64(i),
			"Keyword01":     fmt.Sprintf("template:default/t%d", i%2),
		}
		r := sqlplugin.VisibilityRow{
			NamespaceID: ns, RunID: fmt.Sprintf("run-%d", i), WorkflowTypeName: "scaffold", WorkflowID: fmt.Sprintf("wf-%d", i),
			StartTime: at.Add(time.Duration(i) * time.Second), ExecutionTime: at, Status: int32(enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING),
			Memo: []byte{0x0a, byte(i)}, Encoding: "Proto3", TaskQueue: "rigger", SearchAttributes: &sa,
			RootWorkflowID: fmt.Sprintf("wf-%d", i), RootRunID: fmt.Sprintf("run-%d", i), Version: 1,
		}
		if i == 4 {
			r.ExecutionTime = time.Time{}
			r.ParentWorkflowID, r.ParentRunID = &parent, &parent
		}
		if i%2 == 1 {
			r.Status = int32(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
			r.CloseTime = &closed
			r.HistoryLength, r.HistorySizeBytes, r.ExecutionDuration, r.StateTransitionCount = n(12), n(3456), n(1500000000), n(7)
		}
		rows = append(rows, r)
	}
	return rows
}

// TestVisibilityMatchesStock: records written through either plugin read
// back the same through both, by run and by the query converter's kind of
// statement (select, count, count by group), so a data dir's older records
// and Temporal's own expectations hold. A record of a lower version does not
// replace a stored one; the reads' statements are kept by text, bounded.
func TestVisibilityMatchesStock(t *testing.T) {
	ctx := t.Context()
	stock, prepared := newVisibilityFile(t)
	for i, via := range []sqlplugin.DB{prepared, stock} {
		ns := fmt.Sprintf("ns-%d", i)
		for _, r := range visibilityRows(ns) {
			if _, err := via.InsertIntoVisibility(ctx, &r); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range visibilityRows(ns) {
			filter := sqlplugin.VisibilityGetFilter{NamespaceID: ns, RunID: r.RunID}
			want, err := stock.GetFromVisibility(ctx, filter)
			if err != nil {
				t.Fatal(err)
			}
			got, err := prepared.GetFromVisibility(ctx, filter)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("written through plugin %d, %s reads back\n%+v\nthrough rigger's plugin and\n%+v\nthrough the stock one", i, r.RunID, got, want)
			}
			if !got.StartTime.Equal(r.StartTime.Truncate(time.Microsecond)) || got.StartTime.Location() != time.UTC {
				t.Errorf("%s: start time %v, want %v in UTC", r.RunID, got.StartTime, r.StartTime)
			}
			if kw := (*got.SearchAttributes)["KeywordList01"]; !reflect.DeepEqual(kw, []string{"a", "b" + r.RunID[len(r.RunID)-1:]}) {
				t.Errorf("%s: keyword list reads back as %#v", r.RunID, kw)
			}
		}
	}

	// What each plugin stored, as SQLite holds it: the same text.
	raw := func(ns string) []string {
		t.Helper()
		var out []string
		err := prepared.(*visibilityDB).x.SelectContext(ctx, &out, `SELECT CAST(start_time AS TEXT) || '|' || CAST(execution_time AS TEXT) || '|' ||
			COALESCE(CAST(close_time AS TEXT), '-') || '|' || search_attributes FROM executions_visibility WHERE namespace_id = ? ORDER BY run_id`, ns)
		if err != nil || len(out) != 5 {
			t.Fatalf("%s: %d records, %v", ns, len(out), err)
		}
		return out
	}
	if ours, stocks := raw("ns-0"), raw("ns-1"); !reflect.DeepEqual(ours, stocks) {
		t.Errorf("the stored text differs:\nrigger's plugin %q\nthe stock one   %q", ours, stocks)
	}

	cols := strings.Join(sqlplugin.DbFields, ", ")
	selects := []sqlplugin.VisibilitySelectFilter{
		{Query: "SELECT " + cols + " FROM executions_visibility WHERE namespace_id = ? AND status = 1 ORDER BY start_time DESC, run_id LIMIT ?", QueryArgs: []any{"ns-0", 10}},
		{Query: "SELECT " + cols + " FROM executions_visibility WHERE namespace_id = ? AND Keyword01 = 'template:default/t1' ORDER BY COALESCE(close_time, '9999-12-31 23:59:59') DESC, start_time DESC, run_id LIMIT ?", QueryArgs: []any{"ns-1", 10}},
		{Query: "SELECT " + cols + " FROM executions_visibility WHERE namespace_id = ? AND start_time > ? ORDER BY start_time LIMIT ?", QueryArgs: []any{"ns-0", time.Date(2026, 12, 6, 0, 2, 5, 0, time.UTC), 10}},
	}
	for _, f := range selects {
		want, err := stock.SelectFromVisibility(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			got, err := prepared.SelectFromVisibility(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 || !reflect.DeepEqual(got, want) {
				t.Errorf("%s\n%v: rigger's plugin read %d records, the stock one %d (or they differ)", f.Query, f.QueryArgs, len(got), len(want))
			}
		}
	}
	count := sqlplugin.VisibilitySelectFilter{Query: "SELECT COUNT(1) FROM executions_visibility WHERE namespace_id = ? AND status = ?", QueryArgs: []any{"ns-1", 2}}
	if got, err := prepared.CountFromVisibility(ctx, count); err != nil || got != 2 {
		t.Errorf("count of completed records: %d, %v; want 2", got, err)
	}
	group := sqlplugin.VisibilitySelectFilter{Query: "SELECT status, COUNT(1) FROM executions_visibility WHERE namespace_id = ? GROUP BY status ORDER BY status", QueryArgs: []any{"ns-0"}, GroupBy: []string{"status"}}
	want, err := stock.CountGroupByFromVisibility(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := prepared.CountGroupByFromVisibility(ctx, group); err != nil || len(got) != 2 || !reflect.DeepEqual(got, want) {
		t.Errorf("count by status: %+v, %v; the stock plugin: %+v", got, err, want)
	}
	v := prepared.(*visibilityDB)
	if n := len(v.reads); n != len(selects)+2 {
		t.Errorf("%d read statements kept, want %d (one a text)", n, len(selects)+2)
	}

	// A closing record of a higher version replaces the open one; a late
	// record of a lower version changes nothing.
	r := visibilityRows("ns-0")[0]
	closedAt := r.StartTime.Add(time.Minute)
	r.Status, r.CloseTime, r.Version = int32(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED), &closedAt, 2
	if _, err := prepared.ReplaceIntoVisibility(ctx, &r); err != nil {
		t.Fatal(err)
	}
	stale := visibilityRows("ns-0")[0]
	if _, err := prepared.ReplaceIntoVisibility(ctx, &stale); err != nil {
		t.Fatal(err)
	}
	got, err := stock.GetFromVisibility(ctx, sqlplugin.VisibilityGetFilter{NamespaceID: "ns-0", RunID: r.RunID})
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.CloseTime == nil || !got.CloseTime.Equal(closedAt.Truncate(time.Microsecond)) {
		t.Errorf("after a close (version 2) and a late open record (version 1): version %d, close time %v", got.Version, got.CloseTime)
	}

	for i := range maxKeptReads + 5 {
		f := sqlplugin.VisibilitySelectFilter{Query: fmt.Sprintf("SELECT %s FROM executions_visibility WHERE namespace_id = ? AND run_id <> 'x%d' LIMIT ?", cols, i), QueryArgs: []any{"ns-0", 1}}
		if rows, err := prepared.SelectFromVisibility(ctx, f); err != nil || len(rows) != 1 {
			t.Fatalf("read %d: %d rows, %v", i, len(rows), err)
		}
	}
	if n := len(v.reads); n > maxKeptReads {
		t.Errorf("%d read statements kept, more than the bound %d", n, maxKeptReads)
	}

	// A second store on the file shares its connections, and the last one
	// closed closes them.
	path := prepared.(*visibilityDB).DbName()
	second := openVisibility(t, fileConfig(path, visibilityPlugin)).(*visibilityDB)
	if second.visFile != v.visFile || v.refs != 2 {
		t.Fatalf("a second store on %s opened its own connections (shared: %v, refs %d)", path, second.visFile == v.visFile, v.refs)
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := prepared.GetFromVisibility(ctx, sqlplugin.VisibilityGetFilter{NamespaceID: "ns-0", RunID: "run-1"}); err != nil {
		t.Errorf("the first store after the second closed: %v", err)
	}
	if err := prepared.Close(); err != nil {
		t.Fatal(err)
	}
	visFiles.mu.Lock()
	left := visFiles.m[v.dsn]
	visFiles.mu.Unlock()
	if left != nil {
		t.Error("the file's connections are still open after its last store closed")
	}
}

// TestVisibilityReadKeptWhileUsed: a read statement dropped from the full
// set while a call still uses it stays open until that call is done.
func TestVisibilityReadKeptWhileUsed(t *testing.T) {
	ctx := t.Context()
	_, prepared := newVisibilityFile(t)
	v := prepared.(*visibilityDB)
	r := visibilityRows("ns")[0]
	if _, err := v.InsertIntoVisibility(ctx, &r); err != nil {
		t.Fatal(err)
	}
	query := func(i int) string {
		return fmt.Sprintf("SELECT COUNT(1) FROM executions_visibility WHERE namespace_id = ? AND run_id <> 'x%d'", i)
	}
	held, err := v.read(ctx, query(0))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= maxKeptReads; i++ {
		if _, err := v.CountFromVisibility(ctx, sqlplugin.VisibilitySelectFilter{Query: query(i), QueryArgs: []any{"ns"}}); err != nil {
			t.Fatal(err)
		}
	}
	if !held.dropped {
		t.Fatal("the set was not dropped: the test did not fill it")
	}
	var n int64
	if err := held.s.GetContext(ctx, &n, "ns"); err != nil || n != 1 {
		t.Errorf("a statement in use when the set was dropped: %d, %v", n, err)
	}
	v.unread(held)
	if err := held.s.GetContext(ctx, &n, "ns"); err == nil {
		t.Error("a dropped statement was left open after its last use")
	}
}

// TestVisibilityRecordsMoved: a data dir made before the split has its
// records in temporal.db. Preparing it builds temporal-visibility.db with
// the visibility table's schema alone (a leftover half-built file from an
// interrupted try is rebuilt) and moves the records there. Records written
// to temporal.db later (an older rigger run on the data dir) are moved at
// the next start, a newer version winning; a new temporal.db drops a
// visibility file left from an earlier one.
func TestVisibilityRecordsMoved(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	logger := slog.New(slog.DiscardHandler)
	mainCfg := fileConfig(filepath.Join(dir, "temporal.db"), sqliteplugin.PluginName)
	if err := sqliteschema.SetupSchema(mainCfg); err != nil {
		t.Fatal(err)
	}
	old := openVisibility(t, mainCfg)
	rows := visibilityRows("ns")
	insert := func(rows ...sqlplugin.VisibilityRow) {
		t.Helper()
		for _, r := range rows {
			if _, err := old.ReplaceIntoVisibility(ctx, &r); err != nil {
				t.Fatal(err)
			}
		}
	}
	insert(rows...)
	stored := func(db sqlplugin.DB, runID string) *sqlplugin.VisibilityRow {
		t.Helper()
		r, err := db.GetFromVisibility(ctx, sqlplugin.VisibilityGetFilter{NamespaceID: "ns", RunID: runID})
		if err != nil {
			t.Fatalf("%s: %v", runID, err)
		}
		return r
	}
	var want []*sqlplugin.VisibilityRow
	for _, r := range rows {
		want = append(want, stored(old, r.RunID))
	}
	path := filepath.Join(dir, visibilityFile)
	if err := os.WriteFile(path+".new", []byte("half a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	prepare := func(mainIsNew bool) sqlplugin.DB {
		t.Helper()
		visCfg, err := prepareVisibility(mainCfg, path, mainIsNew, logger)
		if err != nil {
			t.Fatal(err)
		}
		if visCfg.PluginName != visibilityPlugin || visCfg.DatabaseName != path {
			t.Fatalf("visibility store %s on %s", visCfg.PluginName, visCfg.DatabaseName)
		}
		if n := countRows(t, mainCfg.DatabaseName, "%"); n != 0 {
			t.Errorf("%d records left in temporal.db", n)
		}
		return openVisibility(t, visCfg)
	}

	v := prepare(false)
	if _, err := os.Stat(path + ".new"); !os.IsNotExist(err) {
		t.Errorf("the file built under another name is still there (%v)", err)
	}
	for _, w := range want {
		if got := stored(v, w.RunID); !reflect.DeepEqual(got, w) {
			t.Errorf("%s in its own file: %+v; want %+v", w.RunID, got, w)
		}
	}
	if n := countRows(t, path, "%"); n != int64(len(rows)) {
		t.Errorf("%d records in %s, want %d", n, visibilityFile, len(rows))
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var others []string
	qr, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'executions_visibility%'")
	if err != nil {
		t.Fatal(err)
	}
	for qr.Next() {
		var n string
		_ = qr.Scan(&n)
		others = append(others, n)
	}
	_ = qr.Close()
	var triggers int
	_ = db.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'").Scan(&triggers)
	_ = db.Close()
	if len(others) > 0 || triggers != 3 {
		t.Errorf("%s holds other tables %v and %d triggers; want the visibility table's alone, with its 3 triggers", visibilityFile, others, triggers)
	}
	checkIndexes(t, path)
	_ = v.Close()

	// An older rigger ran on the data dir: a new run, a newer version of a
	// stored record and an older one.
	newer, older, added := rows[0], rows[1], rows[2]
	closed := newer.StartTime.Add(time.Minute)
	newer.Status, newer.CloseTime, newer.Version = 2, &closed, 2
	older.Version, older.WorkflowTypeName = 0, "stale"
	added.RunID = "run-added"
	insert(newer, older, added)
	v = prepare(false)
	if got := stored(v, newer.RunID); got.Version != 2 || got.CloseTime == nil {
		t.Errorf("the newer record was not moved over the stored one: %+v", got)
	}
	if got := stored(v, older.RunID); got.Version != 1 || got.WorkflowTypeName != "scaffold" {
		t.Errorf("an older record replaced the stored one: %+v", got)
	}
	stored(v, "run-added")
	if n := countRows(t, path, "%"); n != int64(len(rows))+1 {
		t.Errorf("%d records in %s, want %d", n, visibilityFile, len(rows)+1)
	}
	_ = v.Close()

	v = prepare(true)
	if n := countRows(t, path, "%"); n != 0 {
		t.Errorf("a new temporal.db kept %d records of the visibility file left from an earlier one", n)
	}
	_ = v.Close()
}

// countRows counts the visibility records in file whose workflow id
// matches like.
func countRows(t *testing.T, file, like string) int64 {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow("SELECT COUNT(*) FROM executions_visibility WHERE workflow_id LIKE ?", like).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestVisibilityOwnFile: the embedded server lists, counts and groups runs
// from temporal-visibility.db, and still does after a restart; temporal.db
// holds none of those records.
func TestVisibilityOwnFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	dir := t.TempDir()
	start := func() (*Server, client.Client) {
		s, err := Start(Options{DataDir: dir, FrontendAddress: "127.0.0.1:0", Namespace: "default", Retention: time.Hour,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return s, waitHealthy(t, s.FrontendAddress())
	}
	s, c := start()
	for i := range 3 {
		if _, err := c.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: fmt.Sprintf("vis-%d", i), TaskQueue: "nobody-polls"}, "some-workflow"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.TerminateWorkflow(t.Context(), "vis-0", "", "test"); err != nil {
		t.Fatal(err)
	}
	listed := func(c client.Client) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			open, err1 := c.ListWorkflow(t.Context(), &workflowservice.ListWorkflowExecutionsRequest{Query: "ExecutionStatus = 'Running' AND WorkflowType = 'some-workflow'"})
			groups, err2 := c.CountWorkflow(t.Context(), &workflowservice.CountWorkflowExecutionsRequest{Query: "GROUP BY ExecutionStatus"})
			if err1 == nil && err2 == nil && len(open.GetExecutions()) == 2 && groups.GetCount() == 3 && len(groups.GetGroups()) == 2 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("listed %d running (want 2), counted %d in %d groups (want 3 in 2): %v, %v", len(open.GetExecutions()), groups.GetCount(), len(groups.GetGroups()), err1, err2)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	listed(c)
	s.Stop()
	s, c = start()
	defer s.Stop()
	listed(c)
	if n := countRows(t, filepath.Join(dir, "temporal.db"), "%"); n != 0 {
		t.Errorf("temporal.db holds %d visibility records", n)
	}
	if n := countRows(t, filepath.Join(dir, visibilityFile), "vis-%"); n != 3 {
		t.Errorf("%s holds %d visibility records, want 3", visibilityFile, n)
	}
}

// BenchmarkVisibilityRecord: a run's two visibility writes (its start, then
// its close) through the stock plugin and rigger's, from 16 writers at once
// as Temporal's visibility queue runs them.
func BenchmarkVisibilityRecord(b *testing.B) {
	for _, plugin := range []string{sqliteplugin.PluginName, visibilityPlugin} {
		b.Run(plugin, func(b *testing.B) {
			// The stock plugin on Temporal's schema; rigger's on the file
			// the embedded server builds (prepareVisibility).
			dir := b.TempDir()
			cfg := fileConfig(filepath.Join(dir, "temporal.db"), sqliteplugin.PluginName)
			if err := sqliteschema.SetupSchema(cfg); err != nil {
				b.Fatal(err)
			}
			if plugin == visibilityPlugin {
				var err error
				if cfg, err = prepareVisibility(cfg, filepath.Join(dir, visibilityFile), true, slog.New(slog.DiscardHandler)); err != nil {
					b.Fatal(err)
				}
			}
			db, err := persistencesql.NewSQLDB(sqlplugin.DbKindVisibility, cfg, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			var next atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1)
					r := visibilityRows("ns")[i%4]
					r.RunID, r.WorkflowID = fmt.Sprintf("run-%d", i), fmt.Sprintf("wf-%d", i)
					if _, err := db.InsertIntoVisibility(b.Context(), &r); err != nil {
						b.Error(err)
						return
					}
					closed := r.StartTime.Add(time.Second)
					r.Status, r.CloseTime, r.Version = 2, &closed, 2
					if _, err := db.ReplaceIntoVisibility(b.Context(), &r); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/run")
		})
	}
}

// TestVisibilityWritesTogether: writes queued while another commits are
// committed in one transaction, each with its own result (a no-op insert
// among them reports no row); a write whose caller gave up before its turn
// is dropped, and the others are still committed together.
func TestVisibilityWritesTogether(t *testing.T) {
	stock, prepared := newVisibilityFile(t)
	v := prepared.(*visibilityDB)
	batch := func(ns string, cancelOne, badOne bool) []error {
		dup := visibilityRows(ns)[0]
		dup.RunID = "run-dup"
		if _, err := v.InsertIntoVisibility(t.Context(), &dup); err != nil {
			t.Fatal(err)
		}
		v.turn <- struct{}{} // as a commit in progress would
		errs := make([]error, 10)
		var wg sync.WaitGroup
		for i := range errs {
			ctx := t.Context()
			if cancelOne && i == 3 {
				c, cancel := context.WithCancel(ctx)
				cancel()
				ctx = c
			}
			wg.Go(func() {
				r := visibilityRows(ns)[i%5]
				r.RunID = fmt.Sprintf("run-%d", i)
				want := int64(1)
				if i == 7 { // a record stored already: the insert changes nothing
					r.RunID, want = "run-dup", 0
				}
				if badOne && i == 5 { // a value its JSON cannot hold: the write fails
					(*r.SearchAttributes)["Double01"] = math.NaN()
				}
				res, err := v.InsertIntoVisibility(ctx, &r)
				if err == nil {
					if n, _ := res.RowsAffected(); n != want {
						err = fmt.Errorf("%d rows affected, want %d", n, want)
					}
				}
				errs[i] = err
			})
		}
		for {
			v.qmu.Lock()
			n := len(v.queued)
			v.qmu.Unlock()
			if n == len(errs) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		<-v.turn
		wg.Wait()
		return errs
	}

	for i, err := range batch("together", false, false) {
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	if n := v.together.Load(); n != 10 {
		t.Errorf("%d writes committed together, want all 10", n)
	}
	for i, err := range batch("one-gave-up", true, false) {
		if i == 3 {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("the write whose caller gave up: %v", err)
			}
		} else if err != nil {
			t.Errorf("write %d beside one that gave up: %v", i, err)
		}
	}
	if n := v.together.Load(); n != 19 {
		t.Errorf("%d writes committed together in all, want 10 and then the 9 whose callers still waited", n)
	}
	// A write that fails in the transaction is answered with its error; the
	// others, rolled back with it, are then written each alone.
	for i, err := range batch("one-failed", false, true) {
		if i == 5 {
			if err == nil || !strings.Contains(err.Error(), "NaN") {
				t.Errorf("the write that cannot be stored: %v", err)
			}
		} else if err != nil {
			t.Errorf("write %d beside one that failed: %v", i, err)
		}
	}
	if n := v.together.Load(); n != 19 {
		t.Errorf("%d writes committed together in all after a batch with a failed write, want 19 still", n)
	}
	for ns, want := range map[string]int64{"together": 10, "one-gave-up": 9, "one-failed": 9} {
		got, err := stock.CountFromVisibility(t.Context(), sqlplugin.VisibilitySelectFilter{Query: "SELECT COUNT(1) FROM executions_visibility WHERE namespace_id = ?", QueryArgs: []any{ns}})
		if err != nil || got != want {
			t.Errorf("%s: %d records stored, %v; want %d", ns, got, err, want)
		}
	}
	if _, err := stock.GetFromVisibility(t.Context(), sqlplugin.VisibilityGetFilter{NamespaceID: "one-gave-up", RunID: "run-3"}); err == nil {
		t.Error("the write whose caller gave up was stored")
	}
}

// TestVisibilitySparseIndexes: a filter on an attribute whose index holds
// only the records that have it (sparseIndexes) reads that index, and
// finds what a scan of the table finds, with the attribute set, unset, or
// asked to be unset.
func TestVisibilitySparseIndexes(t *testing.T) {
	ctx := t.Context()
	_, prepared := newVisibilityFile(t)
	for i, r := range visibilityRows("ns") {
		if i%2 == 0 {
			(*r.SearchAttributes)["Keyword07"] = fmt.Sprintf("user:default/u%d", i%4)
			(*r.SearchAttributes)["TemporalKeyword02"] = "sys"
		}
		if _, err := prepared.InsertIntoVisibility(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
	// A record that loses its attribute leaves the partial index, one that
	// gains it enters it.
	for i, r := range visibilityRows("ns")[:2] {
		if i == 1 {
			(*r.SearchAttributes)["Keyword07"] = "user:default/u0"
		}
		r.Version = 2
		if _, err := prepared.ReplaceIntoVisibility(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
	db := prepared.(*visibilityDB).x
	var check string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity check: %s (%v)", check, err)
	}
	for _, c := range []struct {
		where, index string
		want         int
	}{
		{"Keyword07 = 'user:default/u0'", "by_keyword_07", 2},
		{"Keyword07 IN ('user:default/u2', 'nobody')", "by_keyword_07", 1},
		{"Keyword07 LIKE 'user:%'", "", 3},
		{"Keyword07 BETWEEN 'user:default/u0' AND 'user:default/u1'", "by_keyword_07", 2},
		{"TemporalKeyword02 = 'sys'", "by_temporal_keyword_02", 2},
		{"Int01 >= 3", "by_int_01", 2},
		{"parent_workflow_id = 'parent-wf'", "by_parent_workflow_id", 1},
		{"Keyword07 IS NULL", "", 2},
		{"Keyword07 != 'user:default/u0'", "", 1},
		{"Keyword05 = 'x'", "by_keyword_05", 0},
	} {
		query := func(hint string) string {
			return "SELECT run_id FROM executions_visibility" + hint + " WHERE namespace_id = 'ns' AND " + c.where + " ORDER BY run_id"
		}
		ids := func(hint string) []string {
			rows, err := db.QueryContext(ctx, query(hint))
			if err != nil {
				t.Fatalf("%s: %v", c.where, err)
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				out = append(out, id)
			}
			return out
		}
		got, scanned := ids(""), ids(" NOT INDEXED")
		if len(got) != c.want || !slices.Equal(got, scanned) {
			t.Errorf("%s: %v, a scan finds %v (want %d)", c.where, got, scanned, c.want)
		}
		if c.index == "" {
			continue
		}
		var plan strings.Builder
		rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query(" INDEXED BY "+c.index))
		if err != nil {
			t.Fatalf("%s: the planner cannot use %s for it: %v", c.where, c.index, err)
		}
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(detail + "; ")
		}
		_ = rows.Close()
		if !strings.Contains(plan.String(), c.index) {
			t.Errorf("%s: plan %q does not read %s", c.where, plan.String(), c.index)
		}
	}
}

// TestVisibilityIndexesAligned: a visibility file built by an earlier
// rigger (whole indexes on the attribute slots, none on others) gets the
// indexes a new file has when the server starts, its records kept; a
// second start changes nothing.
func TestVisibilityIndexesAligned(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	mainCfg := fileConfig(filepath.Join(dir, "temporal.db"), sqliteplugin.PluginName)
	if err := sqliteschema.SetupSchema(mainCfg); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, visibilityFile)
	visCfg, err := prepareVisibility(mainCfg, path, true, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// As stop 42's rigger built it: the keyword slots whole, the int
	// slot absent, a closing statistic indexed.
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"DROP INDEX by_keyword_03",
		"CREATE INDEX by_keyword_03 ON executions_visibility (namespace_id, Keyword03, (COALESCE(close_time, '9999-12-31 23:59:59+00:00')) DESC, start_time DESC, run_id)",
		"DROP INDEX by_int_02",
		"CREATE INDEX by_history_length ON executions_visibility (namespace_id, history_length)",
	} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	_ = db.Close()
	v := openVisibility(t, visCfg)
	for _, r := range visibilityRows("ns") {
		if _, err := v.InsertIntoVisibility(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
	_ = v.Close()
	var logged bytes.Buffer
	if _, err := prepareVisibility(mainCfg, path, false, slog.New(slog.NewTextHandler(&logged, nil))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), "level=WARN") || !strings.Contains(logged.String(), "indexes=3 records=5") {
		t.Errorf("the rebuild of 3 indexes over 5 records was not told: %q", logged.String())
	}
	checkIndexes(t, path)
	// Every index of Temporal's schema is as a new file has it.
	db, err = sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "ATTACH DATABASE ? AS old", mainCfg.DatabaseName); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, `SELECT o.name, o.sql, v.sql FROM old.sqlite_master o LEFT JOIN main.sqlite_master v ON v.name = o.name
		WHERE o.type = 'index' AND o.tbl_name = 'executions_visibility' AND o.sql IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var name, schema string
		var got sql.NullString
		if err := rows.Scan(&name, &schema, &got); err != nil {
			t.Fatal(err)
		}
		want, keep, err := visibilityIndex(name, schema)
		if err != nil {
			t.Fatal(err)
		}
		if got.Valid != keep || got.String != want {
			t.Errorf("index %s: %q, want %q", name, got.String, want)
		}
		n++
	}
	_ = rows.Close()
	if n < 50 {
		t.Errorf("compared %d indexes; Temporal's schema has over 50", n)
	}
	if err := onAttached(path, mainCfg.DatabaseName, func(ctx context.Context, conn *sql.Conn) error {
		changed, err := alignVisibilityIndexes(ctx, conn, func(int, int64) { t.Error("a second start rebuilds indexes") })
		if changed != 0 {
			t.Errorf("a second start changed %d indexes", changed)
		}
		return err
	}); err != nil {
		t.Error(err)
	}
	if c := countRows(t, path, "%"); c != 5 {
		t.Errorf("%d records after the indexes were rebuilt, want 5", c)
	}
	var broken string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&broken); err != nil || broken != "ok" {
		t.Errorf("integrity check: %s (%v)", broken, err)
	}
}

// checkIndexes checks the visibility file's indexes against what it is
// built with, written out here apart from the code: 9 whole, 45 partial
// on their own column, none on the closing statistics.
func checkIndexes(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'executions_visibility' AND sql IS NOT NULL ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	partial := regexp.MustCompile(`ON executions_visibility \(namespace_id,\s*(\w+),.* WHERE (\w+) IS NOT NULL$`)
	var whole []string
	sparse := 0
	for rows.Next() {
		var name, ddl string
		if err := rows.Scan(&name, &ddl); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(ddl, " WHERE ") {
			whole = append(whole, name)
			continue
		}
		if m := partial.FindStringSubmatch(ddl); m == nil || m[1] != m[2] {
			t.Errorf("index %s: %s; want it partial on its own column", name, ddl)
		}
		sparse++
	}
	wantWhole := []string{"by_execution_time", "by_root_run_id", "by_root_workflow_id", "by_status", "by_task_queue",
		"by_temporal_namespace_division", "by_workflow_id", "by_workflow_type", "default_idx"}
	if !slices.Equal(whole, wantWhole) || sparse != 45 {
		t.Errorf("%s: whole indexes %v, want %v; %d partial, want 45", path, whole, wantWhole, sparse)
	}
}
