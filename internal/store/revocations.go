package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
)

// Kinds of access-token revocation.
const (
	// RevokeSession ends every access token of a sign-in: ID is the
	// session family (the token's sid).
	RevokeSession = "sid"
	// RevokeToken ends one access token: ID is its jti.
	RevokeToken = "jti"
	// RevokeUser ends every access token of a user (ID, the token's sub)
	// issued at or before At.
	RevokeUser = "sub"
)

// RevocationKeep is how long a revocation row outlives its revocation:
// the longest access token (auth.MaxTokenTTL, one hour) plus clock skew.
// A session family revoked now may have issued a token a moment ago.
const RevocationKeep = time.Hour + 5*time.Minute

// Revocation ends access tokens before they expire.
type Revocation struct {
	Kind, ID string
	At       time.Time
	// Expires is when no token the row names can still be valid.
	Expires time.Time
}

// Revocations keeps revoked access tokens for every replica.
type Revocations interface {
	// RevokeAccess stores r (a second revocation of the same kind and id
	// keeps the later one) and deletes rows expired before r.At.
	RevokeAccess(ctx context.Context, r Revocation) error
	// RevocationsSince lists rows revoked at or after since and not
	// expired at now, oldest first.
	RevocationsSince(ctx context.Context, since, now time.Time) ([]Revocation, error)
	// RevokeUserSessions revokes every session of user at at, stores a
	// RevokeUser row for its access tokens, and says how many sessions
	// were still valid.
	RevokeUserSessions(ctx context.Context, user string, at time.Time) (int, error)
}

var _ Revocations = (*SQL)(nil)

// RevokeAccess implements Revocations.
func (s *SQL) RevokeAccess(ctx context.Context, r Revocation) error {
	defer s.lockWrites()()
	return s.inTx(ctx, func(tx *sql.Tx) error { return revokeAccess(ctx, tx, s.q, r) })
}

func revokeAccess(ctx context.Context, tx *sql.Tx, q func(string) string, r Revocation) error {
	switch r.Kind {
	case RevokeSession, RevokeToken, RevokeUser:
	default:
		return errs.Invalid("unknown revocation kind %q", r.Kind)
	}
	if r.ID == "" || r.At.IsZero() || !r.Expires.After(r.At) {
		return errs.Invalid("a revocation needs an id, a time and a later expiry")
	}
	if _, err := tx.ExecContext(ctx, q(`DELETE FROM auth_revocations WHERE expires_at < ?`), authTime(r.At)); err != nil {
		return fmt.Errorf("delete expired revocations: %w", err)
	}
	_, err := tx.ExecContext(ctx, q(`INSERT INTO auth_revocations (kind, id, revoked_at, expires_at) VALUES (?, ?, ?, ?)
ON CONFLICT (kind, id) DO UPDATE SET revoked_at = excluded.revoked_at, expires_at = excluded.expires_at
WHERE excluded.revoked_at > auth_revocations.revoked_at`), r.Kind, r.ID, authTime(r.At), authTime(r.Expires))
	if err != nil {
		return fmt.Errorf("store revocation %s %s: %w", r.Kind, r.ID, err)
	}
	return nil
}

// RevocationsSince implements Revocations.
func (s *SQL) RevocationsSince(ctx context.Context, since, now time.Time) ([]Revocation, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT kind, id, revoked_at, expires_at FROM auth_revocations WHERE revoked_at >= ? AND expires_at > ? ORDER BY revoked_at`),
		authTime(since), authTime(now))
	if err != nil {
		return nil, fmt.Errorf("read revocations: %w", err)
	}
	defer rows.Close()
	var out []Revocation
	for rows.Next() {
		var r Revocation
		var at, exp sql.NullString
		if err := rows.Scan(&r.Kind, &r.ID, &at, &exp); err != nil {
			return nil, fmt.Errorf("read revocations: %w", err)
		}
		r.At, r.Expires = parseAuthTime(at), parseAuthTime(exp)
		out = append(out, r)
	}
	return out, rows.Err()
}

// RevokeUserSessions implements Revocations.
func (s *SQL) RevokeUserSessions(ctx context.Context, user string, at time.Time) (int, error) {
	if user == "" {
		return 0, errs.Invalid("revoke sessions: no user named")
	}
	defer s.lockWrites()()
	n := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE auth_sessions SET revoked_at = ? WHERE user_ref = ? AND revoked_at IS NULL AND expires_at > ?`),
			authTime(at), user, authTime(at))
		if err != nil {
			return fmt.Errorf("revoke sessions of %s: %w", user, err)
		}
		m, err := res.RowsAffected()
		if err != nil {
			return err
		}
		n = int(m)
		// Every sign-in family of the user ends too, whatever its tokens'
		// issue times say: a refresh racing this transaction (PostgreSQL
		// reads committed rows only) makes its new session in a family
		// revoked here, and replicas' clocks do not matter to a family.
		rows, err := tx.QueryContext(ctx, s.q(`SELECT DISTINCT family FROM auth_sessions WHERE user_ref = ? AND expires_at > ?`), user, authTime(at))
		if err != nil {
			return fmt.Errorf("sign-ins of %s: %w", user, err)
		}
		var families []string
		for rows.Next() {
			var f string
			if err := rows.Scan(&f); err != nil {
				rows.Close()
				return err
			}
			families = append(families, f)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, f := range families {
			if err := revokeAccess(ctx, tx, s.q, Revocation{Kind: RevokeSession, ID: f, At: at, Expires: at.Add(RevocationKeep)}); err != nil {
				return err
			}
		}
		// The user's own provider tokens (requestUserCredentials) go: a
		// revoked user's GitHub token must not serve a later retry.
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM user_credentials WHERE user_ref = ?`), user); err != nil {
			return fmt.Errorf("drop the provider tokens of %s: %w", user, err)
		}
		return revokeAccess(ctx, tx, s.q, Revocation{Kind: RevokeUser, ID: user, At: at, Expires: at.Add(RevocationKeep)})
	})
	return n, err
}
