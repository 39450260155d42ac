package api

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/liveconfig"
)

// TestEffectiveConfigRoute: GET /api/config/effective answers the admin
// scope with the running configuration, its generation and hash, secrets
// redacted; any other scope gets 403 and no token 401.
func TestEffectiveConfigRoute(t *testing.T) {
	tok := func(c byte) string { return strings.Repeat(string(c), 40) }
	text := "auth:\n  serviceTokens:\n    - name: root\n      token: " + tok('x') + "\n      scopes: [\"*\"]\n"
	path := filepath.Join(t.TempDir(), "rigger.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadData(path, []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	live := liveconfig.New(liveconfig.Options{}, cfg, []byte(text))
	srv := New(Deps{
		Logger: discardLogger(),
		Auth: auth.NewServiceTokens([]auth.ServiceToken{
			{Name: "reader", Token: tok('r'), Scopes: []string{"catalog.read", "scaffolder.admin", "audit.read"}},
			{Name: "root", Token: tok('x'), Scopes: []string{"*"}},
		}),
		Config: live,
	})
	call := func(token string) *httptest.ResponseRecorder {
		req := loopbackRequest("GET", "/api/config/effective", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		return w
	}
	if w := call(tok('r')); w.Code != http.StatusForbidden {
		t.Fatalf("without the admin scope: %d %s", w.Code, w.Body.String())
	}
	if w := call(""); w.Code != http.StatusUnauthorized {
		t.Fatalf("without a token: %d", w.Code)
	}
	w := call(tok('x'))
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(body, `"generation":1`) || !strings.Contains(body, `"sha256":"`+liveconfig.Hash([]byte(text))+`"`) {
		t.Fatalf("admin: %d %s", w.Code, body)
	}
	if strings.Contains(body, tok('x')) || !strings.Contains(body, "[redacted]") {
		t.Fatalf("a secret in the body: %s", body)
	}
}
