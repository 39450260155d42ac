package api

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// TestDatabaseUnreachable: errors of a database that is away answer 503,
// a query the database refused does not.
func TestDatabaseUnreachable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connect refused", fmt.Errorf("list entities: %w", &pgconn.ConnectError{}), true},
		{"connection broken in use", fmt.Errorf("list entities: %w", &store.ConnError{Err: reset}), true},
		// A network error the store did not mark is another call's.
		{"fetch refused", fmt.Errorf("read location: %w", &url.Error{Op: "Get", URL: "https://example.test/x", Err: refused}), false},
		{"unmarked reset", fmt.Errorf("discovery: %w", reset), false},
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

// TestNetworkErrorAnswers: the answer names the database only for the
// database's errors; another service's network failure answers 502 with
// its own message, and neither shows an address.
func TestNetworkErrorAnswers(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 5432}
	for _, tc := range []struct {
		name   string
		err    error
		status int
		says   string
	}{
		{"database", fmt.Errorf("list entities: %w", &store.ConnError{Err: &net.OpError{Op: "read", Net: "tcp", Addr: addr, Err: errors.New("connection reset by peer")}}),
			http.StatusServiceUnavailable, "the database is unreachable"},
		{"identity provider", fmt.Errorf("oidc discovery: %w", &url.Error{Op: "Get", URL: "https://idp.internal/.well-known/openid-configuration",
			Err: &net.OpError{Op: "dial", Net: "tcp", Addr: addr, Err: errors.New("connection refused")}}),
			http.StatusBadGateway, "a service this request needs could not be reached (dial over tcp failed)"},
		{"invalid input keeps its category", errs.Invalid("fetch the location: %v", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}),
			http.StatusBadRequest, "fetch the location"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest(http.MethodGet, "/api/catalog/entities", nil)
			writeError(c, tc.err)
			body := w.Body.String()
			if w.Code != tc.status || !strings.Contains(body, tc.says) {
				t.Fatalf("%d %s, want %d saying %q", w.Code, body, tc.status, tc.says)
			}
			if strings.Contains(body, "10.1.2.3") || strings.Contains(body, "idp.internal") {
				t.Errorf("the answer shows an address: %s", body)
			}
		})
	}
}
