package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
)

// ServiceTokenPrefix starts every stored service token, so secret
// scanners find leaked ones and the Chain knows where to look them up.
const ServiceTokenPrefix = "rgr_"

// Service token lifetimes: the default, and the longest allowed.
const (
	DefaultServiceTokenTTL = 30 * 24 * time.Hour
	MaxServiceTokenTTL     = 366 * 24 * time.Hour
	// touchEvery: a token's last use is written at most this often.
	touchEvery = time.Minute
)

// ServiceTokenStore keeps the service tokens admins create.
type ServiceTokenStore interface {
	CreateServiceToken(ctx context.Context, t store.ServiceTokenRecord) error
	ServiceTokenByHash(ctx context.Context, hash string) (store.ServiceTokenRecord, error)
	ServiceTokens(ctx context.Context) ([]store.ServiceTokenRecord, error)
	RevokeServiceToken(ctx context.Context, idOrName string, at time.Time) (store.ServiceTokenRecord, error)
	TouchServiceToken(ctx context.Context, id string, at time.Time) error
}

// TokenSpec is what an admin asks for.
type TokenSpec struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
	// Templates and Actions, when set, restrict the token to these
	// template refs and action ids.
	Templates []string `json:"templates,omitempty"`
	Actions   []string `json:"actions,omitempty"`
	// ExpiresIn is the lifetime [30 days], at most a year.
	ExpiresIn time.Duration `json:"-"`
}

// TokenInfo describes a stored token; it never holds the secret.
type TokenInfo struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	Templates []string   `json:"templates,omitempty"`
	Actions   []string   `json:"actions,omitempty"`
	Expires   time.Time  `json:"expiresAt"`
	CreatedBy string     `json:"createdBy"`
	Created   time.Time  `json:"createdAt"`
	LastUsed  *time.Time `json:"lastUsedAt,omitempty"`
	Revoked   *time.Time `json:"revokedAt,omitempty"`
}

func tokenInfo(r store.ServiceTokenRecord) TokenInfo {
	ti := TokenInfo{ID: r.ID, Name: r.Name, Scopes: r.Scopes, Templates: r.Templates, Actions: r.Actions,
		Expires: r.Expires, CreatedBy: r.CreatedBy, Created: r.Created}
	if !r.LastUsed.IsZero() {
		ti.LastUsed = &r.LastUsed
	}
	if !r.Revoked.IsZero() {
		ti.Revoked = &r.Revoked
	}
	return ti
}

// StoredTokens are the service tokens kept in the database: created,
// listed and revoked through the API; only their hashes are stored.
type StoredTokens struct {
	store  ServiceTokenStore
	now    func() time.Time
	logger *slog.Logger
	// reserved are the config-file token names (a stored token may not
	// take one: audit events would mix the two).
	reserved []string

	mu      sync.Mutex
	touched map[string]time.Time
}

// NewStoredTokens keeps tokens in st; reserved are names taken by
// config-file tokens.
func NewStoredTokens(st ServiceTokenStore, reserved []string, logger *slog.Logger, now func() time.Time) *StoredTokens {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &StoredTokens{store: st, now: now, logger: logger, reserved: reserved, touched: map[string]time.Time{}}
}

var tokenName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// Create validates spec and stores a new token created by createdBy. The
// returned plaintext is the only copy: it cannot be shown again.
func (s *StoredTokens) Create(ctx context.Context, spec TokenSpec, createdBy string) (string, TokenInfo, error) {
	if !tokenName.MatchString(spec.Name) {
		return "", TokenInfo{}, errs.Invalid("token name %q: use 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", spec.Name)
	}
	if slices.Contains(s.reserved, spec.Name) {
		return "", TokenInfo{}, errs.Conflict("token name %q is taken by a token of auth.serviceTokens in the configuration", spec.Name)
	}
	if len(spec.Scopes) == 0 {
		return "", TokenInfo{}, errs.Invalid("token %q needs at least one scope (one of %s)", spec.Name, strings.Join(permission.Grantable(), ", "))
	}
	for _, sc := range spec.Scopes {
		if !slices.Contains(permission.Grantable(), sc) {
			return "", TokenInfo{}, errs.Invalid("token %q: scope %q is not one a token may hold (%s)", spec.Name, sc, strings.Join(permission.Grantable(), ", "))
		}
	}
	for _, t := range spec.Templates {
		if strings.TrimSpace(t) == "" || len(t) > 512 {
			return "", TokenInfo{}, errs.Invalid("token %q: template ref %q is empty or too long", spec.Name, t)
		}
	}
	for _, a := range spec.Actions {
		if strings.TrimSpace(a) == "" || len(a) > 256 {
			return "", TokenInfo{}, errs.Invalid("token %q: action id %q is empty or too long", spec.Name, a)
		}
	}
	ttl := spec.ExpiresIn
	if ttl == 0 {
		ttl = DefaultServiceTokenTTL
	}
	if ttl < time.Minute || ttl > MaxServiceTokenTTL {
		return "", TokenInfo{}, errs.Invalid("token %q: lifetime %s is outside 1m to %s", spec.Name, ttl, MaxServiceTokenTTL)
	}
	now := s.now().UTC()
	tok := ServiceTokenPrefix + randomID(32)
	rec := store.ServiceTokenRecord{ID: randomID(12), Name: spec.Name, Hash: hashToken(tok), Scopes: spec.Scopes,
		Templates: spec.Templates, Actions: spec.Actions, Expires: now.Add(ttl), CreatedBy: createdBy, Created: now}
	if err := s.store.CreateServiceToken(ctx, rec); err != nil {
		return "", TokenInfo{}, err
	}
	return tok, tokenInfo(rec), nil
}

