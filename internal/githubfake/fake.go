// Package githubfake is a FAKE of GitHub, for tests only: an httptest
// server on 127.0.0.1 that answers the REST API paths and JSON payloads
// activities/github calls (App installation lookup and installation
// tokens, repositories, topics, branch protection, pull requests, issue
// labels, workflow dispatch, webhooks) and serves git smart HTTP for its
// repositories through Debian's git http-backend (net/http/cgi).
//
// It is not GitHub: it models only what those calls need. What it does
// enforce, on every request, is what a real installation token allows:
// the App's JWT (RS256, iss) for installation endpoints, and for every
// other call the token's repositories and permissions (a token restricted
// to one repository gets 404 on another, a missing permission gets 403).
// It records every installation-token request and counts repositories,
// pull requests, dispatches and API calls so tests can assert on them.
// It must never be used outside tests.
package githubfake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is the fake.
type Server struct {
	// URL is the server's base URL (http://127.0.0.1:port).
	URL string

	srv     *httptest.Server
	git     string // git's absolute path
	backend string // git-http-backend's absolute path
	root    string // bare repositories: root/<owner>/<name>.git

	mu            sync.Mutex
	apps          map[int64]*rsa.PublicKey
	installations map[int64]*installation
	accounts      map[string]string // login → "Organization" | "User"
	repos         map[string]*repo  // "owner/name"
	tokens        map[string]*token
	tokenRequests []TokenRequest
	nextID        int64
	apiCalls      int
	gitPushes     int
	pushTokens    []string
	tokenPrefix   string
	tokenTTL      time.Duration
	// hold, when set, blocks the next push until it is closed (HoldPush).
	hold    chan struct{}
	holding chan struct{}
	// pullHold, when set, blocks the next pull-request creation
	// (HoldPullCreate).
	pullHold *pullHold
}

// pullHold is one held pull-request creation.
type pullHold struct {
	reached, release chan struct{}
	// applied: after the release the fake creates the pull request;
	// otherwise it answers 502 and creates nothing.
	applied bool
}

// HoldPush makes the next push (git-receive-pack POST) wait: reached is
// closed when a push arrives and waits, release lets it (and later ones)
// go on. A test kills a worker while its push hangs.
func (s *Server) HoldPush() (reached <-chan struct{}, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold, s.holding = make(chan struct{}), make(chan struct{})
	hold := s.hold
	var once sync.Once
	return s.holding, func() { once.Do(func() { close(hold) }) }
}

// HoldPullCreate makes the next pull-request creation (POST
// /repos/{owner}/{repo}/pulls) wait once its request has been read and
// checked: reached is closed when it waits, release lets it go on. With
// applied the fake then creates the pull request even if its client is
// gone (GitHub acted on a request whose answer nobody read); without, it
// answers 502 and creates nothing (the request was lost before GitHub
// acted). A test kills a worker between its push and its pull request.
func (s *Server) HoldPullCreate(applied bool) (reached <-chan struct{}, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := &pullHold{reached: make(chan struct{}), release: make(chan struct{}), applied: applied}
	s.pullHold = h
	var once sync.Once
	return h.reached, func() { once.Do(func() { close(h.release) }) }
}

