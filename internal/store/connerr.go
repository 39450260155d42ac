package store

import (
	"errors"
	"io"
	"net"
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