// List describes every stored token, revoked ones too; never a secret.
func (s *StoredTokens) List(ctx context.Context) ([]TokenInfo, error) {
	recs, err := s.store.ServiceTokens(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]TokenInfo, 0, len(recs))
	for _, r := range recs {
		out = append(out, tokenInfo(r))
	}
	return out, nil
}

// Revoke revokes the token with this id or name.
func (s *StoredTokens) Revoke(ctx context.Context, idOrName string) (TokenInfo, error) {
	r, err := s.store.RevokeServiceToken(ctx, idOrName, s.now().UTC())
	if err != nil {
		return TokenInfo{}, err
	}
	return tokenInfo(r), nil
}

// Authenticate implements Authenticator for `Authorization: Bearer rgr_...`.
func (s *StoredTokens) Authenticate(r *http.Request) (Identity, error) {
	tok, err := bearer(r)
	if err != nil {
		return Identity{}, err
	}
	return s.Verify(r.Context(), tok)
}

// Verify looks the token up by its hash (the database compares hashes,
// so timing reveals nothing of the token) and checks it is neither
// revoked nor expired. A use is recorded at most once a minute per token.
func (s *StoredTokens) Verify(ctx context.Context, tok string) (Identity, error) {
	if !strings.HasPrefix(tok, ServiceTokenPrefix) || len(tok) > 256 {
		return Identity{}, errs.Unauthenticated("not a rigger service token (they start with %s)", ServiceTokenPrefix)
	}
	rec, err := s.store.ServiceTokenByHash(ctx, hashToken(tok))
	if errors.Is(err, errs.ErrNotFound) {
		return Identity{}, errs.Unauthenticated("unknown service token")
	}
	if err != nil {
		return Identity{}, fmt.Errorf("%w: service tokens unavailable: %v", errs.ErrUnavailable, err)
	}
	now := s.now().UTC()
	if !rec.Revoked.IsZero() {
		return Identity{}, errs.Unauthenticated("service token %q was revoked at %s", rec.Name, rec.Revoked.Format(time.RFC3339))
	}
	if !rec.Expires.IsZero() && !now.Before(rec.Expires) {
		return Identity{}, errs.Unauthenticated("service token %q expired at %s", rec.Name, rec.Expires.Format(time.RFC3339))
	}
	s.touch(ctx, rec, now)
	return Identity{Ref: "service:" + rec.Name, Service: true, Scopes: rec.Scopes, Templates: rec.Templates,
		Actions: rec.Actions, Via: "service-token", TokenID: rec.ID}, nil
}

// touch records a use unless one was recorded (by any replica, or by this
// one while that write is under way) within touchEvery.
func (s *StoredTokens) touch(ctx context.Context, rec store.ServiceTokenRecord, now time.Time) {
	if now.Sub(rec.LastUsed) < touchEvery {
		return
	}
	s.mu.Lock()
	if now.Sub(s.touched[rec.ID]) < touchEvery {
		s.mu.Unlock()
		return
	}
	s.touched[rec.ID] = now
	for id, at := range s.touched { // keep the map small
		if now.Sub(at) >= touchEvery {
			delete(s.touched, id)
		}
	}
	s.touched[rec.ID] = now
	s.mu.Unlock()
	if err := s.store.TouchServiceToken(context.WithoutCancel(ctx), rec.ID, now); err != nil {
		s.logger.Warn("record service token use", "token", rec.Name, "error", err)
	}
}
