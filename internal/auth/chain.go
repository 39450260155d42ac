package auth

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/riggerdev/rigger/internal/errs"
)

// Chain is rigger server's authenticator: it picks the verifier by the
// bearer's shape, so each token is checked once, by the one verifier that
// can accept it, and the caller gets that verifier's reason on refusal.
// rgr_... is a stored service token; a JWT issued by this server is a
// rigger access token; a JWT of another issuer is external access; any
// other value is a config-file service token. Nil members are off.
type Chain struct {
	Issuer   *Issuer
	Stored   *StoredTokens
	External *External
	Config   *ServiceTokens
}

// Authenticate implements Authenticator.
func (c Chain) Authenticate(r *http.Request) (Identity, error) {
	tok, err := bearer(r)
	if err != nil {
		return Identity{}, err
	}
	if len(tok) > MaxTokenBytes {
		return Identity{}, errs.Unauthenticated("bearer token is %d bytes; at most %d are accepted", len(tok), MaxTokenBytes)
	}
	switch {
	case strings.HasPrefix(tok, ServiceTokenPrefix):
		if c.Stored == nil {
			return Identity{}, errs.Unauthenticated("this server keeps no service tokens in its database")
		}
		return c.Stored.Verify(r.Context(), tok)
	case strings.HasPrefix(tok, RefreshPrefix):
		return Identity{}, errs.Unauthenticated("a refresh token is not an access token: exchange it at POST /api/auth/refresh")
	}
	if iss, ok := unverifiedIssuer(tok); ok {
		switch {
		case c.Issuer != nil && iss == c.Issuer.URL():
			return c.Issuer.VerifyRequest(r, tok)
		case c.External.Trusts(iss):
			return c.External.Verify(r.Context(), tok)
		}
		return Identity{}, errs.Unauthenticated("JWT issuer %s is trusted neither as this server nor in auth.externalAccess", clipClaim(iss))
	}
	if c.Config != nil {
		return c.Config.Authenticate(r)
	}
	return Identity{}, errs.Unauthenticated("invalid bearer token")
}

// unverifiedIssuer reads the iss of what looks like a compact JWS. It
// only routes the token: the verifier checks everything.
func unverifiedIssuer(tok string) (string, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return "", false
	}
	return c.Iss, true
}

// bearer is the token of `Authorization: Bearer <token>`.
func bearer(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", errs.Unauthenticated("missing bearer token: send Authorization: Bearer <token>")
	}
	return token, nil
}

// GuestOr is rigger dev's authenticator when tokens are configured: a
// request without an Authorization header is the guest; one with a header
// must carry a token Auth accepts (401 otherwise).
type GuestOr struct {
	Guest Guest
	Auth  Authenticator
}

// Authenticate implements Authenticator.
func (g GuestOr) Authenticate(r *http.Request) (Identity, error) {
	if r.Header.Get("Authorization") == "" {
		return g.Guest.Authenticate(r)
	}
	return g.Auth.Authenticate(r)
}
