//go:build cgo && sqlite_fts5

package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// cLibrary is SQLite's C code through cgo (github.com/mattn/go-sqlite3),
// built with FTS5 (the sqlite_fts5 tag) and without STAT4; the Makefile
// also leaves out extension loading (sqlite_omit_load_extension), which
// the store never uses.
var cLibrary = library{
	Name: "c",
	About: func() string {
		v, _, _ := sqlite3.Version()
		return "C, SQLite " + v + " (cgo)"
	},
	open: func(path string, busy time.Duration, pragmas []string, immediate bool) (*sql.DB, error) {
		if _, params, ok := strings.Cut(path, "?"); ok && strings.Contains(params, "_pragma=") {
			// modernc's parameter, which this driver would pass to SQLite
			// as an unknown one and so ignore. (A data dir's path has no
			// "?": what follows one is a file: URI's parameters.)
			return nil, fmt.Errorf("%s: _pragma is a parameter of the pure-Go SQLite only; open the store with sqlite.Open, which sets its pragmas on either library", path)
		}
		// _busy_timeout runs before the driver's own first statements
		// (synchronous, which reads the schema), where a pragma of the
		// hook would run after them at the driver's default of 5 s.
		q := url.Values{"_busy_timeout": {strconv.FormatInt(busy.Milliseconds(), 10)}}
		if immediate {
			q.Set("_txlock", "immediate")
		}
		dsn := withQuery(path, q.Encode())
		d := &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
			for _, p := range pragmas {
				if _, err := c.Exec("PRAGMA "+p, nil); err != nil {
					return fmt.Errorf("PRAGMA %s: %w", p, err)
				}
			}
			return nil
		}}
		return sql.OpenDB(connector{dsn: dsn, driver: d}), nil
	},
	busy: func(err error) bool {
		var e sqlite3.Error
		return errors.As(err, &e) && e.Code == sqlite3.ErrBusy
	},
	insertRows: insertRows,
}

// connector opens dsn with driver (database/sql's connector for a driver
// value rather than a registered name: each pool runs its own pragmas).
type connector struct {
	dsn    string
	driver *sqlite3.SQLiteDriver
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.driver.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.driver }

func init() { defaultLibrary = cLibrary }
