package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/sqlite"
)

// testStore opens a real SQLite store in a temporary folder, closed when
// the test ends.
func testStore(t testing.TB) *store.SQL {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// discardLogger drops what the server logs.
func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// loopbackRequest is a request as a local client sends it: the browser
// guard accepts only loopback host names (and server.baseUrl's).
func loopbackRequest(method, path string, body io.Reader) *http.Request {
	req := httptest.NewRequest(method, path, body)
	req.Host = "127.0.0.1:7007"
	return req
}

// storeWithOneEntity is a SQLite store holding one entity,
// component:default/a, in one location.
func storeWithOneEntity(t testing.TB) (*store.SQL, *store.StoredEntity) {
	t.Helper()
	ctx := context.Background()
	st := testStore(t)
	loc, err := st.AddLocation(ctx, store.Location{Type: "file", Target: "/x.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ReplaceLocation(ctx, loc.ID, []store.Entity{{Ref: "component:default/a", Body: []byte(`{"kind":"Component"}`), Hash: "1"}},
		store.ReplaceOptions{Orphans: store.OrphanDelete}); err != nil {
		t.Fatal(err)
	}
	ent, err := st.EntityByRef(ctx, "component:default/a")
	if err != nil {
		t.Fatal(err)
	}
	return st, ent
}

// testTokens are an issuer of access tokens for server.baseUrl base and
// its sessions (hour-long sign-ins), kept in st.
func testTokens(t testing.TB, st *store.SQL, base string) (*auth.Issuer, *auth.Sessions) {
	t.Helper()
	iss, err := auth.NewIssuer(t.Context(), auth.IssuerOptions{Store: st, DataKey: []byte("0123456789abcdef0123456789abcdef"), URL: base})
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := auth.NewSessions(st, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	sessions.Issuer = iss
	return iss, sessions
}