// InstallationTokens lists every installation token the fake issued (to
// search for them where no secret may be).
func (s *Server) InstallationTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for v, t := range s.tokens {
		if !t.pat {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// Branches lists the branches of owner/name, sorted.
func (s *Server) Branches(tb testing.TB, owner, name string) []string {
	tb.Helper()
	out, err := s.gitCmd(s.repoDir(owner, name), "for-each-ref", "--format=%(refname:short)", "refs/heads/").Output()
	if err != nil {
		tb.Fatalf("githubfake: branches of %s/%s: %v", owner, name, err)
	}
	return strings.Fields(string(out))
}

// CommitsBetween counts the commits of owner/name on head that base does
// not have (git rev-list --count base..head).
func (s *Server) CommitsBetween(tb testing.TB, owner, name, base, head string) int {
	tb.Helper()
	out, err := s.gitCmd(s.repoDir(owner, name), "rev-list", "--count", "refs/heads/"+base+"..refs/heads/"+head).Output()
	if err != nil {
		tb.Fatalf("githubfake: commits of %s/%s %s..%s: %v", owner, name, base, head, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		tb.Fatalf("githubfake: rev-list said %q", out)
	}
	return n
}

// TokenRequest is one POST /app/installations/{id}/access_tokens as the
// fake received it.
type TokenRequest struct {
	Installation int64
	// Repositories is the body's repositories (nil: none, the whole
	// installation).
	Repositories []string
	Permissions  map[string]string
}

type installation struct {
	id      int64
	app     int64
	account string
	// repos limits the installation to these repositories (nil: all of
	// the account's).
	repos []string
	perms map[string]string
}

type token struct {
	installation int64
	account      string
	repos        []string // nil: every repository of the installation
	perms        map[string]string
	expires      time.Time
	pat          bool
}

type repo struct {
	id            int64
	owner, name   string
	private       bool
	visibility    string
	description   string
	defaultBranch string
	topics        []string
	protection    map[string]map[string]any
	pulls         []*pull
	labels        map[int][]string
	hooks         []*hook
	dispatches    []Dispatch
}

type pull struct {
	number      int
	title, body string
	head, base  string
	state       string
	draft       bool
}

type hook struct {
	id     int64
	events []string
	active bool
	config map[string]any
}

// Dispatch is one workflow_dispatch the fake received.
type Dispatch struct {
	Workflow string
	Ref      string
	Inputs   map[string]any
}

// AllPermissions is what an installation grants when AddInstallation is
// given none: every permission the actions use, write.
var allPermissions = map[string]string{
	"actions": "write", "administration": "write", "contents": "write", "issues": "write", "metadata": "read",
	"pull_requests": "write", "repository_hooks": "write", "workflows": "write",
}

// New starts the fake on 127.0.0.1; tb's cleanup stops it. Tokens it
// mints start with tokenPrefix (plant a recognisable value to grep for).
// It needs git and git-http-backend; without them it fails tb.
func New(tb testing.TB, tokenPrefix string) *Server {
	tb.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		tb.Fatalf("githubfake: git is required: %v", err)
	}
	execPath, err := exec.Command(git, "--exec-path").Output()
	if err != nil {
		tb.Fatalf("githubfake: git --exec-path: %v", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		tb.Fatalf("githubfake: git-http-backend is required: %v", err)
	}
	s := &Server{git: git, backend: backend, root: tb.TempDir(),
		apps: map[int64]*rsa.PublicKey{}, installations: map[int64]*installation{}, accounts: map[string]string{},
		repos: map[string]*repo{}, tokens: map[string]*token{}, nextID: 1000, tokenPrefix: tokenPrefix, tokenTTL: time.Hour}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("githubfake: %v", err)
	}
	s.srv = httptest.NewUnstartedServer(s.routes())
	s.srv.Listener.Close()
	s.srv.Listener = l
	s.srv.Start()
	s.URL = s.srv.URL
	tb.Cleanup(s.srv.Close)
	return s
}

// APIURL is the REST API's base URL (with the trailing slash go-github
// wants).
func (s *Server) APIURL() string { return s.URL + "/" }

// GitURL is the base URL of git remotes: GitURL()/<owner>/<repo>.git.
func (s *Server) GitURL() string { return s.URL + "/git" }

// AddApp registers a GitHub App and returns its private key (PEM).
func (s *Server) AddApp(tb testing.TB, appID int64) string {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	s.mu.Lock()
	s.apps[appID] = &key.PublicKey
	s.mu.Unlock()
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
}

// AddInstallation installs app on account (an "Organization" or a
// "User"), for repos (nil: all the account's) with perms (nil: every
// permission the actions use). It returns the installation id.
func (s *Server) AddInstallation(app int64, account, accountType string, repos []string, perms map[string]string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if perms == nil {
		perms = allPermissions
	}
	s.nextID++
	s.installations[s.nextID] = &installation{id: s.nextID, app: app, account: account, repos: repos, perms: perms}
	s.accounts[account] = accountType
	return s.nextID
}

// AddPAT makes value a personal access token of the user login that may
// do everything (POST /user/repos creates login's repositories).
func (s *Server) AddPAT(value, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[value] = &token{pat: true, account: login, expires: time.Now().Add(24 * time.Hour)}
	if _, ok := s.accounts[login]; !ok {
		s.accounts[login] = "User"
	}
}

// SeedRepo creates owner/name with one commit of files on branch (the
// default branch). owner must be an account of an installation.
func (s *Server) SeedRepo(tb testing.TB, owner, name, branch string, files map[string]string) {
	tb.Helper()
	s.mu.Lock()
	r, err := s.createRepo(owner, name, true, "private", "")
	s.mu.Unlock()
	if err != nil {
		tb.Fatal(err)
	}
	r.defaultBranch = branch
	work := tb.TempDir()
	for p, content := range files {
		f := filepath.Join(work, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", branch},
		{"add", "-A"},
		{"-c", "user.name=seed", "-c", "user.email=seed@example.com", "commit", "-q", "-m", "seed"},
		{"push", "-q", s.repoDir(owner, name), branch},
	} {
		if out, err := s.gitCmd(work, args...).CombinedOutput(); err != nil {
			tb.Fatalf("githubfake: git %v: %v: %s", args, err, out)
		}
	}
}

// TokenRequests returns the installation-token requests so far.
func (s *Server) TokenRequests() []TokenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]TokenRequest(nil), s.tokenRequests...)
}

