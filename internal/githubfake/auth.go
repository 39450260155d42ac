package githubfake

import (
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// levels orders permission levels.
var levels = map[string]int{"read": 1, "write": 2, "admin": 3}

// httpError is an answer GitHub would give.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func deny(status int, msg string) *httpError { return &httpError{status: status, msg: msg} }

// appFromJWT checks an App JWT (RS256, signed by a registered App's key,
// iss = the App id, unexpired) and returns the App id.
func (s *Server) appFromJWT(r *http.Request) (int64, *httpError) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return 0, deny(http.StatusUnauthorized, "A JSON web token could not be decoded")
	}
	var app int64
	_, err := jwt.ParseWithClaims(raw, &jwt.RegisteredClaims{}, func(t *jwt.Token) (any, error) {
		iss, err := t.Claims.GetIssuer()
		if err != nil {
			return nil, err
		}
		id, err := strconv.ParseInt(iss, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("iss %q is not an app id", iss)
		}
		s.mu.Lock()
		key, ok := s.apps[id]
		s.mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("no app %d", id)
		}
		app = id
		return (*rsa.PublicKey)(key), nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(30*time.Second))
	if err != nil {
		return 0, deny(http.StatusUnauthorized, "A JSON web token could not be decoded")
	}
	return app, nil
}

// bearer returns the request's token: "token X", "Bearer X", or git's
// Basic x-access-token:X.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if v, ok := strings.CutPrefix(h, "token "); ok {
		return v
	}
	if v, ok := strings.CutPrefix(h, "Bearer "); ok {
		return v
	}
	if v, ok := strings.CutPrefix(h, "Basic "); ok {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return ""
		}
		_, pass, _ := strings.Cut(string(b), ":")
		return pass
	}
	return ""
}

// authorize checks that the request's token may use perm at level on
// owner/name (name "" for an account-level call). GitHub answers 404 for
// a repository a token cannot see and 403 for a missing permission.
func (s *Server) authorize(r *http.Request, owner, name, perm, level string) (*token, *httpError) {
	v := bearer(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[v]
	if v == "" || !ok {
		return nil, deny(http.StatusUnauthorized, "Bad credentials")
	}
	if time.Now().After(t.expires) {
		return nil, deny(http.StatusUnauthorized, "Bad credentials")
	}
	if t.pat {
		return t, nil
	}
	if !strings.EqualFold(t.account, owner) {
		return nil, deny(http.StatusNotFound, "Not Found")
	}
	if name != "" && t.repos != nil && !slices.Contains(t.repos, name) {
		return nil, deny(http.StatusNotFound, "Not Found")
	}
	if perm == "metadata" && level == "read" {
		return t, nil // every installation token reads metadata
	}
	if levels[t.perms[perm]] < levels[level] {
		return nil, deny(http.StatusForbidden, "Resource not accessible by integration")
	}
	return t, nil
}
