package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
)

// OAuthClient is an OAuth client of rigger's authorization server for
// MCP (RFC 7591 registration). Public clients only: no secret is kept.
type OAuthClient struct {
	ID           string
	Name         string
	RedirectURIs []string
	Created      time.Time
	// From is the address that registered it (audit, flood review).
	From string
}

// OAuthCode is an authorization code by the hex SHA-256 of its value.
type OAuthCode struct {
	Hash        string
	Client      string
	RedirectURI string
	// Challenge is the PKCE S256 code challenge.
	Challenge string
	UserRef   string
	Ent       []string
	Scopes    []string
	Expires   time.Time
	// Used is zero until the code is redeemed; Family is the grant
	// (session family) its redemption started.
	Used   time.Time
	Family string
}

// OAuthStore keeps the clients and authorization codes of rigger's
// authorization server for MCP clients.
type OAuthStore interface {
	CreateOAuthClient(ctx context.Context, c OAuthClient, max int) error
	OAuthClientByID(ctx context.Context, id string) (OAuthClient, error)
	CreateOAuthCode(ctx context.Context, c OAuthCode, now time.Time) error
	RedeemOAuthCode(ctx context.Context, hash string, at time.Time, family string) (OAuthCode, error)
}

// CreateOAuthClient stores c unless max clients are stored already
// (errs.ErrConflict then: registration is bounded).
func (s *SQL) CreateOAuthClient(ctx context.Context, c OAuthClient, max int) error {
	if c.ID == "" || len(c.RedirectURIs) == 0 {
		return errs.Invalid("an OAuth client needs an id and a redirect URI")
	}
	defer s.lockWrites()()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM oauth_clients`).Scan(&n); err != nil {
			return fmt.Errorf("count oauth clients: %w", err)
		}
		if n >= max {
			return errs.Conflict("%d OAuth clients are registered, the most this server keeps", n)
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO oauth_clients (client_id, name, redirect_uris, created_at, registered_from) VALUES (?, ?, ?, ?, ?)`),
			c.ID, c.Name, jsonList(c.RedirectURIs), authTime(c.Created), c.From)
		if err != nil {
			return fmt.Errorf("store oauth client: %w", err)
		}
		return nil
	})
}

// OAuthClientByID finds a registered client; errs.ErrNotFound if none.
func (s *SQL) OAuthClientByID(ctx context.Context, id string) (OAuthClient, error) {
	var c OAuthClient
	var uris string
	var created sql.NullString
	err := s.db.QueryRowContext(ctx, s.q(`SELECT client_id, name, redirect_uris, created_at, registered_from FROM oauth_clients WHERE client_id = ?`), id).
		Scan(&c.ID, &c.Name, &uris, &created, &c.From)
	if errors.Is(err, sql.ErrNoRows) {
		return OAuthClient{}, errs.NotFound("no OAuth client %q is registered", id)
	}
	if err != nil {
		return OAuthClient{}, fmt.Errorf("read oauth client: %w", err)
	}
	c.RedirectURIs, c.Created = parseList(uris), parseAuthTime(created)
	return c, nil
}

// CreateOAuthCode stores an authorization code, dropping codes that
// expired a day before it was made.
func (s *SQL) CreateOAuthCode(ctx context.Context, c OAuthCode, now time.Time) error {
	defer s.lockWrites()()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM oauth_codes WHERE expires_at < ?`), authTime(now.Add(-24*time.Hour))); err != nil {
			return fmt.Errorf("delete expired oauth codes: %w", err)
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO oauth_codes (code_hash, client_id, redirect_uri, challenge, user_ref, ent, scopes, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			c.Hash, c.Client, c.RedirectURI, c.Challenge, c.UserRef, jsonList(c.Ent), jsonList(c.Scopes), authTime(c.Expires))
		if err != nil {
			return fmt.Errorf("store oauth code: %w", err)
		}
		return nil
	})
}

// RedeemOAuthCode marks the code used at at by the grant family (the
// session family its redemption starts) and returns it. A code already
// used comes back with errs.ErrConflict and the Family of its first
// redemption; an unknown one is errs.ErrNotFound.
func (s *SQL) RedeemOAuthCode(ctx context.Context, hash string, at time.Time, family string) (OAuthCode, error) {
	var c OAuthCode
	defer s.lockWrites()()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var ent, scopes string
		var expires, used sql.NullString
		err := tx.QueryRowContext(ctx, s.q(`SELECT code_hash, client_id, redirect_uri, challenge, user_ref, ent, scopes, expires_at, used_at, family FROM oauth_codes WHERE code_hash = ?`), hash).
			Scan(&c.Hash, &c.Client, &c.RedirectURI, &c.Challenge, &c.UserRef, &ent, &scopes, &expires, &used, &c.Family)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("unknown authorization code")
		}
		if err != nil {
			return fmt.Errorf("read oauth code: %w", err)
		}
		c.Ent, c.Scopes, c.Expires, c.Used = parseList(ent), parseList(scopes), parseAuthTime(expires), parseAuthTime(used)
		if !c.Used.IsZero() {
			return errs.Conflict("the authorization code was already used")
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE oauth_codes SET used_at = ?, family = ? WHERE code_hash = ? AND used_at IS NULL`), authTime(at), family, hash)
		if err != nil {
			return fmt.Errorf("redeem oauth code: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return errs.Conflict("the authorization code was already used")
		}
		c.Family = family
		return nil
	})
	return c, err
}
