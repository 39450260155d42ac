package main

import (
	"context"
	"encoding/base64"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/api"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/sqlite"
)

const testBaseURL = "https://rigger.example.com"

var testSecretKey = []byte("0123456789abcdef0123456789abcdef")

// tokenAPI starts a real API server on 127.0.0.1 over the SQLite store at
// dbPath, accepting rigger access tokens and stored service tokens.
func tokenAPI(t *testing.T, dbPath string) (*httptest.Server, *auth.Issuer, store.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	iss, err := auth.NewIssuer(context.Background(), auth.IssuerOptions{Store: st, DataKey: testSecretKey, URL: testBaseURL})
	if err != nil {
		t.Fatal(err)
	}
	stored := auth.NewStoredTokens(st, nil, nil, nil)
	srv := api.New(api.Deps{Logger: newLogger(os.Stderr, "error", "text"), Auth: auth.Chain{Issuer: iss, Stored: stored},
		Tokens: api.TokenDeps{Issuer: iss, Stored: stored, Admins: []string{"group:default/platform"}}})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs, iss, st
}

func TestTokenCommands(t *testing.T) {
	hs, iss, _ := tokenAPI(t, filepath.Join(t.TempDir(), "rigger.db"))
	admin, _, err := iss.Issue(context.Background(), auth.Identity{Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/platform"}})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"RIGGER_SERVER": hs.URL, "RIGGER_TOKEN": admin}
	out, errOut, err := runCLI(t, env, "token", "create", "ci-deploy", "--scope", "scaffolder.run", "--template", "template:default/app", "--expires", "48h")
	if err != nil {
		t.Fatalf("create: %v\n%s", err, errOut)
	}
	tok := strings.TrimSpace(out)
	if !strings.HasPrefix(tok, auth.ServiceTokenPrefix) || !strings.Contains(errOut, "will not be shown again") {
		t.Fatalf("create printed %q / %q", out, errOut)
	}
	// The printed token works against the server.
	who, _, err := runCLI(t, map[string]string{"RIGGER_SERVER": hs.URL, "RIGGER_TOKEN": tok}, "token", "list")
	if err == nil || !strings.Contains(err.Error(), "admin") {
		t.Fatalf("a scaffolder.run token listed tokens: %q %v", who, err)
	}
	out, _, err = runCLI(t, env, "token", "list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "ci-deploy") || !strings.Contains(out, "scaffolder.run") || !strings.Contains(out, "active") || strings.Contains(out, tok) {
		t.Fatalf("list:\n%s", out)
	}
	if _, errOut, err := runCLI(t, env, "token", "create", "bad", "--scope", "root"); err == nil || !strings.Contains(err.Error(), `scope "root"`) {
		t.Fatalf("bad scope: %v %s", err, errOut)
	}
	out, _, err = runCLI(t, env, "token", "revoke", "ci-deploy")
	if err != nil || !strings.Contains(out, "revoked token ci-deploy") {
		t.Fatalf("revoke: %q %v", out, err)
	}
	out, _, err = runCLI(t, env, "token", "list")
	if err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("list after revoke: %q %v", out, err)
	}
	// Every session and access token of a user.
	bob, _, err := iss.Issue(context.Background(), auth.Identity{Ref: "user:default/bob", Ent: []string{"user:default/bob"}})
	if err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, env, "token", "revoke", "--user", "user:default/bob")
	if err != nil || !strings.Contains(out, "revoked 0 sessions of user:default/bob") {
		t.Fatalf("revoke --user: %q %v", out, err)
	}
	if _, _, err := runCLI(t, map[string]string{"RIGGER_SERVER": hs.URL, "RIGGER_TOKEN": bob}, "token", "list"); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("bob's revoked token: %v", err)
	}
	if _, _, err := runCLI(t, env, "token", "revoke", "ci-deploy", "--user", "user:default/bob"); exitCode(err) != 2 {
		t.Fatalf("two things to revoke: %v", err)
	}
	if _, _, err := runCLI(t, map[string]string{"RIGGER_SERVER": hs.URL}, "token", "list"); err == nil || !strings.Contains(err.Error(), "bearer") {
		t.Fatalf("list without a token: %v", err)
	}
}

