package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/store/sqlite"
)

// TestDevGuestGroups: rigger dev's guest acts for the groups
// auth.devGuestGroups lists (lower-cased, as catalog refs are), through
// every authenticator dev builds; rigger server refuses the setting.
func TestDevGuestGroups(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "rigger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dataDir := t.TempDir() // rigger dev keeps its key file there
	for _, tokens := range []bool{false, true} {
		cfg := config.Default()
		cfg.Server.DataDir = dataDir
		cfg.Auth.DevGuestGroups = []string{"group:default/Team-A"}
		if tokens {
			cfg.Auth.ServiceTokens = []config.ServiceToken{{Name: "ci", Token: config.Secret(strings.Repeat("c", 40)), Scopes: []string{"*"}}}
		}
		base, err := authenticator(cfg, modeDev)
		if err != nil {
			t.Fatal(err)
		}
		a, _, _, err := tokenAuth(ctx, cfg, st, modeDev, base, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		id, err := a.Authenticate(httptest.NewRequest("GET", "/api/catalog/entities", nil))
		if err != nil || id.Ref != "user:default/guest" || !slices.Equal(id.Ent, []string{"user:default/guest", "group:default/team-a"}) {
			t.Fatalf("tokens %v: the guest is %+v, %v", tokens, id, err)
		}
	}
	cfg := config.Default()
	cfg.Auth.DevGuestGroups = []string{"group:default/team-a"}
	cfg.Auth.ServiceTokens = []config.ServiceToken{{Name: "ci", Token: config.Secret(strings.Repeat("c", 40)), Scopes: []string{"*"}}}
	if _, err := authenticator(cfg, modeServer); err == nil || !strings.Contains(err.Error(), "auth.devGuestGroups is only honoured by rigger dev") {
		t.Fatalf("rigger server with auth.devGuestGroups: %v", err)
	}
}
