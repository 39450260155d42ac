package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/auth"
)

// TestAccessTokensEndBeforeExpiry: logout, an admin's "revoke every
// session of alice" and a revoked token id (a break-glass token) refuse
// the access tokens at the next request, audited; other tokens work on.
func TestAccessTokensEndBeforeExpiry(t *testing.T) {
	ts := newTokenServer(t)
	alice := auth.Identity{Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-a"}}
	bob := auth.Identity{Ref: "user:default/bob", Ent: []string{"user:default/bob"}}
	root := auth.Identity{Ref: "user:default/root", Ent: []string{"user:default/root", "group:default/platform"}}
	// signIn refreshes a new session through the API, as the UI does.
	signIn := func(id auth.Identity) (access, refresh string) {
		t.Helper()
		first, _, err := ts.sessions.Create(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		w := ts.do(t, "POST", "/api/auth/refresh", "", `{"refreshToken":"`+first+`"}`)
		var got struct{ AccessToken, RefreshToken string }
		decode(t, w, &got)
		if w.Code != 200 {
			t.Fatalf("refresh %d %s", w.Code, w.Body)
		}
		return got.AccessToken, got.RefreshToken
	}
	whoami := func(tok string) int { return ts.do(t, "GET", "/api/auth/whoami", tok, "").Code }
	issue := func(id auth.Identity) string {
		tok, _, err := ts.issuer.Issue(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	rootTok, bobTok := issue(root), issue(bob)

	// Logout ends the access token too, not only the refresh token.
	access, refresh := signIn(alice)
	if c := whoami(access); c != 200 {
		t.Fatalf("whoami before logout: %d", c)
	}
	if w := ts.do(t, "POST", "/api/auth/logout", "", `{"refreshToken":"`+refresh+`"}`); w.Code != 204 {
		t.Fatalf("logout %d %s", w.Code, w.Body)
	}
	if c := whoami(access); c != 401 {
		t.Fatalf("an access token of a logged-out session answered %d, want 401", c)
	}

	// Bob may not end alice's sessions; an admin may.
	a1, _ := signIn(alice)
	a2, _ := signIn(alice)
	if w := ts.do(t, "POST", "/api/auth/revocations", bobTok, `{"user":"user:default/alice"}`); w.Code != 403 || !strings.Contains(w.Body.String(), "token.revoke") {
		t.Fatalf("bob revoking alice: %d %s", w.Code, w.Body)
	}
	if c := whoami(a1); c != 200 {
		t.Fatalf("alice's token after bob's refused revocation: %d", c)
	}
	// A short or differently cased ref names the same user (review 31b:
	// it matched nothing and answered 200).
	w := ts.do(t, "POST", "/api/auth/revocations", rootTok, `{"user":"Alice"}`)
	var out struct{ Sessions int }
	decode(t, w, &out)
	if w.Code != 200 || out.Sessions != 2 {
		t.Fatalf("admin revoking alice: %d %s", w.Code, w.Body)
	}
	for _, tok := range []string{a1, a2} {
		if c := whoami(tok); c != 401 {
			t.Fatalf("alice's token after revocation answered %d, want 401", c)
		}
	}
	if c := whoami(bobTok); c != 200 {
		t.Fatalf("bob's token after alice's revocation: %d", c)
	}
	// Anyone may sign themselves out everywhere.
	if w := ts.do(t, "POST", "/api/auth/revocations", bobTok, `{"user":"user:default/bob"}`); w.Code != 200 {
		t.Fatalf("bob revoking himself: %d %s", w.Code, w.Body)
	}
	if c := whoami(bobTok); c != 401 {
		t.Fatalf("bob's token after he revoked his sessions: %d", c)
	}

	// One token by id: a break-glass token, with the admin scope.
	bg := auth.Identity{Ref: "user:default/break-glass", Ent: []string{"user:default/break-glass"}, Scopes: []string{"admin"}, Via: auth.ViaBreakGlass}
	bgTok := issue(bg)
	verified, err := ts.issuer.Verify(t.Context(), bgTok)
	if err != nil {
		t.Fatal(err)
	}
	if w := ts.do(t, "POST", "/api/auth/revocations", rootTok, `{"tokenId":"`+verified.TokenID+`"}`); w.Code != 200 {
		t.Fatalf("revoke token id: %d %s", w.Code, w.Body)
	}
	if c := whoami(bgTok); c != 401 {
		t.Fatalf("revoked break-glass token answered %d", c)
	}
	if w := ts.do(t, "POST", "/api/auth/revocations", rootTok, `{"tokenId":"x","user":"user:default/bob"}`); w.Code != 400 {
		t.Fatalf("both user and tokenId: %d", w.Code)
	}
	if w := ts.do(t, "POST", "/api/auth/revocations", rootTok, `{"user":"group:default/team-a"}`); w.Code != 400 || !strings.Contains(w.Body.String(), "not a user ref") {
		t.Fatalf("revoking a group: %d %s", w.Code, w.Body)
	}

	// The revocations are audited.
	if err := ts.audit.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	w = ts.do(t, "GET", "/api/audit/events?action=token.revoke", rootTok, "")
	var events struct {
		Items []struct {
			Event struct{ Actor, Target string } `json:"event"`
		} `json:"items"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &events); err != nil || w.Code != http.StatusOK {
		t.Fatalf("audit events %d %s", w.Code, w.Body)
	}
	targets := map[string]string{}
	for _, e := range events.Items {
		targets[e.Event.Target] = e.Event.Actor
	}
	if targets["user:default/alice"] != root.Ref || targets["access-token:"+verified.TokenID] != root.Ref {
		t.Fatalf("token.revoke events %s", w.Body)
	}
}
