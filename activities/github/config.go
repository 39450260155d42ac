package github

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/errs"
)

// Config is the GitHub integration's configuration: one entry per host
// (integrations.github[] in rigger's config).
type Config struct {
	Hosts []Host
}

// Host is one GitHub host (github.com or a GitHub Enterprise Server).
type Host struct {
	// Host is the host name repoUrl names: "github.com".
	Host string
	// APIBaseURL is the REST API's base URL, with a trailing slash:
	// https://api.github.com/ (the default for github.com),
	// https://<host>/api/v3/ for GitHub Enterprise Server (the default
	// for other hosts).
	APIBaseURL string
	// GitURL is the base URL git pushes to and clones from:
	// <GitURL>/<owner>/<repo>.git. Default https://<Host>.
	GitURL string
	// Apps are the GitHub Apps installed on this host's organizations;
	// the first with an installation for a target's owner mints its
	// tokens.
	Apps []App
	// Token is a personal access token, used when no App is configured.
	// It is broader than any installation token (it acts as its user on
	// every repository the user can reach): discouraged.
	Token credentials.Secret
	// Dev marks rigger dev's own git host (internal/githost) at GitURL:
	// publish:github and github:repo:push only push (the host creates a
	// repository on its first push) with a token of integration "git" the
	// host mints; when APIBaseURL is set (the host's small REST API),
	// publish:github:pull-request runs as against GitHub; the other
	// actions refuse.
	Dev bool
}

// DevIntegration is the broker integration of a Dev host's tokens
// (internal/githost.Integration).
const DevIntegration = "git"

// App is one GitHub App.
type App struct {
	AppID int64
	// PrivateKey is the App's private key, PEM (PKCS#1 or PKCS#8 RSA).
	PrivateKey credentials.Secret
}

// Validate checks the configuration without any I/O.
func (c Config) Validate() error {
	seen := map[string]bool{}
	var problems []error
	for i, h := range c.Hosts {
		if h.Host == "" || strings.ContainsAny(h.Host, "/?# ") {
			problems = append(problems, fmt.Errorf("integrations.github[%d].host %q is not a host name", i, h.Host))
		}
		if seen[h.Host] {
			problems = append(problems, fmt.Errorf("integrations.github[%d]: host %s is configured twice", i, h.Host))
		}
		seen[h.Host] = true
		for _, u := range []string{h.APIBaseURL, h.GitURL} {
			if u == "" {
				continue
			}
			if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
				problems = append(problems, fmt.Errorf("integrations.github[%d] (%s): %q is not an http(s) URL", i, h.Host, u))
			}
		}
		if h.Dev && h.GitURL == "" {
			problems = append(problems, fmt.Errorf("integrations.github[%d] (%s): a dev git host needs its GitURL", i, h.Host))
		}
		if len(h.Apps) == 0 && h.Token.Empty() && !h.Dev {
			problems = append(problems, fmt.Errorf("integrations.github[%d] (%s): neither apps nor token is set", i, h.Host))
		}
		for j, a := range h.Apps {
			if a.AppID <= 0 {
				problems = append(problems, fmt.Errorf("integrations.github[%d].apps[%d]: appId is required", i, j))
			}
			if _, err := parseKey(a.PrivateKey); err != nil {
				problems = append(problems, fmt.Errorf("integrations.github[%d].apps[%d] (app %d): %w", i, j, a.AppID, err))
			}
		}
	}
	if err := errors.Join(problems...); err != nil {
		return fmt.Errorf("%w: %w", errs.ErrInvalid, err)
	}
	return nil
}

// host returns the configuration of name.
func (c Config) host(name string) (Host, bool) {
	for _, h := range c.Hosts {
		if strings.EqualFold(h.Host, name) {
			return h, true
		}
	}
	return Host{}, false
}

// apiBase is APIBaseURL or its default.
func (h Host) apiBase() string {
	switch {
	case h.APIBaseURL != "":
		if !strings.HasSuffix(h.APIBaseURL, "/") {
			return h.APIBaseURL + "/"
		}
		return h.APIBaseURL
	case h.Host == "github.com":
		return "https://api.github.com/"
	default:
		return "https://" + h.Host + "/api/v3/"
	}
}

// gitBase is GitURL or its default, without a trailing slash.
func (h Host) gitBase() string {
	if h.GitURL != "" {
		return strings.TrimSuffix(h.GitURL, "/")
	}
	return "https://" + h.Host
}

// remoteURL is the https URL git pushes to for owner/repo.
func (h Host) remoteURL(owner, repo string) string {
	return h.gitBase() + "/" + url.PathEscape(owner) + "/" + url.PathEscape(repo) + ".git"
}
