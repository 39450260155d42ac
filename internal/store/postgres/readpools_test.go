package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riggerdev/rigger/internal/store"
)

// sessions counts the other sessions on dsn's database, and those of the
// generic-plan pool among them.
func sessions(t *testing.T, db *sql.DB) (all, generic int) {
	t.Helper()
	err := db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE application_name = $1) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`, genericApp).Scan(&all, &generic)
	if err != nil {
		t.Fatal(err)
	}
	return all, generic
}

// TestWithoutReadPools: a store opened for a worker or a CLI command
// holds no idle search or generic-plan sessions, gives its main pool every
// connection, and still answers pages and searches (on that pool); a
// serving store holds both pools' sessions from its start.
func TestWithoutReadPools(t *testing.T) {
	ctx := context.Background()
	dsn := freshDB(t)
	admin := rawDB(t, dsn)
	admin.SetMaxOpenConns(1)
	served := openStore(t, dsn)
	if all, generic := sessions(t, admin); generic != 2 || all < 6 {
		t.Fatalf("a serving store: %d sessions, %d for generic plans; want the 3 search and 2 generic ones and the main pool's", all, generic)
	}
	served.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if all, _ := sessions(t, admin); all == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the serving store's sessions outlived it")
		}
	}

	s, err := Open(ctx, dsn, 10, WithoutReadPools())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if all, generic := sessions(t, admin); all != 1 || generic != 0 {
		t.Fatalf("a store without read pools: %d sessions, %d for generic plans; want only the main pool's first", all, generic)
	}
	if got := s.DBStats().MaxOpenConnections; got != 10 {
		t.Fatalf("main pool of %d connections, want all 10", got)
	}
	var batch []store.Entity
	for i := range 3 {
		ref := fmt.Sprintf("component:default/c%d", i)
		batch = append(batch, store.Entity{Ref: ref, Hash: ref,
			Body:    fmt.Appendf(nil, `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"c%d","namespace":"default"},"spec":{"owner":"team-a"}}`, i),
			Indexed: &store.IndexedFields{Kind: "Component", Name: fmt.Sprintf("c%d", i), Description: "payments ledger"},
			Search:  []store.SearchRow{{Key: "kind", Value: "component"}, {Key: "metadata.name", Value: fmt.Sprintf("c%d", i)}, {Key: "spec.owner", Value: "team-a"}}})
	}
	loc, err := s.AddLocation(ctx, store.Location{Type: "file", Target: "/c.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReplaceLocation(ctx, loc.ID, batch, store.ReplaceOptions{Orphans: store.OrphanDelete}); err != nil {
		t.Fatal(err)
	}
	page, err := s.Query(ctx, store.Query{Limit: 2,
		Filter: store.Filter{{{Key: "kind", Values: []string{"component"}}, {Key: "spec.owner", Values: []string{"team-a"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entities) != 2 || page.TotalItems != 3 {
		t.Fatalf("owner page: %d entities of %d, want 2 of 3", len(page.Entities), page.TotalItems)
	}
	if pages, counts := s.GenericPlanRuns(); pages+counts != 0 {
		t.Fatalf("%d pages and %d counts on generic plans without the pool", pages, counts)
	}
	found, err := s.Search(ctx, store.SearchQuery{Term: "ledger", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if found.Total != 3 {
		t.Fatalf("search: %d results, want 3", found.Total)
	}
	if _, generic := sessions(t, admin); generic != 0 {
		t.Fatalf("%d generic-plan sessions after reads", generic)
	}
}

// TestSessionSettingsPinned: rigger's sessions read text in UTF-8 and run
// at READ COMMITTED whatever the database's defaults say.
func TestSessionSettingsPinned(t *testing.T) {
	ctx := context.Background()
	dsn := freshDB(t)
	admin := rawDB(t, dsn)
	for _, stmt := range []string{"ALTER DATABASE %s SET client_encoding = 'SJIS'", "ALTER DATABASE %s SET default_transaction_isolation = 'repeatable read'"} {
		if _, err := admin.Exec(fmt.Sprintf(stmt, `"`+dbName(t, admin)+`"`)); err != nil {
			t.Fatal(err)
		}
	}
	plain, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	var enc, iso string
	if err := plain.QueryRow("SELECT current_setting('client_encoding'), current_setting('transaction_isolation')").Scan(&enc, &iso); err != nil {
		t.Fatal(err)
	}
	if enc != "SJIS" || iso != "repeatable read" {
		t.Fatalf("the database's defaults did not apply to a plain session: %s, %s", enc, iso)
	}
	cfg, err := connConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn := connectWith(t, cfg)
	if err := conn.QueryRow(ctx, "SELECT current_setting('client_encoding'), current_setting('transaction_isolation')").Scan(&enc, &iso); err != nil {
		t.Fatal(err)
	}
	if enc != "UTF8" || iso != "read committed" {
		t.Fatalf("a rigger session: client_encoding %s, isolation %s; want UTF8, read committed", enc, iso)
	}
}

// dbName is the database db is connected to.
func dbName(t *testing.T, db *sql.DB) string {
	t.Helper()
	var name string
	if err := db.QueryRow("SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

// connectWith is a pgx connection with cfg, closed after the test.
func connectWith(t *testing.T, cfg *pgx.ConnConfig) *pgx.Conn {
	t.Helper()
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
