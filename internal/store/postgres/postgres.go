// Package postgres opens rigger's catalog store in PostgreSQL (pgx driver)
// for production: many API replicas share one database.
//
// It must not import api, worker, workflows or activities.
package postgres

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" driver

	"github.com/riggerdev/rigger/internal/store"
)

// Option changes what Open opens.
type Option func(*options)

type options struct{ noReadPools bool }

// WithoutReadPools has Open open only its main pool, every connection of
// maxOpen in it, and none opened before it is used: for a process that
// serves no catalog reads from people (a worker, a CLI command), which
// would otherwise hold the search and generic-plan pools' sessions open
// (5 of the default 10) and idle for good. Searches and pages then run
// on the main pool, as they do when those pools are busy.
func WithoutReadPools() Option { return func(o *options) { o.noReadPools = true } }

// bodyAsBytes reads an entity's body as bytea (Dialect.BodyAsBytes).
const bodyAsBytes = "convert_to(%s, 'UTF8')"

// Open connects to url, waits up to 30s for the server, and migrates.
// Of its maxOpen connections (0: no bound), a third, and at least two
// (a search runs two queries at once), are for searches when there are
// 4 or more: their sessions have the store's search settings
// (store.SearchSettings), so that a search query needs no transaction
// to set them. Of the rest, a fifth of maxOpen and at least two (a page
// and its count) run pages on generic plans (store.Dialect.GenericDB)
// when 5 are left beside them (a page's count, its rows and the audit
// log use 3 at once, and writes more). WithoutReadPools opens neither.
func Open(ctx context.Context, url string, maxOpen int, opts ...Option) (*store.SQL, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := connConfig(url)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(useVectorCodec))
	total := maxOpen
	var searchDB, genericDB *sql.DB
	closePools := func() {
		for _, p := range []*sql.DB{genericDB, searchDB} {
			if p != nil {
				p.Close()
			}
		}
	}
	if !o.noReadPools && (maxOpen <= 0 || maxOpen >= 4) {
		searchDB, err = openPool(url, &maxOpen, max(2, total/3), store.SearchSettings())
	}
	if n := max(2, total/5); err == nil && !o.noReadPools && (maxOpen <= 0 || maxOpen-n >= 5) {
		genericDB, err = openPool(url, &maxOpen, n, genericSettings)
	}
	if err != nil {
		closePools()
		db.Close()
		return nil, err
	}
	if maxOpen > 0 {
		// All kept open when idle, as the search pool's: database/sql
		// keeps 2, and a page's count, its rows and the audit log use
		// 3 at once; each reopened one forked a backend and prepared
		// every statement again (a few per 700 requests, the slowest).
		db.SetMaxOpenConns(maxOpen)
		db.SetMaxIdleConns(maxOpen)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err = db.PingContext(ctx)
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		db.Close()
		closePools()
		// pgx errors do not include the password; the URL is never logged.
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	s, err := store.Open(ctx, db, store.Dialect{
		Name:   "postgres",
		Rebind: rebind,
		// Bodies read as bytea, which pgx hands over in a slice of each
		// row's own: one copy on the way to StoredEntity.Body where text
		// took two (pgx's string, then bytes); a sixth of an owner page's
		// allocation. TestDriverBytesAreOwned pins pgx's part.
		BodyAsBytes: bodyAsBytes,
		BytesOwned:  true,
		Migrations:  store.Schema("postgres"),
		// A transaction-scoped advisory lock (key: "rigger" in ASCII).
		MigrationLock: "SELECT pg_advisory_xact_lock(491328545650)",
		// Several processes may write at once: ids come from the sequence
		// (never handed out twice, even by transactions that roll back).
		NewIDs:    "SELECT nextval('entities_id_seq') FROM generate_series(1, ?)",
		MaxParams: 8000,
		CopyData:  copyData,
		// Only ever run on tables found empty, under the first load's
		// ACCESS EXCLUSIVE locks (replacer.frozenFirstLoad).
		FirstLoadTruncate: "TRUNCATE entities, search, relations, search_docs",
		// Each COPY is a round trip the writer waits on, and its
		// goroutine then waits for a CPU (the parsing has the others):
		// 10,000 rows a COPY instead of 2,000 took a 100k-entity load's
		// writes from 6.9-7.0 to 5.0-5.1 s (50,000: 4.8-4.9 s, parsing
		// then being what it waits for). The rows held are bounded in
		// bytes too (copyBytes).
		CopyBatch: 10000,
		// A first load into an empty catalog builds the catalog tables'
		// secondary indexes after its rows: on 100k entities the server's
		// CPU time fell from 22 to 10 s (inserting 2.6M search rows into
		// search_key_value one by one, and the tsvector GIN, cost more
		// than sorting them once). Unique indexes stay: they check the load.
		// search_vocab's trigram index too: the load's new words went into
		// its pending list, merged every 256 kB.
		FirstLoadIndexes: `SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
			JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
			WHERE t.relnamespace = current_schema()::regnamespace AND t.relname IN ('entities', 'search', 'relations', 'search_docs', 'search_vocab')
			AND NOT i.indisunique ORDER BY c.relname`,
		// DROP INDEX holds its table's ACCESS EXCLUSIVE lock to the commit.
		FirstLoadLocks: true,
		// All of them at once, never queued: a reader holding one table
		// while it waits for another would otherwise deadlock with the
		// drops (SQLSTATE 40P01: a failed request). Every table of
		// FirstLoadIndexes is here.
		FirstLoadLock: "LOCK TABLE entities, search, relations, search_docs, search_vocab IN ACCESS EXCLUSIVE MODE NOWAIT",
		// The check of a streamed chunk's refs against other locations'
		// entities (1,000 refs, one statement text per chunk size) kept a
		// plan made once for the connection while the catalog was small:
		// a scan (auto_explain: costed 0.00), kept as the table grew. A
		// 100k-entity first load that readers kept from its locks for a
		// while read the whole table again for each chunk: 116-120 s of
		// writes instead of 6-7. Planned afresh for each chunk
		// (plan_cache_mode = force_custom_plan) it still scans until the
		// table outgrows the cost of 1,000 index probes at
		// random_page_cost 4: the checks of a 30k-entity load read 320k
		// rows (TestFirstLoadPlanning). Scans are off for that statement
		// only: for the whole write transaction they slowed a 10k first
		// load's COPY into entities and its index builds by 0.3 s. After
		// it, the setting the session had (an operator's, from the role,
		// the database or postgresql.conf), not "on".
		RefCheck: [2]string{"SET LOCAL enable_seqscan = off", "SET LOCAL enable_seqscan = DEFAULT"},
		// Autovacuum analyzes eventually; right after a big batch the
		// planner would otherwise scan every component to find one owner's,
		// and plan searches for a search index it believes empty (a
		// hash join of every entity's document to list names: 100-300 ms
		// at 100k entities). Of search_docs, its size, the share of each
		// type and that an entity id has one document of a type are
		// enough (1 % of a 10k batch; all its columns, 7 %): without the
		// last, the names query expects hundreds of documents an entity
		// and builds the access predicate's hash tables (25 ms right after
		// a load) to check one. Of the other tables, the columns that
		// statements compare, join or group by (the others have no
		// statistics target: store.Schema's columnStats).
		// The full sample, a first load's too: with 9,000 rows a table
		// (statistics target 30) a 100k load's ANALYZE took 210 ms
		// against 580, but a 10k catalog's owners fell out of the most
		// common values, and a connection that planned owner pages then
		// planned each afresh (0.4-0.5 ms more a page) for as long as it
		// lived: the plan cache keeps its custom plans' costs across a
		// later ANALYZE.
		Analyze: "ANALYZE entities, search, relations, search_docs (id, type)",
		// And the batch's pages all-visible, after it commits: until
		// autovacuum came, searches' access checks read the heap row of
		// every index entry they met. The heap pass only: the indexes'
		// cleanup (a scan of each GIN index whole) and the dead rows of
		// updates are left to autovacuum. SKIP_LOCKED: a table another
		// vacuum holds is left to it.
		Vacuum: "VACUUM (SKIP_LOCKED, INDEX_CLEANUP OFF) entities, search, relations, search_docs",
		// Not while a transaction of this database that began before the
		// batch committed still holds a snapshot: an autovacuum ANALYZE, a
		// long read. A role without pg_read_all_stats sees no other
		// role's snapshots, and then does not wait.
		VacuumReady: `SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
			AND pid <> pg_backend_pid() AND backend_xmin IS NOT NULL AND xact_start < now() - make_interval(secs => ?))`,
		// Another advisory lock (key: "rigaudit" in ASCII) for audit appends.
		AuditLock: "SELECT pg_advisory_xact_lock(8244234261157407092)",
		// And one (key: "rigkeys" in ASCII) for signing key rotation.
		SigningKeyLock: "SELECT pg_advisory_xact_lock(32204040249375091)",
		FullText:       store.FullTextPostgres,
		SearchDB:       searchDB,
		GenericDB:      genericDB,
	})
	if err != nil {
		db.Close()
		closePools()
		return nil, err
	}
	if err := warmPool(ctx, searchDB, warmSearch); err != nil {
		s.Close()
		return nil, fmt.Errorf("open postgres: search connections: %w", err)
	}
	if err := warmPool(ctx, genericDB, warmPages); err != nil {
		s.Close()
		return nil, fmt.Errorf("open postgres: connections for generic plans: %w", err)
	}
	return s, nil
}

