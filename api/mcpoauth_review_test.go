package api

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/auth/oidctest"
	"github.com/riggerdev/rigger/internal/store"
)

// TestRedirectURIStrictUnderPrefix: under a "/*" pattern a registered
// redirect URI must be a plain, normalised path: no query, no fragment,
// no dot segments, no encoded slash or dot (security review L5).
func TestRedirectURIStrictUnderPrefix(t *testing.T) {
	patterns := []string{"https://agent.example/oauth/*", "http://127.0.0.1:*/*"}
	for _, ok := range []string{
		"https://agent.example/oauth/cb",
		"https://agent.example/oauth/cb/",
		"http://127.0.0.1:5/",
		"http://127.0.0.1:5",
		"http://127.0.0.1:5/a/b.c/callback",
	} {
		if err := checkRedirectURI(ok, patterns); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for raw, want := range map[string]string{
		"https://agent.example/oauth/cb?next=https://evil.example": "no query string",
		"https://agent.example/oauth/cb?":                          "no query string",
		"https://agent.example/oauth/../evil":                      "normalised",
		"https://agent.example/oauth/cb/../../evil/redirect":       "normalised",
		"https://agent.example/oauth/./cb":                         "normalised",
		"https://agent.example/oauth//cb":                          "normalised",
		"https://agent.example/oauth/%2e%2e/evil":                  "percent-encode",
		"https://agent.example/oauth/%2E%2E/evil":                  "percent-encode",
		"https://agent.example/oauth/..%2fevil":                    "percent-encode",
		"https://agent.example/oauth/a%5c..%5cevil":                "percent-encode",
		"https://agent.example/oauth/%252e%252e/evil":              "percent-encode",
		"http://127.0.0.1:5/cb/../oauth/redirect?next=x":           "no query string",
		"http://127.0.0.1:5/cb/../oauth/redirect":                  "normalised",
		"https://agent.example/oauth/cb#frag":                      "no fragment",
	} {
		err := checkRedirectURI(raw, patterns)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error saying %q", raw, err, want)
		}
	}
}

// TestMCPOAuthRegistrationRefusesLooseRedirect: the registration endpoint
// answers such a URI with invalid_redirect_uri.
func TestMCPOAuthRegistrationRefusesLooseRedirect(t *testing.T) {
	f := newOAuthFixture(t, nil)
	var e struct{ Error, Error_description string }
	status := postJSON(t, f.base+"/oauth/register", `{"redirect_uris":["http://127.0.0.1:5/cb/../oauth/redirect"]}`, &e)
	if status != http.StatusBadRequest || e.Error != "invalid_redirect_uri" || !strings.Contains(e.Error_description, "normalised") {
		t.Fatalf("%d %+v", status, e)
	}
}

