package auth

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
)

func bearerRequest(tok string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/api/catalog/entities", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

func TestStoredServiceTokens(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	st := testDB(t, filepath.Join(t.TempDir(), "r.db"))
	s := NewStoredTokens(st, []string{"from-config"}, nil, c.Now)
	tok, info, err := s.Create(ctx, TokenSpec{Name: "ci", Scopes: []string{"scaffolder.run"}, Templates: []string{"template:default/app"},
		Actions: []string{"fetch:template"}, ExpiresIn: time.Hour}, "user:default/admin")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, ServiceTokenPrefix) || len(tok) < 40 || info.Name != "ci" || info.CreatedBy != "user:default/admin" {
		t.Fatalf("created %q %+v", tok, info)
	}
	id, err := s.Authenticate(bearerRequest(tok))
	if err != nil {
		t.Fatal(err)
	}
	if id.Ref != "service:ci" || !id.Service || id.Scopes[0] != "scaffolder.run" || id.Templates[0] != "template:default/app" ||
		id.Actions[0] != "fetch:template" || id.Via != "service-token" || id.TokenID != info.ID {
		t.Fatalf("identity %+v", id)
	}
	// The list holds no secret, and shows the last use.
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].LastUsed == nil || !list[0].LastUsed.Equal(c.Now()) {
		t.Fatalf("list %+v", list)
	}
	rows, _ := st.ServiceTokens(ctx)
	if strings.Contains(rows[0].Hash, tok) || rows[0].Hash == tok {
		t.Fatal("the token is stored in the clear")
	}
	// Uses within a minute are not written; after a minute the next is.
	c.Add(30 * time.Second)
	if _, err := s.Authenticate(bearerRequest(tok)); err != nil {
		t.Fatal(err)
	}
	if rows, _ := st.ServiceTokens(ctx); !rows[0].LastUsed.Equal(c.Now().Add(-30 * time.Second)) {
		t.Fatalf("last use written again within a minute: %v", rows[0].LastUsed)
	}
	c.Add(31 * time.Second)
	if _, err := s.Authenticate(bearerRequest(tok)); err != nil {
		t.Fatal(err)
	}
	if rows, _ := st.ServiceTokens(ctx); !rows[0].LastUsed.Equal(c.Now()) {
		t.Fatalf("last use after a minute not written: %v, want %v", rows[0].LastUsed, c.Now())
	}
	// Expiry.
	c.Add(time.Hour)
	if _, err := s.Authenticate(bearerRequest(tok)); !errors.Is(err, errs.ErrUnauthenticated) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired token: %v", err)
	}
	// Revocation, by name.
	tok2, _, err := s.Create(ctx, TokenSpec{Name: "deploy", Scopes: []string{"catalog.read"}}, "user:default/admin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoke(ctx, "deploy"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(bearerRequest(tok2)); !errors.Is(err, errs.ErrUnauthenticated) || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("revoked token: %v", err)
	}
	if _, err := s.Authenticate(bearerRequest(ServiceTokenPrefix + "unknown")); !errors.Is(err, errs.ErrUnauthenticated) {
		t.Fatalf("unknown token: %v", err)
	}
	// Bad specs.
	for _, tc := range []struct {
		spec TokenSpec
		want string
	}{
		{TokenSpec{Name: "Bad Name", Scopes: []string{"catalog.read"}}, "token name"},
		{TokenSpec{Name: "noscope"}, "at least one scope"},
		{TokenSpec{Name: "admin", Scopes: []string{"admin"}}, `scope "admin"`},
		{TokenSpec{Name: "long", Scopes: []string{"*"}, ExpiresIn: 400 * 24 * time.Hour}, "lifetime"},
		{TokenSpec{Name: "ci", Scopes: []string{"*"}}, "exists"},
		{TokenSpec{Name: "from-config", Scopes: []string{"*"}}, "auth.serviceTokens"},
	} {
		if _, _, err := s.Create(ctx, tc.spec, "user:default/admin"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("create %+v: %v, want an error mentioning %q", tc.spec, err, tc.want)
		}
	}
}