func TestBreakGlass(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	cfgPath := filepath.Join(dir, "rigger.yaml")
	yaml := "server:\n  baseUrl: " + testBaseURL + "\nscaffolder:\n  secretKey: " + base64.StdEncoding.EncodeToString(testSecretKey) + "\n"
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	// The server's database exists (the server made its signing key).
	hs, _, st := tokenAPI(t, filepath.Join(dataDir, "rigger.db"))

	if _, _, err := runCLI(t, nil, "--config", cfgPath, "admin", "break-glass", "--data-dir", dataDir, "--ttl", "2h"); exitCode(err) != 2 {
		t.Fatalf("--ttl 2h: %v", err)
	}
	out, errOut, err := runCLI(t, nil, "--config", cfgPath, "admin", "break-glass", "--data-dir", dataDir)
	if err != nil {
		t.Fatalf("break-glass: %v\n%s", err, errOut)
	}
	tok := strings.TrimSpace(out)
	if strings.Count(tok, ".") != 2 || !strings.Contains(errOut, "auth.break-glass") {
		t.Fatalf("break-glass printed %q / %q", out, errOut)
	}
	// The running server accepts it as an admin: it may create tokens.
	env := map[string]string{"RIGGER_SERVER": hs.URL, "RIGGER_TOKEN": tok}
	if out, errOut, err := runCLI(t, env, "token", "create", "recovery", "--scope", "*"); err != nil || !strings.HasPrefix(out, auth.ServiceTokenPrefix) {
		t.Fatalf("create with the break-glass token: %q %v %s", out, err, errOut)
	}
	// A critical audit event was stored.
	recs, err := st.AuditRecords(context.Background(), store.AuditQuery{Action: "auth.break-glass"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Actor != BreakGlassRef || !strings.Contains(string(recs[0].Body), `"severity":"critical"`) {
		t.Fatalf("break-glass audit events: %+v", recs)
	}
	if strings.Contains(string(recs[0].Body), tok) {
		t.Fatal("the audit event holds the token")
	}
	// Revoked from the operator's shell, the token is refused by the
	// running server (another process's issuer) within the window.
	if _, _, err := runCLI(t, nil, "--config", cfgPath, "admin", "break-glass", "--data-dir", dataDir, "--revoke", recs[0].ID); err != nil {
		t.Fatalf("break-glass --revoke: %v", err)
	}
	deadline := time.Now().Add(4 * auth.DefaultRevocationWindow)
	for {
		_, _, err := runCLI(t, env, "token", "list")
		if err != nil && strings.Contains(err.Error(), "revoked") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server still accepts a revoked break-glass token after %s: %v", 4*auth.DefaultRevocationWindow, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if recs, err := st.AuditRecords(context.Background(), store.AuditQuery{Action: "token.revoke"}); err != nil || len(recs) != 1 || !strings.Contains(string(recs[0].Body), "access-token:") {
		t.Fatalf("revocation audit events: %+v %v", recs, err)
	}
	// Expiry within an hour.
	iss, err := auth.NewIssuer(context.Background(), auth.IssuerOptions{Store: st, DataKey: testSecretKey, URL: testBaseURL,
		Now: func() time.Time { return time.Now().Add(time.Hour + time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Verify(context.Background(), tok); err == nil {
		t.Fatal("the break-glass token is valid after an hour")
	}
	// Without the secret key there is no token.
	if err := os.WriteFile(cfgPath, []byte("server:\n  baseUrl: "+testBaseURL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, nil, "--config", cfgPath, "admin", "break-glass", "--data-dir", dataDir); err == nil || !strings.Contains(err.Error(), "secretKey") {
		t.Fatalf("break-glass without a key: %v", err)
	}
}
