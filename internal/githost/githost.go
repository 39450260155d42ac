// Package githost is rigger dev's own git server: repositories under the
// data directory served over smart HTTP (Debian's git http-backend through
// net/http/cgi) at /git/<owner>/<repo>.git, so the example templates can
// publish a repository you can clone without any outside service.
//
// Reading (clone, fetch) is open: the host runs only in rigger dev, bound to
// loopback. Pushing needs a token the host itself minted for that one
// repository (its credentials.Minter, integration "git"), valid for
// minutes; a push to a repository that does not exist yet creates it.
//
// Pull requests: the host serves the part of GitHub's REST API that
// publish:github:pull-request calls (APIPrefix, GitHub's paths and
// payloads) to a token minted with pull_requests:write for that
// repository, keeps the records in the bare repository, merges with real
// git, and shows plain HTML pages (a repository, its pull requests, one
// pull request with its diff and a merge button for rigger dev's guest).
// It must never run outside rigger dev: it has no users of its own.
package githost

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/riggerdev/rigger/internal/credentials"
)

// Integration is the credentials.Need integration the host mints for.
const Integration = "git"

// Prefix is where the host is mounted.
const Prefix = "/git/"

// TokenTTL is how long a push token lasts.
const TokenTTL = 15 * time.Minute

// MaxPushBytes bounds one request's body (a push): a task's workspace
// holds at most 512 MiB.
const MaxPushBytes = 512 << 20

// Host serves and mints.
type Host struct {
	dir     string
	name    string // the host name targets and repoUrls use
	addr    string // host:port it is served at
	key     []byte
	backend string
	gitBin  string
	now     func() time.Time
	mu      sync.Mutex // serialises repository creation and pull request records

	// OnMerge, when set before the host serves, is called after each
	// merge of a pull request (rigger dev refreshes its catalog
	// repository's location with it).
	OnMerge func(owner, repo string, p Pull)
}

// New returns a Host keeping repositories under dir, named name in
// targets and repoUrls (e.g. localhost: localhost?owner=acme&repo=x),
// served at addr (host:port of rigger dev's API), signing push tokens with
// key (≥ 32 bytes). It needs git and git http-backend installed.
func New(dir, name, addr string, key []byte) (*Host, error) {
	if len(key) < 32 {
		return nil, errors.New("git host: the token key needs at least 32 bytes")
	}
	gitBin, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("git host: git is not installed: %w", err)
	}
	out, err := exec.Command(gitBin, "--exec-path").Output()
	if err != nil {
		return nil, fmt.Errorf("git host: git --exec-path: %w", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		return nil, fmt.Errorf("git host: git http-backend is not installed (%s): %w", backend, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("git host: %w", err)
	}
	return &Host{dir: dir, name: name, addr: addr, key: key, backend: backend, gitBin: gitBin, now: time.Now}, nil
}

// Name is the host name targets and clone URLs use.
func (h *Host) Name() string { return h.name }

// BaseURL is where the repositories are: <BaseURL>/<owner>/<repo>.git.
func (h *Host) BaseURL() string { return "http://" + h.addr + strings.TrimSuffix(Prefix, "/") }

// CloneURL is the URL of owner/repo on this host.
func (h *Host) CloneURL(owner, repo string) string {
	return h.BaseURL() + "/" + owner + "/" + repo + ".git"
}

var nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)

// checkName refuses an owner or repository name that is not a plain name.
func checkName(what, s string) error {
	if !nameRe.MatchString(s) || strings.Contains(s, "..") || strings.HasSuffix(strings.ToLower(s), ".git") {
		return fmt.Errorf("%s %q is not a valid name: letters, digits, '.', '-' and '_', at most 100, not ending in .git", what, s)
	}
	return nil
}

// token is what a push token says.
type token struct {
	Repo    string `json:"r"` // owner/repo
	Write   bool   `json:"w"`
	PR      bool   `json:"p,omitempty"` // may open, update and merge pull requests
	Expires int64  `json:"e"`           // unix seconds
	Task    string `json:"t"`
}

func (h *Host) sign(t token) string {
	body, _ := json.Marshal(t)
	mac := hmac.New(sha256.New, h.key)
	mac.Write([]byte("rigger git host token v1\x00"))
	mac.Write(body)
	enc := base64.RawURLEncoding
	return "rgd_" + enc.EncodeToString(body) + "." + enc.EncodeToString(mac.Sum(nil))
}

func (h *Host) verify(s string) (token, error) {
	var t token
	rest, ok := strings.CutPrefix(s, "rgd_")
	body64, sig64, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 {
		return t, errors.New("not a token of this git host")
	}
	enc := base64.RawURLEncoding
	body, err1 := enc.DecodeString(body64)
	sig, err2 := enc.DecodeString(sig64)
	if err1 != nil || err2 != nil {
		return t, errors.New("malformed token")
	}
	mac := hmac.New(sha256.New, h.key)
	mac.Write([]byte("rigger git host token v1\x00"))
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return t, errors.New("token signature does not verify")
	}
	if err := json.Unmarshal(body, &t); err != nil {
		return t, errors.New("malformed token")
	}
	if h.now().Unix() >= t.Expires {
		return t, errors.New("token expired")
	}
	return t, nil
}

// Integration implements credentials.Minter.
func (h *Host) Integration() string { return Integration }

