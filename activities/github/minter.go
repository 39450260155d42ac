package github

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	gh "github.com/google/go-github/v60/github"

	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/errs"
)

// AppMinter mints GitHub credentials: an installation token of the
// host's GitHub App restricted to the need's repository and permissions,
// or the host's personal access token when no App is configured.
type AppMinter struct {
	cfg  Config
	http *http.Client
	now  func() time.Time

	mu    sync.Mutex
	cache map[tokenKey]cachedToken
}

// tokenKey is what a cached installation token was minted for.
type tokenKey struct {
	host         string
	app          int64
	installation int64
	repository   string // "" for an installation-wide token
	permissions  string // Need.PermissionList
}

type cachedToken struct {
	token   credentials.Secret
	expires time.Time
}

// cacheMargin: a cached token is reused until this long before it
// expires, so a step never starts with a token about to die.
const cacheMargin = 5 * time.Minute

// NewAppMinter returns the minter of cfg. client is the HTTP client for
// GitHub's API (nil: http.DefaultClient); now is the clock (nil:
// time.Now). It does no I/O.
func NewAppMinter(cfg Config, client *http.Client, now func() time.Time) *AppMinter {
	if client == nil {
		client = http.DefaultClient
	}
	if now == nil {
		now = time.Now
	}
	return &AppMinter{cfg: cfg, http: client, now: now, cache: map[tokenKey]cachedToken{}}
}

// Integration implements credentials.Minter.
func (*AppMinter) Integration() string { return Integration }

// Integration is the broker's name of this integration.
const Integration = "github"

// target is a parsed Need.Target: host/owner/repo.
type target struct{ host, owner, repo string }

func parseTarget(s string) (target, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return target{}, fmt.Errorf("%w: github target %q is not host/owner/repo", errs.ErrInvalid, s)
	}
	return target{host: parts[0], owner: parts[1], repo: parts[2]}, nil
}

func (t target) String() string { return t.host + "/" + t.owner + "/" + t.repo }

// permissionFields maps GitHub's permission names (as in an installation
// token request) to their InstallationPermissions field.
var permissionFields = map[string]func(*gh.InstallationPermissions) **string{
	"actions":          func(p *gh.InstallationPermissions) **string { return &p.Actions },
	"administration":   func(p *gh.InstallationPermissions) **string { return &p.Administration },
	"checks":           func(p *gh.InstallationPermissions) **string { return &p.Checks },
	"contents":         func(p *gh.InstallationPermissions) **string { return &p.Contents },
	"deployments":      func(p *gh.InstallationPermissions) **string { return &p.Deployments },
	"environments":     func(p *gh.InstallationPermissions) **string { return &p.Environments },
	"issues":           func(p *gh.InstallationPermissions) **string { return &p.Issues },
	"metadata":         func(p *gh.InstallationPermissions) **string { return &p.Metadata },
	"pages":            func(p *gh.InstallationPermissions) **string { return &p.Pages },
	"pull_requests":    func(p *gh.InstallationPermissions) **string { return &p.PullRequests },
	"repository_hooks": func(p *gh.InstallationPermissions) **string { return &p.RepositoryHooks },
	"secrets":          func(p *gh.InstallationPermissions) **string { return &p.Secrets },
	"statuses":         func(p *gh.InstallationPermissions) **string { return &p.Statuses },
	"workflows":        func(p *gh.InstallationPermissions) **string { return &p.Workflows },
}

// installationPermissions converts a need's permissions; an unknown name
// or level is an error (a typo must not silently mint a broader or
// useless token).
func installationPermissions(perms map[string]string) (*gh.InstallationPermissions, error) {
	if len(perms) == 0 {
		return nil, fmt.Errorf("%w: a github credential needs declared permissions", errs.ErrInvalid)
	}
	p := &gh.InstallationPermissions{}
	for name, level := range perms {
		field, ok := permissionFields[name]
		if !ok {
			return nil, fmt.Errorf("%w: unknown github permission %q", errs.ErrInvalid, name)
		}
		if level != "read" && level != "write" && level != "admin" {
			return nil, fmt.Errorf("%w: github permission %s: level %q is not read, write or admin", errs.ErrInvalid, name, level)
		}
		*field(p) = gh.String(level)
	}
	return p, nil
}

