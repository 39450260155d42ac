package store

import (
	"context"
	"database/sql"
	"errors"
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
	// issued at a lower Generation (or, without one, at or before At).
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
	// Generation, of a RevokeUser row, is the user's token generation the
	// revocation raised (TokenGeneration): a token issued at a lower one
	// is revoked, whatever the clocks of the replicas that issued it and
	// revoked it say. 0: a row without one (At is compared).
	Generation int64
	// Clock, of a RevokeUser row, is the time of its latest revocation
	// that raised no generation (a row without one, or a revocation by
	// the release before generations during a rolling upgrade): a token
	// issued at or before it is revoked, whatever its generation.
	Clock time.Time
}

// Revocations keeps revoked access tokens for every replica.
type Revocations interface {
	// RevokeAccess stores r (a second revocation of the same kind and id
	// keeps the later one) and deletes rows expired before r.At.
	RevokeAccess(ctx context.Context, r Revocation) error
	// RevocationsSince lists rows revoked at or after since and not
	// expired at now, oldest first.
	RevocationsSince(ctx context.Context, since, now time.Time) ([]Revocation, error)
	// RevokeUserSessions revokes every session of user at at, raises
	// the user's token generation, stores a RevokeUser row for its access
	// tokens with the new generation, and says how many sessions were
	// still valid and that generation.
	RevokeUserSessions(ctx context.Context, user string, at time.Time) (int, int64, error)
	// TokenGeneration is user's token generation now (0 before any
	// revocation): an access token issued now carries it.
	TokenGeneration(ctx context.Context, user string) (int64, error)
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
	if r.Generation > 0 {
		// A higher generation replaces the row even when this replica's
		// clock is behind the one that wrote it; its time moves past the
		// old one, so that readers reading since the old one see it.
		var old sql.NullString
		err := tx.QueryRowContext(ctx, q(`SELECT revoked_at FROM auth_revocations WHERE kind = ? AND id = ?`), r.Kind, r.ID).Scan(&old)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read revocation %s %s: %w", r.Kind, r.ID, err)
		}
		if prev := parseAuthTime(old); !prev.IsZero() && !r.At.After(prev) {
			shift := prev.Add(time.Microsecond).Sub(r.At)
			r.At, r.Expires = r.At.Add(shift), r.Expires.Add(shift)
		}
	}
	_, err := tx.ExecContext(ctx, q(`INSERT INTO auth_revocations (kind, id, revoked_at, expires_at, generation) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (kind, id) DO UPDATE SET revoked_at = excluded.revoked_at, expires_at = excluded.expires_at, generation = excluded.generation
WHERE excluded.revoked_at > auth_revocations.revoked_at`), r.Kind, r.ID, authTime(r.At), authTime(r.Expires), r.Generation)
	if err != nil {
		return fmt.Errorf("store revocation %s %s: %w", r.Kind, r.ID, err)
	}
	return nil
}

// RevocationsSince implements Revocations.
func (s *SQL) RevocationsSince(ctx context.Context, since, now time.Time) ([]Revocation, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT kind, id, revoked_at, expires_at, generation, clock_at FROM auth_revocations WHERE revoked_at >= ? AND expires_at > ? ORDER BY revoked_at`),
		authTime(since), authTime(now))
	if err != nil {
		return nil, fmt.Errorf("read revocations: %w", err)
	}
	defer rows.Close()
	var out []Revocation
	for rows.Next() {
		var r Revocation
		var at, exp, clock sql.NullString
		if err := rows.Scan(&r.Kind, &r.ID, &at, &exp, &r.Generation, &clock); err != nil {
			return nil, fmt.Errorf("read revocations: %w", err)
		}
		r.At, r.Expires, r.Clock = parseAuthTime(at), parseAuthTime(exp), parseAuthTime(clock)
		if r.Generation == 0 {
			r.Clock = r.At
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// TokenGeneration implements Revocations.
func (s *SQL) TokenGeneration(ctx context.Context, user string) (int64, error) {
	var gen int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT generation FROM auth_user_generations WHERE user_ref = ?`), user).Scan(&gen)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("read the token generation of %s: %w", user, err)
	}
	return gen, nil
}

// RevokeUserSessions implements Revocations.
func (s *SQL) RevokeUserSessions(ctx context.Context, user string, at time.Time) (int, int64, error) {
	if user == "" {
		return 0, 0, errs.Invalid("revoke sessions: no user named")
	}
	defer s.lockWrites()()
	n, gen := 0, int64(0)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// A token issued before this commits carries the old generation
		// (a reader sees the committed row) and is revoked.
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO auth_user_generations (user_ref, generation) VALUES (?, 1)
ON CONFLICT (user_ref) DO UPDATE SET generation = auth_user_generations.generation + 1 RETURNING generation`), user).Scan(&gen)
		if err != nil {
			return fmt.Errorf("raise the token generation of %s: %w", user, err)
		}
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
		return revokeAccess(ctx, tx, s.q, Revocation{Kind: RevokeUser, ID: user, At: at, Expires: at.Add(RevocationKeep), Generation: gen})
	})
	return n, gen, err
}