// warmPool opens every connection of db and has each run stmt once, so
// the first statements after a start do not pay for a session: the search
// pool's read the search tables and indexes (a backend started, the
// tables' and indexes' descriptions loaded: a first search took 20-30 ms
// where the next took 5).
func warmPool(ctx context.Context, db *sql.DB, stmt string) error {
	if db == nil {
		return nil
	}
	n := db.Stats().MaxOpenConnections
	conns := make([]*sql.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		conns = append(conns, c)
		if _, err := c.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// warmSearch touches what searches read: search_docs and its tsvector
// index, entities and their name index, search_vocab and its trigram
// index (matching nothing).
const warmSearch = `SELECT (SELECT count(*) FROM (SELECT 1 FROM search_docs e JOIN entities x ON x.id = e.id
  WHERE e.tsv @@ to_tsquery('simple', 'rigger-warm') AND x.name ~>=~ 'a' AND x.name ~<~ 'b' LIMIT 1) t),
  (SELECT count(*) FROM (SELECT 1 FROM search_vocab WHERE word % 'riggerwarm' LIMIT 1) v)`

// genericSettings are the sessions' settings of the pool for generic
// plans. A generic plan costed past jit_above_cost (its estimates blind
// to the values) would be compiled again on each run: JIT is off, as on
// the search pool. Its sessions are named (unless the URL names them
// all), so that pg_stat_activity tells them apart.
var genericSettings = map[string]string{"plan_cache_mode": "force_generic_plan", "jit": "off", "application_name": genericApp}

const genericApp = "rigger-generic-plans"

// warmPages touches what pages read: entities by id and ref, the search
// index's (key, value) rows, relations by source (matching nothing).
const warmPages = `SELECT (SELECT count(*) FROM (SELECT 1 FROM search s JOIN entities e ON e.id = s.entity_id
  WHERE s.key = 'rigger-warm' AND s.value = 'rigger-warm' LIMIT 1) t),
  (SELECT count(*) FROM (SELECT 1 FROM relations r JOIN entities e ON e.ref = r.source_ref WHERE r.source_ref = 'rigger-warm' LIMIT 1) u)`

// openPool opens a pool of n connections (no bound when *maxOpen is 0),
// taken from *maxOpen, whose sessions have settings.
func openPool(url string, maxOpen *int, n int, settings map[string]string) (*sql.DB, error) {
	cfg, err := connConfig(url)
	if err != nil {
		return nil, err
	}
	for k, v := range settings {
		if _, named := cfg.RuntimeParams[k]; k == "application_name" && named {
			continue
		}
		cfg.RuntimeParams[k] = v
	}
	db := stdlib.OpenDB(*cfg)
	if *maxOpen > 0 {
		// All kept open when idle: a new session plans every statement
		// afresh (tens of ms for its first searches).
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
		*maxOpen -= n
	}
	return db, nil
}

// connConfig is url's connection settings, its connections' network
// failures marked as the database's (store.ConnError).
func connConfig(url string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	// search_docs_tsv's pending list (its GIN entries not merged yet,
	// which every search scans whole) is merged at 256 kB; a large batch
	// raises this for its own transaction (store.searchIndexer).
	// Text comes back as the server holds it, in UTF-8, whatever the URL,
	// the role or the database set: relations are read from an array's
	// text form (store.parseTextPairs), whose quotes and backslashes
	// would otherwise be the second byte of a character in some client
	// encodings (Shift JIS, Big5, GBK).
	cfg.RuntimeParams["client_encoding"] = "UTF8"
	// And every statement sees what committed before it (READ COMMITTED),
	// whatever default an operator set: the write generation's folds, a
	// first load's check that the catalog is empty before it truncates
	// it, and reads that waited on a first load's locks (which, with an
	// older snapshot, would see its frozen rows beside the generation
	// from before it) all assume it.
	cfg.RuntimeParams["default_transaction_isolation"] = "read committed"
	if _, ok := cfg.RuntimeParams["gin_pending_list_limit"]; !ok {
		cfg.RuntimeParams["gin_pending_list_limit"] = "256"
	}
	dial := cfg.DialFunc
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return store.DBConn(c), nil
	}
	return cfg, nil
}

// useVectorCodec has conn write tsvector values with vectorCodec.
func useVectorCodec(_ context.Context, conn *pgx.Conn) error {
	conn.TypeMap().RegisterType(&pgtype.Type{Name: "tsvector", OID: pgtype.TSVectorOID, Codec: vectorCodec{}})
	return nil
}

// vectorCodec is pgx's tsvector codec, but for a value that appends its
// own binary form (the store's search vectors, which it builds as it
// writes them), written as it appends it: not built as a pgtype.TSVector
// first, whose lexemes and positions were the most of what a batch's
// search rows left the garbage collector (8 MB per 10k entities).
type vectorCodec struct{ pgtype.TSVectorCodec }

// vectorAppender is a value that appends its binary tsvector form.
type vectorAppender interface {
	AppendTSVectorBinary(buf []byte) []byte
}

func (c vectorCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if _, ok := value.(vectorAppender); ok && format == pgtype.BinaryFormatCode {
		return appendVector{}
	}
	return c.TSVectorCodec.PlanEncode(m, oid, format, value)
}

type appendVector struct{}

func (appendVector) Encode(value any, buf []byte) ([]byte, error) {
	return value.(vectorAppender).AppendTSVectorBinary(buf), nil
}

// rebind turns ? placeholders into $1, $2, ... (no ? appears in our SQL
// outside placeholders).
func rebind(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// copyData writes rows encoded in the binary COPY format (store's
// appendCopyRow) into table's columns, on the pgx connection dc: in the
// transaction open there.
func copyData(ctx context.Context, dc any, table string, columns []string, data []byte, freeze bool) (int64, error) {
	c, ok := dc.(*stdlib.Conn)
	if !ok {
		return 0, fmt.Errorf("not a pgx connection: %T", dc)
	}
	cols := make([]string, len(columns))
	for i, col := range columns {
		cols[i] = pgx.Identifier{col}.Sanitize()
	}
	stmt := "COPY " + pgx.Identifier{table}.Sanitize() + " (" + strings.Join(cols, ", ") + ") FROM STDIN (FORMAT binary"
	if freeze {
		stmt += ", FREEZE"
	}
	stmt += ")"
	r := io.MultiReader(strings.NewReader(store.CopyHeader), bytes.NewReader(data), strings.NewReader(store.CopyTrailer))
	tag, err := c.Conn().PgConn().CopyFrom(ctx, r, stmt)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