// creatingRepository says whether need is the one need that may not be
// repository-scoped: creating a repository that does not exist yet.
func creatingRepository(need credentials.Need) bool {
	return len(need.Permissions) == 1 && need.Permissions["administration"] == "write"
}

// Mint implements credentials.Minter.
func (m *AppMinter) Mint(ctx context.Context, need credentials.Need) (credentials.Credential, error) {
	t, err := parseTarget(need.Target)
	if err != nil {
		return credentials.Credential{}, err
	}
	h, ok := m.cfg.host(t.host)
	if !ok {
		return credentials.Credential{}, fmt.Errorf("%w for github host %s (integrations.github)", credentials.ErrNoIntegration, t.host)
	}
	perms, err := installationPermissions(need.Permissions)
	if err != nil {
		return credentials.Credential{}, err
	}
	if len(h.Apps) == 0 {
		if h.Token.Empty() {
			return credentials.Credential{}, fmt.Errorf("%w for github host %s: no app and no token", credentials.ErrNoIntegration, t.host)
		}
		return credentials.Credential{Integration: Integration, Target: need.Target, Token: h.Token, Username: "x-access-token",
			Source: "personal access token of " + t.host + " (not narrowed to the target or permissions)"}, nil
	}
	var problems []error
	for _, app := range h.Apps {
		cred, err := m.mintWith(ctx, h, app, t, need, perms)
		if err == nil {
			return cred, nil
		}
		if !errors.Is(err, errNoInstallation) {
			return credentials.Credential{}, err
		}
		problems = append(problems, err)
	}
	return credentials.Credential{}, fmt.Errorf("%w: no github app of %s is installed for %s: %w", errs.ErrForbidden, t.host, t.owner, errors.Join(problems...))
}

var errNoInstallation = errors.New("no installation")

// mintWith mints with one App.
func (m *AppMinter) mintWith(ctx context.Context, h Host, app App, t target, need credentials.Need, perms *gh.InstallationPermissions) (credentials.Credential, error) {
	key, err := parseKey(app.PrivateKey)
	if err != nil {
		return credentials.Credential{}, fmt.Errorf("github app %d: %w", app.AppID, err)
	}
	appJWT, err := signAppJWT(key, app.AppID, m.now())
	if err != nil {
		return credentials.Credential{}, fmt.Errorf("github app %d: sign its token: %w", app.AppID, err)
	}
	client, err := newClient(m.http, h, appJWT)
	if err != nil {
		return credentials.Credential{}, err
	}
	inst, repoVisible, err := findInstallation(ctx, client, t)
	if errors.Is(err, errNoInstallation) {
		return credentials.Credential{}, err
	}
	if err != nil {
		return credentials.Credential{}, credentials.ScrubError(fmt.Errorf("github app %d: %w", app.AppID, err), appJWT)
	}
	opts := &gh.InstallationTokenOptions{Permissions: perms, Repositories: []string{t.repo}}
	repository := t.repo
	if !repoVisible && creatingRepository(need) {
		// The repository does not exist yet, so a token cannot be limited
		// to it. This one need (administration:write and nothing else,
		// to create the repository) gets an installation-wide token; the
		// steps that follow (push, topics, protection) ask again and get
		// tokens limited to the new repository.
		opts.Repositories = nil
		repository = ""
	}
	k := tokenKey{host: h.Host, app: app.AppID, installation: inst, repository: repository, permissions: need.PermissionList()}
	source := fmt.Sprintf("github-app %d installation %d, %s on %s", app.AppID, inst, need.PermissionList(), orAll(repository))
	if c, ok := m.cached(k); ok {
		return credentials.Credential{Integration: Integration, Target: need.Target, Token: c.token, Username: "x-access-token", Expires: c.expires, Source: source + " (cached)"}, nil
	}
	tok, _, err := client.Apps.CreateInstallationToken(ctx, inst, opts)
	if err != nil {
		return credentials.Credential{}, credentials.ScrubError(fmt.Errorf("github app %d: create an installation token: %w", app.AppID, err), appJWT)
	}
	c := cachedToken{token: credentials.NewSecret(tok.GetToken()), expires: tok.GetExpiresAt().Time}
	if c.token.Empty() {
		return credentials.Credential{}, fmt.Errorf("github app %d: the installation token answer holds no token", app.AppID)
	}
	m.mu.Lock()
	m.cache[k] = c
	m.mu.Unlock()
	return credentials.Credential{Integration: Integration, Target: need.Target, Token: c.token, Username: "x-access-token", Expires: c.expires, Source: source}, nil
}

