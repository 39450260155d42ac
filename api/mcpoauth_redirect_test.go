package api

import (
	"net/http"
	"strings"
	"testing"
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
