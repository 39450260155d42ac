package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// A library is one implementation of SQLite the store can run on. Every
// build has the pure-Go one (modernc.org/sqlite, also what the embedded
// Temporal server keeps its own files in); a build with cgo and the
// sqlite_fts5 tag (the Makefile's) has SQLite's C code too, and stores
// in it by default (library_c.go): a first load's inserts ran 1.45x and
// its index builds 3x faster there (the same rows and statements, one
// process, 10k entities' worth).
//
// One process opens a file with one library only: SQLite keeps a file's
// POSIX locks per library, and a lock is the process's, so one library
// closing its descriptor would drop the other's locks.
type library struct {
	// Name is what Library reports: "c" or "go".
	Name string
	// About says which SQLite it is, for rigger version.
	About func() string
	// open opens the file at path (a path or a file: URI) with each
	// connection waiting up to busy for another's lock from its first
	// statement on, then running pragmas (as in PRAGMA <p>, in order) as
	// it opens; with immediate, each transaction takes the write lock as
	// it begins.
	open func(path string, busy time.Duration, pragmas []string, immediate bool) (*sql.DB, error)
	// busy: err is this library's SQLITE_BUSY (any extended code).
	busy func(err error) bool
	// stat4 says ANALYZE writes key samples (sqlite_stat4), which the
	// store's ANALYZE then deletes.
	stat4 bool
	// insertRows, if set, writes a batch of new rows in one call
	// (store.Dialect.CopyRows); without it the store runs prepared
	// INSERTs of a few rows through the driver (Dialect.PreparedInserts).
	insertRows func(ctx context.Context, dc any, table string, columns []string, rows [][]any) error
}

// pureGo is modernc.org/sqlite, SQLite translated to Go: no C compiler
// needed, FTS5 and STAT4 compiled in.
var pureGo = library{
	Name:  "go",
	About: func() string { return "pure Go (modernc.org/sqlite; built without cgo or -tags sqlite_fts5)" },
	open: func(path string, busy time.Duration, pragmas []string, immediate bool) (*sql.DB, error) {
		// modernc runs busy_timeout before the other pragmas, whatever
		// their order here.
		q := url.Values{"_pragma": {fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds())}}
		for _, p := range pragmas {
			q.Add("_pragma", p)
		}
		if immediate {
			q.Set("_txlock", "immediate")
		}
		return sql.Open("sqlite", withQuery(path, q.Encode()))
	},
	busy: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
	},
	stat4: true,
}

// defaultLibrary is what Open stores in: the C library where the build
// has it (library_c.go sets it), the pure-Go one otherwise.
var defaultLibrary = pureGo

// libraries are the libraries this build has, the default first.
func libraries() []library {
	if defaultLibrary.Name == pureGo.Name {
		return []library{pureGo}
	}
	return []library{defaultLibrary, pureGo}
}

// Library names the SQLite the store runs on in this build: "c" (SQLite's
// C code, through cgo) or "go" (modernc.org/sqlite).
func Library() string { return defaultLibrary.Name }

// About says which SQLite the store runs on in this build, for people.
func About() string { return defaultLibrary.About() }

// OpenRaw opens the SQLite file at path (a path, or a file: URI with
// SQLite's own parameters such as mode=ro) with the store's library, its
// busy timeout and no other pragma: for tools and tests that read or
// change a store's file in the process that has the store open (see
// library).
func OpenRaw(path string) (*sql.DB, error) {
	db, err := defaultLibrary.open(path, busyTimeout, nil, false)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}

// withQuery is path as a file: URI with the query q added to any it has.
func withQuery(path, q string) string {
	if !strings.HasPrefix(path, "file:") {
		path = "file:" + path
	}
	if q == "" {
		return path
	}
	if strings.Contains(path, "?") {
		return path + "&" + q
	}
	return path + "?" + q
}