// TestMCPOAuthConsentHardening: the consent page may not be framed (CSP
// and X-Frame-Options), an Allow within a second of the page is refused
// (double-click-jacking), and a decision spends the browser's CSRF cookie
// so the same form cannot be posted again for another code (review L6).
func TestMCPOAuthConsentHardening(t *testing.T) {
	f := newOAuthFixture(t, nil)
	_, as := f.discover(t)
	cfg := f.client(t, f.register(t, as["registration_endpoint"].(string)), mcpCallback, as)
	b := newBrowser(t, f.base)
	authURL := cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	f.authorize(t, b, authURL, oidctest.Alice, "deny") // signs alice in

	resp, page := b.get(authURL)
	if resp.Header.Get("Content-Security-Policy") != "frame-ancestors 'none'" || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("consent page headers: CSP %q, X-Frame-Options %q", resp.Header.Get("Content-Security-Policy"), resp.Header.Get("X-Frame-Options"))
	}
	form := consentForm(t, page)
	form.Set("decision", "allow")
	resp, page = b.postForm(oauthConsentPath, form)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(page, "less than a second") {
		t.Fatalf("an immediate Allow: %d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	// A second later the same form is taken (the early click spent nothing).
	f.clock.Add(oauthConsentDelay)
	resp, page = b.postForm(oauthConsentPath, form)
	if loc, err := resp.Location(); err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("Allow after a second: %d %s", resp.StatusCode, page)
	}
	// Replaying the decided form from the same browser mints no code.
	resp, page = b.postForm(oauthConsentPath, form)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Location") != "" {
		t.Fatalf("replayed consent: %d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	// So is a deny: its form cannot be turned into an Allow afterwards.
	_, page = b.get(authURL)
	form = consentForm(t, page)
	f.clock.Add(oauthConsentDelay)
	form.Set("decision", "deny")
	if resp, page = b.postForm(oauthConsentPath, form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("deny: %d %s", resp.StatusCode, page)
	}
	form.Set("decision", "allow")
	if resp, page = b.postForm(oauthConsentPath, form); resp.StatusCode != http.StatusForbidden || resp.Header.Get("Location") != "" {
		t.Fatalf("allow after deny with the same form: %d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	if err := f.log.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	recs, err := f.st.AuditRecords(t.Context(), store.AuditQuery{Action: "mcp.oauth.consent"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(recs, func(r store.AuditRecord) bool { return strings.Contains(string(r.Body), "too-soon") }) {
		t.Fatal("no audit event for the early Allow")
	}
}

// adminCall calls an admin route of the REST API with a bearer token.
func (f *oauthFixture) adminCall(t *testing.T, method, path, token string) (int, string) {
	t.Helper()
	resp, body := f.send(t, method, path, token)
	return resp.StatusCode, body
}

// TestMCPOAuthClientAdmin: admins list the OAuth clients and delete a
// registered one, which ends its grant (refresh and access tokens) and
// its registration; others may not; it is audited (review M3).
func TestMCPOAuthClientAdmin(t *testing.T) {
	f := newOAuthFixture(t, func(d *Deps) {
		d.Tokens.Admins = []string{"group:default/platform"}
		d.MCPOAuth.Clients = []store.OAuthClient{{ID: "desktop", Name: "Desktop agent", RedirectURIs: []string{mcpCallback}}}
	})
	ctx := t.Context()
	issue := func(id auth.Identity) string {
		tok, _, err := f.iss.Issue(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	admin := issue(auth.Identity{Ref: "user:default/root", Ent: []string{"user:default/root", "group:default/platform"}})
	bob := issue(auth.Identity{Ref: "user:default/bob", Ent: []string{"user:default/bob"}})

	cfg, verifier, code, _ := f.signedInGrant(t, newBrowser(t, f.base))
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/auth/oauth/clients"
	if status, body := f.adminCall(t, "GET", path, ""); status != http.StatusUnauthorized {
		t.Fatalf("list without a token: %d %s", status, body)
	}
	for _, m := range []string{"GET", "DELETE"} {
		p := path
		if m == "DELETE" {
			p += "/" + cfg.ClientID
		}
		if status, body := f.adminCall(t, m, p, bob); status != http.StatusForbidden || !strings.Contains(body, "managing OAuth clients needs the admin scope") {
			t.Fatalf("%s by a non-admin: %d %s", m, status, body)
		}
	}
	status, body := f.adminCall(t, "GET", path, admin)
	var list struct {
		Items []struct {
			ClientID, Name, RegisteredFrom, RegisteredNetwork string
			Configured                                        bool
			LastUsed                                          *time.Time
		}
	}
	if err := json.Unmarshal([]byte(body), &list); status != http.StatusOK || err != nil || len(list.Items) != 2 {
		t.Fatalf("list: %d %s", status, body)
	}
	if c := list.Items[0]; c.ClientID != "desktop" || !c.Configured {
		t.Fatalf("first listed %+v, want the configured client", c)
	}
	if c := list.Items[1]; c.ClientID != cfg.ClientID || c.Name != "Test Agent" || c.Configured || c.LastUsed == nil ||
		c.RegisteredFrom != "127.0.0.1" || c.RegisteredNetwork != "127.0.0.1" {
		t.Fatalf("the registered client listed as %+v (%s)", c, body)
	}

	if status, body := f.adminCall(t, "DELETE", path+"/desktop", admin); status != http.StatusConflict || !strings.Contains(body, "mcp.clients") {
		t.Fatalf("delete a configured client: %d %s", status, body)
	}
	status, body = f.adminCall(t, "DELETE", path+"/"+cfg.ClientID, admin)
	if status != http.StatusOK || !strings.Contains(body, `"grantsRevoked":1`) {
		t.Fatalf("delete: %d %s", status, body)
	}
	if status, body, _ := f.call(t, "/api/mcp", tok.AccessToken); status != http.StatusUnauthorized {
		t.Fatalf("/api/mcp with the deleted client's token: %d %s", status, body)
	}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("refresh for the deleted client: %v", err)
	}
	if status, body := f.adminCall(t, "DELETE", path+"/"+cfg.ClientID, admin); status != http.StatusNotFound {
		t.Fatalf("delete twice: %d %s", status, body)
	}
	if err := f.log.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	recs, err := f.st.AuditRecords(ctx, store.AuditQuery{Action: "mcp.oauth.client.delete"})
	if err != nil || len(recs) != 1 || !strings.Contains(string(recs[0].Body), "user:default/root") {
		t.Fatalf("delete audit events: %+v %v", recs, err)
	}
}

// TestMCPOAuthUnusedClientsExpire: a registered client that never
// redeemed a code is gone a day later (at the next registration); one
// that did stays (review M3: registration could be filled for good).
func TestMCPOAuthUnusedClientsExpire(t *testing.T) {
	f := newOAuthFixture(t, nil)
	cfg, verifier, code, _ := f.signedInGrant(t, newBrowser(t, f.base))
	if _, err := cfg.Exchange(t.Context(), code, oauth2.VerifierOption(verifier)); err != nil {
		t.Fatal(err)
	}
	_, as := f.discover(t)
	unused := f.register(t, as["registration_endpoint"].(string))
	f.clock.Add(unusedClientTTL + time.Minute)
	later := f.register(t, as["registration_endpoint"].(string))
	cls, err := f.st.OAuthClients(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range cls {
		ids = append(ids, c.ID)
	}
	if !slices.Equal(ids, []string{cfg.ClientID, later}) {
		t.Fatalf("clients %v: want the used %s and the new %s, not the unused %s", ids, cfg.ClientID, later, unused)
	}
}

// TestAddrNetwork: registrations are counted and rate-limited per IPv4
// address and per IPv6 /64.
func TestAddrNetwork(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":                     "192.0.2.7",
		"::ffff:192.0.2.7":              "192.0.2.7",
		"2001:db8:1:2:aaaa::1":          "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff:ffff:1": "2001:db8:1:2::/64",
		"fe80::1%eth0":                  "fe80::/64",
		"":                              "",
	} {
		if got := addrNetwork(in); got != want {
			t.Errorf("addrNetwork(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMCPOAuthResourceOptional: a client that sends no resource (RFC
// 8707 lets it; MCP 2025-06-18 asks clients to send it, but older ones
// do not) gets a token bound to this server's MCP endpoint all the same:
// its audience is <baseUrl>/api/mcp, and the REST API refuses it.
func TestMCPOAuthResourceOptional(t *testing.T) {
	f := newOAuthFixture(t, nil)
	_, as := f.discover(t)
	cfg := f.client(t, f.register(t, as["registration_endpoint"].(string)), mcpCallback, as)
	v := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v))
	if strings.Contains(authURL, "resource=") {
		t.Fatalf("the authorization URL names a resource: %s", authURL)
	}
	back := f.authorize(t, newBrowser(t, f.base), authURL, oidctest.Alice, "allow")
	tok, err := cfg.Exchange(t.Context(), back.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok.AccessToken, ".")
	if len(parts) != 3 {
		t.Fatalf("the access token is not a JWT: %.20s", tok.AccessToken)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Aud any `json:"aud"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(claims.Aud) != f.base+"/api/mcp" && fmt.Sprint(claims.Aud) != "["+f.base+"/api/mcp]" {
		t.Fatalf("audience %v, want %s/api/mcp", claims.Aud, f.base)
	}
	if status, body, _ := f.call(t, "/api/mcp", tok.AccessToken); status != http.StatusOK {
		t.Fatalf("/api/mcp: %d %s", status, body)
	}
	if status, body, _ := f.call(t, "/api/auth/whoami", tok.AccessToken); status != http.StatusUnauthorized {
		t.Fatalf("whoami with the MCP token: %d %s", status, body)
	}
}
