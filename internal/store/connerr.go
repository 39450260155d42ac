package store

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// ConnError is a failure of the network connection to the database while
// it was in use (a reset, a broken pipe): the database is unreachable, as
// opposed to a query it refused. Only the connections a dialect opens
// through DBConn produce it, so that the network error of another call (a
// URL fetch, an identity provider) is never taken for the database's.
type ConnError struct{ Err error }

func (e *ConnError) Error() string { return "database connection: " + e.Err.Error() }

func (e *ConnError) Unwrap() error { return e.Err }

// DBConn wraps a connection to the database so that its read and write
// failures are ConnErrors. End of file and timeouts pass unchanged: the
// driver tests for them as they are (a deadline is how it interrupts a
// query whose context ended).
func DBConn(c net.Conn) net.Conn { return dbConn{c} }

type dbConn struct{ net.Conn }

func (c dbConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	return n, connError(err)
}

func (c dbConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	return n, connError(err)
}

func connError(err error) error {
	var ne net.Error
	if err == nil || err == io.EOF || errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	return &ConnError{Err: err}
}

// Unreachable reports an error of a database that could not be reached
// or is shutting down or starting up (a connection that could not be
// opened or broke in use, SQLSTATE class 08 "connection exception" or 57P
// "operator intervention"), as opposed to a query it refused. A network
// error is the database's only when the store marked it so (ConnError): a
// URL fetch or an identity provider's is not.
func Unreachable(err error) bool {
	var connect *pgconn.ConnectError
	var conn *ConnError
	var pg *pgconn.PgError
	switch {
	case errors.As(err, &connect), errors.As(err, &conn), errors.Is(err, driver.ErrBadConn):
		return true
	case errors.As(err, &pg):
		return strings.HasPrefix(pg.Code, "08") || strings.HasPrefix(pg.Code, "57P")
	}
	return false
}