// Repos lists the repositories ("owner/name"), sorted.
func (s *Server) Repos() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.repos))
	for k := range s.repos {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// PullRequests counts owner/name's pull requests (any state).
func (s *Server) PullRequests(owner, name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.repos[owner+"/"+name]; ok {
		return len(r.pulls)
	}
	return 0
}

// Dispatches returns owner/name's workflow dispatches.
func (s *Server) Dispatches(owner, name string) []Dispatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.repos[owner+"/"+name]; ok {
		return append([]Dispatch(nil), r.dispatches...)
	}
	return nil
}

// Repo is a repository's settings as the fake holds them.
type Repo struct {
	Private       bool
	Visibility    string
	Description   string
	DefaultBranch string
	Topics        []string
	// Protection is the branch protection body received, by branch.
	Protection map[string]map[string]any
	// Labels by issue number.
	Labels map[int][]string
	// Hooks' URLs.
	Hooks []string
}

// Repo returns owner/name's settings.
func (s *Server) Repo(owner, name string) (Repo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[owner+"/"+name]
	if !ok {
		return Repo{}, false
	}
	out := Repo{Private: r.private, Visibility: r.visibility, Description: r.description, DefaultBranch: r.defaultBranch,
		Topics: append([]string(nil), r.topics...), Protection: r.protection, Labels: r.labels}
	for _, h := range r.hooks {
		out.Hooks = append(out.Hooks, fmt.Sprint(h.config["url"]))
	}
	return out, true
}

// APICalls counts REST requests (git traffic not included).
func (s *Server) APICalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apiCalls
}

// GitPushes counts git receive-pack requests that were let through.
func (s *Server) GitPushes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gitPushes
}

// RepoDir is owner/name's bare repository on disk (to inspect it with
// git in a test).
func (s *Server) RepoDir(owner, name string) string { return s.repoDir(owner, name) }

func (s *Server) repoDir(owner, name string) string {
	return filepath.Join(s.root, owner, name+".git")
}

// gitCmd is git in dir with no user or system configuration.
func (s *Server) gitCmd(dir string, args ...string) *exec.Cmd {
	c := exec.Command(s.git, args...)
	c.Dir = dir
	c.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + s.root, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "LANG=C"}
	return c
}

// createRepo makes the record and the bare repository. s.mu is held.
func (s *Server) createRepo(owner, name string, private bool, visibility, description string) (*repo, error) {
	key := owner + "/" + name
	if _, ok := s.repos[key]; ok {
		return nil, errExists
	}
	dir := s.repoDir(owner, name)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	for _, args := range [][]string{{"init", "-q", "--bare", "-b", "main", dir}, {"-C", dir, "config", "http.receivepack", "true"}} {
		if out, err := s.gitCmd(s.root, args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("git %v: %v: %s", args, err, out)
		}
	}
	s.nextID++
	r := &repo{id: s.nextID, owner: owner, name: name, private: private, visibility: visibility, description: description,
		defaultBranch: "main", protection: map[string]map[string]any{}, labels: map[int][]string{}}
	s.repos[key] = r
	return r, nil
}

var errExists = fmt.Errorf("name already exists on this account")

// SetTokenTTL sets how long installation tokens minted from now on live
// (default one hour).
func (s *Server) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenTTL = d
}

// PushTokens are the tokens each push (git-receive-pack) authenticated
// with, in order: a test checks whose credential pushed.
func (s *Server) PushTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.pushTokens...)
}
