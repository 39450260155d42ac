package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store/sqlite"
)

func bearerReq(tok string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/api/catalog/entities", nil)
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return r
}

// TestServerAuthentication: rigger server's authenticator accepts config
// tokens, rigger access tokens and stored service tokens; without a
// configured way in it refuses to start; rigger dev keeps the guest.
func TestServerAuthentication(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "rigger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logger := slog.New(slog.DiscardHandler)

	cfg := config.Default()
	if _, err := authenticator(cfg, modeServer); err == nil || !strings.Contains(err.Error(), "auth.serviceTokens or auth.externalAccess") {
		t.Fatalf("server with no way in: %v", err)
	}
	cfg.Server.BaseURL = testBaseURL
	cfg.Scaffolder.SecretKey = config.Secret("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	cfgTok := strings.Repeat("c", 40)
	cfg.Auth.ServiceTokens = []config.ServiceToken{{Name: "legacy", Token: config.Secret(cfgTok), Scopes: []string{"*"}}}
	base, err := authenticator(cfg, modeServer)
	if err != nil {
		t.Fatal(err)
	}
	a, deps, _, err := tokenAuth(ctx, cfg, st, modeServer, base, logger)
	if err != nil {
		t.Fatal(err)
	}
	if deps.Issuer == nil || deps.Sessions == nil || deps.Stored == nil || !deps.SecureCookies {
		t.Fatalf("token deps %+v", deps)
	}
	access, _, err := deps.Issuer.Issue(ctx, auth.Identity{Ref: "user:default/alice"})
	if err != nil {
		t.Fatal(err)
	}
	stored, _, err := deps.Stored.Create(ctx, auth.TokenSpec{Name: "ci", Scopes: []string{"catalog.read"}}, "user:default/alice")
	if err != nil {
		t.Fatal(err)
	}
	for tok, want := range map[string]string{cfgTok: "service:legacy", access: "user:default/alice", stored: "service:ci"} {
		if id, err := a.Authenticate(bearerReq(tok)); err != nil || id.Ref != want {
			t.Errorf("%s: %+v %v", want, id, err)
		}
	}
	if _, err := a.Authenticate(bearerReq("")); !errors.Is(err, errs.ErrUnauthenticated) {
		t.Errorf("no token on a server: %v", err)
	}
	if _, _, err := deps.Stored.Create(ctx, auth.TokenSpec{Name: "legacy", Scopes: []string{"*"}}, "x"); err == nil {
		t.Error("a stored token took a config token's name")
	}

	// rigger dev: no header is the guest; a header must be valid.
	dev := config.Default()
	dev.Server.DataDir = t.TempDir()
	base, err = authenticator(dev, modeDev)
	if err != nil {
		t.Fatal(err)
	}
	devStore, err := sqlite.Open(ctx, filepath.Join(dev.Server.DataDir, "rigger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer devStore.Close()
	a, deps, _, err = tokenAuth(ctx, dev, devStore, modeDev, base, logger)
	if err != nil {
		t.Fatal(err)
	}
	// rigger dev's guest is a user, not the read-only network guest.
	if id, err := a.Authenticate(bearerReq("")); err != nil || id.Ref != auth.GuestRef || id.Via != "dev-guest" || id.Guest {
		t.Errorf("dev without a token: %+v %v", id, err)
	}
	if _, err := a.Authenticate(bearerReq("rgr_forged")); !errors.Is(err, errs.ErrUnauthenticated) {
		t.Errorf("dev with a forged token: %v", err)
	}
	if deps.SecureCookies {
		t.Error("dev cookies marked Secure (plain http on loopback)")
	}
}
