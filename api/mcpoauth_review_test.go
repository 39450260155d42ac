package api

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

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
