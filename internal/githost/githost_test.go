package githost

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/credentials"
)

func newHost(t testing.TB) (*Host, *httptest.Server) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h, err := New(t.TempDir(), "localhost", strings.TrimPrefix(srv.URL, "http://"), []byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(Prefix, h)
	return h, srv
}

// git runs git in dir with only the given token, through the environment
// (never argv).
func git(t testing.TB, dir, tok string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}
	if tok != "" {
		basic := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + tok))
		cmd.Env = append(cmd.Env, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0=Authorization: Basic "+basic)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mint(t testing.TB, h *Host, target, perm string) string {
	t.Helper()
	c, err := h.Mint(context.Background(), credentials.Need{Integration: Integration, Action: "publish:github", Target: target,
		Permissions: map[string]string{"contents": perm}, Run: credentials.Run{TaskID: "task-1", UserRef: "user:default/alice"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Expires.After(time.Now().Add(TokenTTL+time.Second)) || c.Username != "x-access-token" {
		t.Fatalf("credential %v", c)
	}
	return c.Token.Reveal()
}

func TestPushCreatesAndCloneReads(t *testing.T) {
	h, _ := newHost(t)
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "README.md"), []byte("# payments\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "."}, {"commit", "-qm", "first"}} {
		if out, err := git(t, work, "", args...); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	url := h.CloneURL("acme", "payments")

	// Refusals first: nothing may be created by them.
	if out, err := git(t, work, "", "push", url, "main"); err == nil {
		t.Fatalf("push without a token went through: %s", out)
	}
	other := mint(t, h, h.Name()+"/acme/other", "write")
	readOnly := mint(t, h, h.Name()+"/acme/payments", "read")
	forged := other[:len(other)-4] + "AAAA"
	for name, tok := range map[string]string{"another repository's token": other, "a read token": readOnly, "a forged token": forged, "a foreign token": "ghs_notours"} {
		if out, err := git(t, work, tok, "push", url, "main"); err == nil {
			t.Fatalf("push with %s went through: %s", name, out)
		}
	}
	if _, err := os.Stat(filepath.Join(h.dir, "acme", "payments.git")); err == nil {
		t.Fatal("a refused push created the repository")
	}
	h.now = func() time.Time { return time.Now().Add(-2 * TokenTTL) }
	expired := mint(t, h, h.Name()+"/acme/payments", "write")
	h.now = time.Now
	if out, err := git(t, work, expired, "push", url, "main"); err == nil {
		t.Fatalf("push with an expired token went through: %s", out)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "acme", "payments.git")); err == nil {
		t.Fatal("a refused push created the repository")
	}

	tok := mint(t, h, h.Name()+"/acme/payments", "write")
	// A writer may look before it pushes: the repository exists, empty.
	if out, err := git(t, work, tok, "ls-remote", url); err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("ls-remote with a write token: %v %q", err, out)
	}
	if out, err := git(t, work, tok, "push", url, "main"); err != nil {
		t.Fatalf("push: %v %s", err, out)
	}
	clone := filepath.Join(t.TempDir(), "c")
	if out, err := git(t, filepath.Dir(clone), "", "clone", "-q", url, clone); err != nil {
		t.Fatalf("clone: %v %s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(clone, "README.md"))
	if err != nil || string(b) != "# payments\n" {
		t.Fatalf("cloned README: %q %v", b, err)
	}
}

func TestRefusesOtherPathsAndNames(t *testing.T) {
	h, srv := newHost(t)
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/git/acme/payments.git/HEAD", http.StatusNotFound},
		{"/git/acme/payments.git/objects/info/packs", http.StatusForbidden},
		{"/git/acme/payments.git/info/refs", http.StatusForbidden},                             // dumb protocol
		{"/git/acme/missing.git/info/refs?service=git-upload-pack", http.StatusNotFound},       // no such repo
		{"/git/acme/..%2F..%2Fetc.git/info/refs?service=git-upload-pack", http.StatusNotFound}, // not a name
		{"/git/.hidden/x.git/info/refs?service=git-upload-pack", http.StatusNotFound},
		{"/git/acme/payments/info/refs?service=git-upload-pack", http.StatusNotFound},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if tc.path == "/git/acme/payments.git/HEAD" {
			// payments does not exist; HEAD is a dumb path either way.
			if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %d", tc.path, resp.StatusCode)
			}
			continue
		}
		if resp.StatusCode != tc.code {
			t.Errorf("%s: %d, want %d", tc.path, resp.StatusCode, tc.code)
		}
	}
	for _, target := range []string{"elsewhere:1/acme/x", h.Name() + "/acme", h.Name() + "/acme/x.git", h.Name() + "/../x"} {
		if _, err := h.Mint(context.Background(), credentials.Need{Target: target, Permissions: map[string]string{"contents": "write"}}); err == nil {
			t.Errorf("minted for %q", target)
		}
	}
	if _, err := h.Mint(context.Background(), credentials.Need{Target: h.Name() + "/acme/x", Permissions: map[string]string{"administration": "write"}}); err == nil {
		t.Error("minted administration")
	}
}