// Mint implements credentials.Minter: a token for the one repository
// need.Target names ("<host>/<owner>/<repo>"), write access when the need
// asks for contents:write, pull requests (the host's REST API) when it
// asks for pull_requests:write, for TokenTTL.
func (h *Host) Mint(_ context.Context, need credentials.Need) (credentials.Credential, error) {
	host, path, _ := strings.Cut(need.Target, "/")
	if host != h.name {
		return credentials.Credential{}, fmt.Errorf("target %q is not on this git host (%s)", need.Target, h.name)
	}
	owner, repo, ok := strings.Cut(path, "/")
	if !ok {
		return credentials.Credential{}, fmt.Errorf("target %q: want %s/<owner>/<repo>", need.Target, h.name)
	}
	if err := errors.Join(checkName("owner", owner), checkName("repository", repo)); err != nil {
		return credentials.Credential{}, err
	}
	write, pr := false, false
	for k, v := range need.Permissions {
		switch {
		case k == "contents" && v == "write":
			write = true
		case k == "pull_requests" && v == "write":
			pr = true
		case (k == "contents" || k == "metadata" || k == "pull_requests") && v == "read":
		default:
			return credentials.Credential{}, fmt.Errorf("the dev git host grants contents and pull_requests read or write only, not %s:%s", k, v)
		}
	}
	exp := h.now().Add(TokenTTL)
	tok := h.sign(token{Repo: strings.ToLower(owner + "/" + repo), Write: write, PR: pr, Expires: exp.Unix(), Task: need.Run.TaskID})
	return credentials.Credential{Integration: Integration, Target: need.Target, Token: credentials.NewSecret(tok),
		Username: "x-access-token", Expires: exp, Source: "rigger dev git host"}, nil
}

// ServeHTTP serves /git/<owner>/<repo>.git/{info/refs,git-upload-pack,git-receive-pack},
// the REST API under APIPrefix and the pull request pages at
// /git/<owner>/<repo>/pulls.
func (h *Host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, APIPrefix) {
		h.serveAPI(w, r)
		return
	}
	parts := strings.SplitN(rest, "/", 3)
	if (len(parts) == 2 || (len(parts) == 3 && parts[2] == "")) && !strings.HasSuffix(parts[1], ".git") && r.Method == http.MethodGet {
		h.serveRepoPage(w, parts[0], parts[1])
		return
	}
	if len(parts) == 3 && !strings.HasSuffix(parts[1], ".git") && (parts[2] == "pulls" || strings.HasPrefix(parts[2], "pulls/")) {
		h.servePages(w, r, parts[0], parts[1], strings.TrimPrefix(strings.TrimPrefix(parts[2], "pulls"), "/"))
		return
	}
	if len(parts) != 3 || !strings.HasSuffix(parts[1], ".git") {
		httpError(w, http.StatusNotFound, "not a repository path: want /git/<owner>/<repo>.git/…")
		return
	}
	// Names are compared as GitHub does, without case.
	owner, repo, op := strings.ToLower(parts[0]), strings.ToLower(strings.TrimSuffix(parts[1], ".git")), parts[2]
	if err := errors.Join(checkName("owner", owner), checkName("repository", repo)); err != nil {
		httpError(w, http.StatusNotFound, err.Error())
		return
	}
	service := ""
	switch {
	case op == "info/refs" && r.Method == http.MethodGet:
		service = r.URL.Query().Get("service")
	case (op == "git-upload-pack" || op == "git-receive-pack") && r.Method == http.MethodPost:
		service = op
	}
	if service != "git-upload-pack" && service != "git-receive-pack" {
		// Only the smart protocol: no dumb file access to the repository.
		httpError(w, http.StatusForbidden, "only git's smart HTTP protocol is served")
		return
	}
	gitDir := filepath.Join(h.dir, owner, repo+".git")
	env := []string{"GIT_PROJECT_ROOT=" + h.dir, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + h.dir}
	t, err := h.pushToken(r)
	if err == nil && (t.Repo != owner+"/"+repo || !t.Write) {
		err = fmt.Errorf("the token is for %s, read only=%v, not a push to %s/%s", t.Repo, !t.Write, owner, repo)
	}
	switch {
	case service == "git-receive-pack" && err != nil:
		w.Header().Set("WWW-Authenticate", `Basic realm="rigger dev git host"`)
		httpError(w, http.StatusUnauthorized, "push refused: "+err.Error())
		return
	case err == nil:
		// A writer's repository exists from its first request (a publish
		// looks at the branch before it pushes).
		if err := h.ensureRepo(gitDir); err != nil {
			httpError(w, http.StatusInternalServerError, err.Error())
			return
		}
		// git http-backend enables receive-pack for an authenticated user.
		env = append(env, "REMOTE_USER=rigger-task-"+t.Task)
	default:
		if _, err := os.Stat(gitDir); err != nil {
			httpError(w, http.StatusNotFound, fmt.Sprintf("repository %s/%s does not exist", owner, repo))
			return
		}
	}
	// The token stays here: cgi would hand every header to the backend's
	// environment.
	r = r.Clone(r.Context())
	r.Header.Del("Authorization")
	r.Body = http.MaxBytesReader(w, r.Body, MaxPushBytes)
	(&cgi.Handler{Path: h.backend, Root: strings.TrimSuffix(Prefix, "/"), Env: env}).ServeHTTP(w, r)
}

// pushToken reads the token of an Authorization header: Basic with any
// user name (git's form) or Bearer.
func (h *Host) pushToken(r *http.Request) (token, error) {
	a := r.Header.Get("Authorization")
	if _, pass, ok := r.BasicAuth(); ok {
		return h.verify(pass)
	}
	if t, ok := strings.CutPrefix(a, "Bearer "); ok {
		return h.verify(t)
	}
	return token{}, errors.New("no token")
}

func (h *Host) ensureRepo(gitDir string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, err := os.Stat(filepath.Join(gitDir, "HEAD")); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(gitDir), 0o700); err != nil {
		return err
	}
	cmd := exec.Command(h.gitBin, "init", "--quiet", "--bare", "-b", "main", gitDir)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + h.dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("create repository: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}