func orAll(repo string) string {
	if repo == "" {
		return "all repositories of the installation (repository creation)"
	}
	return repo
}

func (m *AppMinter) cached(k tokenKey) (cachedToken, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.cache[k]
	if !ok {
		return cachedToken{}, false
	}
	if !m.now().Before(c.expires.Add(-cacheMargin)) {
		delete(m.cache, k)
		return cachedToken{}, false
	}
	return c, true
}

// findInstallation finds the App's installation for t: the repository's
// (repoVisible), else its organization's or user's.
func findInstallation(ctx context.Context, c *gh.Client, t target) (id int64, repoVisible bool, err error) {
	inst, resp, err := c.Apps.FindRepositoryInstallation(ctx, t.owner, t.repo)
	if err == nil {
		return inst.GetID(), true, nil
	}
	if !notFound(resp) {
		return 0, false, fmt.Errorf("find the installation for %s/%s: %w", t.owner, t.repo, err)
	}
	inst, resp, err = c.Apps.FindOrganizationInstallation(ctx, t.owner)
	if err == nil {
		return inst.GetID(), false, nil
	}
	if !notFound(resp) {
		return 0, false, fmt.Errorf("find the installation for organization %s: %w", t.owner, err)
	}
	inst, resp, err = c.Apps.FindUserInstallation(ctx, t.owner)
	if err == nil {
		return inst.GetID(), false, nil
	}
	if !notFound(resp) {
		return 0, false, fmt.Errorf("find the installation for user %s: %w", t.owner, err)
	}
	return 0, false, fmt.Errorf("%w for %s", errNoInstallation, t.owner)
}

func notFound(resp *gh.Response) bool { return resp != nil && resp.StatusCode == http.StatusNotFound }

// signAppJWT signs the App's own token (RS256; iat a minute back for
// clock drift, 9 minutes of life, under GitHub's 10).
func signAppJWT(key *rsa.PrivateKey, appID int64, now time.Time) (credentials.Secret, error) {
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{
		IssuedAt:  jwt.NewNumericDate(now.Add(-time.Minute)),
		ExpiresAt: jwt.NewNumericDate(now.Add(9 * time.Minute)),
		Issuer:    strconv.FormatInt(appID, 10),
	}).SignedString(key)
	return credentials.NewSecret(s), err
}

// parseKey reads an App's PEM private key. Its errors never quote it.
func parseKey(s credentials.Secret) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s.Reveal()))
	if block == nil {
		return nil, fmt.Errorf("%w: the private key is not PEM", errs.ErrInvalid)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: the private key is neither PKCS#1 nor PKCS#8", errs.ErrInvalid)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: the private key is not an RSA key", errs.ErrInvalid)
	}
	return rk, nil
}

// newClient is a REST client of h that sends token as a bearer token.
func newClient(hc *http.Client, h Host, token credentials.Secret) (*gh.Client, error) {
	c := gh.NewClient(hc).WithAuthToken(token.Reveal())
	base, err := url.Parse(h.apiBase())
	if err != nil {
		return nil, fmt.Errorf("%w: github api url of %s: %w", errs.ErrInvalid, h.Host, err)
	}
	c.BaseURL = base
	c.UploadURL = base
	return c, nil
}

// sortedKeys returns m's keys sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
