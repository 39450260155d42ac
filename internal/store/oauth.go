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
	// From is the address that registered it (audit, flood review), Net
	// its network (IPv4: the address; IPv6: the /64).
	From, Net string
	// LastUsed is when one of its codes was last redeemed; zero if never.
	LastUsed time.Time
}

// OAuthClientLimits bound registration: Max clients in all, and
// PerAddress and PerNetwork clients that never redeemed a code from one
// address and one network. A client that never redeemed a code is
// dropped UnusedTTL after it registered. Zero means no bound.
type OAuthClientLimits struct {
	Max, PerAddress, PerNetwork int
	UnusedTTL                   time.Duration
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
	CreateOAuthClient(ctx context.Context, c OAuthClient, lim OAuthClientLimits) error
	OAuthClientByID(ctx context.Context, id string) (OAuthClient, error)
	// OAuthClients lists the registered clients, oldest first.
	OAuthClients(ctx context.Context) ([]OAuthClient, error)
	// DeleteOAuthClient drops a client, its codes and its grants (revoked
	// at at, their access tokens with them) and says how many grants it
	// ended; errs.ErrNotFound if no such client.
	DeleteOAuthClient(ctx context.Context, id string, at time.Time) (OAuthClient, int, error)
	CreateOAuthCode(ctx context.Context, c OAuthCode, now time.Time) error
	RedeemOAuthCode(ctx context.Context, hash string, at time.Time, family string) (OAuthCode, error)
}

// CreateOAuthClient stores c (registered at c.Created), first dropping
// the clients that never redeemed a code and registered lim.UnusedTTL
// before; errs.ErrConflict if lim's bounds are reached.
func (s *SQL) CreateOAuthClient(ctx context.Context, c OAuthClient, lim OAuthClientLimits) error {
	if c.ID == "" || len(c.RedirectURIs) == 0 {
		return errs.Invalid("an OAuth client needs an id and a redirect URI")
	}
	defer s.lockWrites()()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if lim.UnusedTTL > 0 {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM oauth_clients WHERE last_used_at IS NULL AND created_at < ?`), authTime(c.Created.Add(-lim.UnusedTTL))); err != nil {
				return fmt.Errorf("drop unused oauth clients: %w", err)
			}
		}
		for _, b := range []struct {
			max         int
			where, what string
			arg         []any
		}{
			{lim.Max, ``, "OAuth clients are registered, the most this server keeps", nil},
			{lim.PerAddress, ` WHERE last_used_at IS NULL AND registered_from = ?`, "unused OAuth clients were registered from " + c.From + ", the most one address may hold until they are used or expire", []any{c.From}},
			{lim.PerNetwork, ` WHERE last_used_at IS NULL AND registered_net = ?`, "unused OAuth clients were registered from network " + c.Net + ", the most one network may hold until they are used or expire", []any{c.Net}},
		} {
			if b.max <= 0 {
				continue
			}
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM oauth_clients`+b.where), b.arg...).Scan(&n); err != nil {
				return fmt.Errorf("count oauth clients: %w", err)
			}
			if n >= b.max {
				return errs.Conflict("%d %s", n, b.what)
			}
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO oauth_clients (client_id, name, redirect_uris, created_at, registered_from, registered_net) VALUES (?, ?, ?, ?, ?, ?)`),
			c.ID, c.Name, jsonList(c.RedirectURIs), authTime(c.Created), c.From, c.Net)
		if err != nil {
			return fmt.Errorf("store oauth client: %w", err)
		}
		return nil
	})
}

const oauthClientCols = `client_id, name, redirect_uris, created_at, registered_from, registered_net, last_used_at`

func scanOAuthClient(row interface{ Scan(...any) error }) (OAuthClient, error) {
	var c OAuthClient
	var uris string
	var created, used sql.NullString
	if err := row.Scan(&c.ID, &c.Name, &uris, &created, &c.From, &c.Net, &used); err != nil {
		return OAuthClient{}, err
	}
	c.RedirectURIs, c.Created, c.LastUsed = parseList(uris), parseAuthTime(created), parseAuthTime(used)
	return c, nil
}

// OAuthClients implements OAuthStore.
func (s *SQL) OAuthClients(ctx context.Context) ([]OAuthClient, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+oauthClientCols+` FROM oauth_clients ORDER BY created_at, client_id`)
	if err != nil {
		return nil, fmt.Errorf("list oauth clients: %w", err)
	}
	defer rows.Close()
	var out []OAuthClient
	for rows.Next() {
		c, err := scanOAuthClient(rows)
		if err != nil {
			return nil, fmt.Errorf("read oauth client: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteOAuthClient implements OAuthStore.
func (s *SQL) DeleteOAuthClient(ctx context.Context, id string, at time.Time) (OAuthClient, int, error) {
	var c OAuthClient
	var grants int
	defer s.lockWrites()()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = scanOAuthClient(tx.QueryRowContext(ctx, s.q(`SELECT `+oauthClientCols+` FROM oauth_clients WHERE client_id = ?`), id))
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("no OAuth client %q is registered", id)
		}
		if err != nil {
			return fmt.Errorf("read oauth client: %w", err)
		}
		rows, err := tx.QueryContext(ctx, s.q(`SELECT DISTINCT family FROM auth_sessions WHERE client_id = ? AND revoked_at IS NULL`), id)
		if err != nil {
			return fmt.Errorf("list the client's grants: %w", err)
		}
		var families []string
		for rows.Next() {
			var f string
			if err := rows.Scan(&f); err != nil {
				rows.Close()
				return fmt.Errorf("list the client's grants: %w", err)
			}
			families = append(families, f)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("list the client's grants: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE auth_sessions SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL`), authTime(at), id); err != nil {
			return fmt.Errorf("revoke the client's grants: %w", err)
		}
		for _, f := range families {
			// The access tokens a grant issued end with it.
			if err := revokeAccess(ctx, tx, s.q, Revocation{Kind: RevokeSession, ID: f, At: at, Expires: at.Add(RevocationKeep)}); err != nil {
				return err
			}
		}
		grants = len(families)
		for _, q := range []string{`DELETE FROM oauth_codes WHERE client_id = ?`, `DELETE FROM oauth_clients WHERE client_id = ?`} {
			if _, err := tx.ExecContext(ctx, s.q(q), id); err != nil {
				return fmt.Errorf("delete oauth client: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return OAuthClient{}, 0, err
	}
	return c, grants, nil
}

// OAuthClientByID finds a registered client; errs.ErrNotFound if none.
func (s *SQL) OAuthClientByID(ctx context.Context, id string) (OAuthClient, error) {
	c, err := scanOAuthClient(s.db.QueryRowContext(ctx, s.q(`SELECT `+oauthClientCols+` FROM oauth_clients WHERE client_id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return OAuthClient{}, errs.NotFound("no OAuth client %q is registered", id)
	}
	if err != nil {
		return OAuthClient{}, fmt.Errorf("read oauth client: %w", err)
	}
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
		// The client is in use: it no longer expires unused.
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE oauth_clients SET last_used_at = ? WHERE client_id = ?`), authTime(at), c.Client); err != nil {
			return fmt.Errorf("mark oauth client used: %w", err)
		}
		return nil
	})
	return c, err
}
