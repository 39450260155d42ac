package api

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestDatabaseUnreachable: errors of a database that is away answer 503,
// a query the database refused does not.
func TestDatabaseUnreachable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"dial refused", fmt.Errorf("list entities: %w", refused), true},
		{"bad conn", fmt.Errorf("query: %w", driver.ErrBadConn), true},
		{"shutting down", fmt.Errorf("q: %w", &pgconn.PgError{Code: "57P03", Message: "the database system is shutting down"}), true},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"syntax", &pgconn.PgError{Code: "42601"}, false},
		{"other", errors.New("boom"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := databaseUnreachable(tc.err); got != tc.want {
				t.Fatalf("databaseUnreachable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
