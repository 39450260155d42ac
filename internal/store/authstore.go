package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
)

// SigningKey is one ES256 key rigger signs its access tokens with.
type SigningKey struct {
	// KID names the key in tokens' headers; unique.
	KID string
	// SealedPrivate is the private key, sealed by the caller with the data
	// key. The store never sees it in the clear.
	SealedPrivate []byte
	// PublicJWK is the public key as a JSON Web Key.
	PublicJWK []byte
	Created   time.Time
	// NotAfter is when the key stops signing; Expires when it stops
	// verifying (after every token it signed expired).
	NotAfter, Expires time.Time
}

// Session is one refresh token of a signed-in user. Refreshing replaces
// it by a new one of the same Family; a revoked one presented again
// revokes the family.
type Session struct {
	ID, Family string
	// Hash is the hex SHA-256 of the refresh token; the token itself is
	// never stored.
	Hash     string
	UserRef  string
	Ent      []string
	Created  time.Time
	Expires  time.Time
	LastUsed time.Time
	// Revoked is zero while the session is valid.
	Revoked time.Time
	// Client is the OAuth client (an MCP client) whose grant this is; ""
	// for a browser's or the CLI's sign-in. Scopes are that grant's.
	Client string
	Scopes []string
}

// ServiceTokenRecord is a service token an admin created through the API.
type ServiceTokenRecord struct {
	ID, Name string
	// Hash is the hex SHA-256 of the token; the token itself is never
	// stored.
	Hash      string
	Scopes    []string
	Templates []string
	Actions   []string
	// Expires is zero for a token that does not expire.
	Expires   time.Time
	CreatedBy string
	Created   time.Time
	LastUsed  time.Time
	Revoked   time.Time
}

// AuthStore keeps rigger's signing keys, sessions and service tokens.
type AuthStore interface {
	// AddSigningKey stores k unless a key created after since exists
	// (another replica rotated first): checked and inserted under a lock,
	// so replicas rotating together add one key. It also deletes keys
	// whose Expires passed before k.Created, and reports whether k was
	// added.
	AddSigningKey(ctx context.Context, k SigningKey, since time.Time) (bool, error)
	// SigningKeys lists the keys still verifying at now, newest first.
	SigningKeys(ctx context.Context, now time.Time) ([]SigningKey, error)

	CreateSession(ctx context.Context, s Session) error
	// SessionByHash finds a session, revoked or not; errs.ErrNotFound if none.
	SessionByHash(ctx context.Context, hash string) (Session, error)
	// RotateSession revokes the session with oldHash at next.Created and
	// stores next, in one transaction. It fails with errs.ErrConflict when
	// the old one was already revoked (a reused refresh token).
	RotateSession(ctx context.Context, oldHash string, next Session) error
	// RevokeSessionFamily revokes every session of family not yet revoked
	// and the access tokens they issued (a RevokeSession revocation).
	RevokeSessionFamily(ctx context.Context, family string, at time.Time) error

	// CreateServiceToken stores t; errs.ErrConflict if its name is taken.
	CreateServiceToken(ctx context.Context, t ServiceTokenRecord) error
	// ServiceTokenByHash finds a token, revoked or not; errs.ErrNotFound if none.
	ServiceTokenByHash(ctx context.Context, hash string) (ServiceTokenRecord, error)
	// ServiceTokens lists every stored token, by name.
	ServiceTokens(ctx context.Context) ([]ServiceTokenRecord, error)
	// RevokeServiceToken revokes the token with this id or name and returns
	// it; errs.ErrNotFound if none.
	RevokeServiceToken(ctx context.Context, idOrName string, at time.Time) (ServiceTokenRecord, error)
	// TouchServiceToken records a use of the token at at.
	TouchServiceToken(ctx context.Context, id string, at time.Time) error

	Revocations
	UserCredentials
	OAuthStore
}

var _ AuthStore = (*SQL)(nil)

// authTime formats the time columns of the auth tables: fixed width, so
// text order is time order.
func authTime(t time.Time) string { return AuditTime(t) }

func nullAuthTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return authTime(t)
}

func parseAuthTime(v sql.NullString) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, v.String)
	return t
}

func jsonList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func parseList(s string) []string {
	var l []string
	_ = json.Unmarshal([]byte(s), &l)
	return l
}

// AddSigningKey implements AuthStore.
func (s *SQL) AddSigningKey(ctx context.Context, k SigningKey, since time.Time) (bool, error) {
	if k.KID == "" || len(k.SealedPrivate) == 0 || len(k.PublicJWK) == 0 {
		return false, errs.Invalid("a signing key needs a kid, a sealed private key and a public JWK")
	}
	defer s.lockWrites()()
	added := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if s.d.SigningKeyLock != "" {
			if _, err := tx.ExecContext(ctx, s.d.SigningKeyLock); err != nil {
				return fmt.Errorf("signing key lock: %w", err)
			}
		}
		// On SQLite this write also takes the database's write lock
		// before the check below.
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM signing_keys WHERE expires_at < ?`), authTime(k.Created)); err != nil {
			return fmt.Errorf("delete expired signing keys: %w", err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM signing_keys WHERE created_at > ?`), authTime(since)).Scan(&n); err != nil {
			return fmt.Errorf("read signing keys: %w", err)
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO signing_keys (kid, sealed_private, public_jwk, created_at, not_after, expires_at) VALUES (?, ?, ?, ?, ?, ?)`),
			k.KID, string(k.SealedPrivate), string(k.PublicJWK), authTime(k.Created), authTime(k.NotAfter), authTime(k.Expires)); err != nil {
			return fmt.Errorf("store signing key %s: %w", k.KID, err)
		}
		added = true
		return nil
	})
	return added, err
}

// SigningKeys implements AuthStore.
func (s *SQL) SigningKeys(ctx context.Context, now time.Time) ([]SigningKey, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT kid, sealed_private, public_jwk, created_at, not_after, expires_at FROM signing_keys WHERE expires_at > ? ORDER BY created_at DESC, kid`), authTime(now))
	if err != nil {
		return nil, fmt.Errorf("read signing keys: %w", err)
	}
	defer rows.Close()
	var out []SigningKey
	for rows.Next() {
		var k SigningKey
		var sealed, jwk string
		var created, notAfter, expires sql.NullString
		if err := rows.Scan(&k.KID, &sealed, &jwk, &created, &notAfter, &expires); err != nil {
			return nil, fmt.Errorf("read signing keys: %w", err)
		}
		k.SealedPrivate, k.PublicJWK = []byte(sealed), []byte(jwk)
		k.Created, k.NotAfter, k.Expires = parseAuthTime(created), parseAuthTime(notAfter), parseAuthTime(expires)
		out = append(out, k)
	}
	return out, rows.Err()
}

// CreateSession implements AuthStore.
func (s *SQL) CreateSession(ctx context.Context, ss Session) error {
	defer s.lockWrites()()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// Sessions that expired a day ago are of no use even to reuse
		// detection: drop them with each new one.
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM auth_sessions WHERE expires_at < ?`), authTime(ss.Created.Add(-24*time.Hour))); err != nil {
			return fmt.Errorf("delete expired sessions: %w", err)
		}
		return insertSession(ctx, tx, s.q, ss)
	})
}

func insertSession(ctx context.Context, tx *sql.Tx, q func(string) string, ss Session) error {
	if ss.ID == "" || ss.Family == "" || ss.Hash == "" || ss.UserRef == "" {
		return errs.Invalid("a session needs an id, a family, a token hash and a user")
	}
	_, err := tx.ExecContext(ctx, q(`INSERT INTO auth_sessions (id, family, token_hash, user_ref, ent, created_at, expires_at, last_used_at, revoked_at, client_id, grant_scopes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		ss.ID, ss.Family, ss.Hash, ss.UserRef, jsonList(ss.Ent), authTime(ss.Created), authTime(ss.Expires), nullAuthTime(ss.LastUsed), nullAuthTime(ss.Revoked), ss.Client, jsonList(ss.Scopes))
	if err != nil {
		return fmt.Errorf("store session %s: %w", ss.ID, err)
	}
	return nil
}

// SessionByHash implements AuthStore.
func (s *SQL) SessionByHash(ctx context.Context, hash string) (Session, error) {
	var ss Session
	var ent, scopes string
	var created, expires, used, revoked sql.NullString
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, family, token_hash, user_ref, ent, created_at, expires_at, last_used_at, revoked_at, client_id, grant_scopes FROM auth_sessions WHERE token_hash = ?`), hash).
		Scan(&ss.ID, &ss.Family, &ss.Hash, &ss.UserRef, &ent, &created, &expires, &used, &revoked, &ss.Client, &scopes)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, errs.NotFound("no session has this refresh token")
	}
	if err != nil {
		return Session{}, fmt.Errorf("read session: %w", err)
	}
	ss.Ent, ss.Scopes = parseList(ent), parseList(scopes)
	ss.Created, ss.Expires, ss.LastUsed, ss.Revoked = parseAuthTime(created), parseAuthTime(expires), parseAuthTime(used), parseAuthTime(revoked)
	return ss, nil
}

// RotateSession implements AuthStore.
func (s *SQL) RotateSession(ctx context.Context, oldHash string, next Session) error {
	defer s.lockWrites()()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// The conditional update makes two refreshes racing with one token
		// yield one winner: the loser sees it revoked.
		res, err := tx.ExecContext(ctx, s.q(`UPDATE auth_sessions SET revoked_at = ?, last_used_at = ? WHERE token_hash = ? AND revoked_at IS NULL`),
			authTime(next.Created), authTime(next.Created), oldHash)
		if err != nil {
			return fmt.Errorf("revoke refreshed session: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return errs.Conflict("the refresh token was already used or revoked")
		}
		return insertSession(ctx, tx, s.q, next)
	})
}

// RevokeSessionFamily implements AuthStore.
func (s *SQL) RevokeSessionFamily(ctx context.Context, family string, at time.Time) error {
	defer s.lockWrites()()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE auth_sessions SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL`), authTime(at), family); err != nil {
			return fmt.Errorf("revoke session family: %w", err)
		}
		// The access tokens the family issued end with it.
		return revokeAccess(ctx, tx, s.q, Revocation{Kind: RevokeSession, ID: family, At: at, Expires: at.Add(RevocationKeep)})
	})
}

const serviceTokenCols = `id, name, token_hash, scopes, templates, actions, expires_at, created_by, created_at, last_used_at, revoked_at`

func scanServiceToken(row interface{ Scan(...any) error }) (ServiceTokenRecord, error) {
	var t ServiceTokenRecord
	var scopes, templates, actions string
	var expires, created, used, revoked sql.NullString
	if err := row.Scan(&t.ID, &t.Name, &t.Hash, &scopes, &templates, &actions, &expires, &t.CreatedBy, &created, &used, &revoked); err != nil {
		return ServiceTokenRecord{}, err
	}
	t.Scopes, t.Templates, t.Actions = parseList(scopes), parseList(templates), parseList(actions)
	t.Expires, t.Created, t.LastUsed, t.Revoked = parseAuthTime(expires), parseAuthTime(created), parseAuthTime(used), parseAuthTime(revoked)
	return t, nil
}

// CreateServiceToken implements AuthStore.
func (s *SQL) CreateServiceToken(ctx context.Context, t ServiceTokenRecord) error {
	if t.ID == "" || t.Name == "" || t.Hash == "" {
		return errs.Invalid("a service token needs an id, a name and a token hash")
	}
	defer s.lockWrites()()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM service_tokens WHERE name = ?`), t.Name).Scan(&n); err != nil {
			return fmt.Errorf("read service tokens: %w", err)
		}
		if n > 0 {
			return errs.Conflict("a service token named %q exists (revoked tokens keep their name)", t.Name)
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO service_tokens (`+serviceTokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			t.ID, t.Name, t.Hash, jsonList(t.Scopes), jsonList(t.Templates), jsonList(t.Actions), nullAuthTime(t.Expires),
			t.CreatedBy, authTime(t.Created), nullAuthTime(t.LastUsed), nullAuthTime(t.Revoked))
		if err != nil {
			// Two creations racing past the check: the unique index decides.
			return fmt.Errorf("%w: store service token %q: %v", errs.ErrConflict, t.Name, err)
		}
		return nil
	})
}

// ServiceTokenByHash implements AuthStore.
func (s *SQL) ServiceTokenByHash(ctx context.Context, hash string) (ServiceTokenRecord, error) {
	t, err := scanServiceToken(s.db.QueryRowContext(ctx, s.q(`SELECT `+serviceTokenCols+` FROM service_tokens WHERE token_hash = ?`), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return ServiceTokenRecord{}, errs.NotFound("no service token has this value")
	}
	if err != nil {
		return ServiceTokenRecord{}, fmt.Errorf("read service token: %w", err)
	}
	return t, nil
}

// ServiceTokens implements AuthStore.
func (s *SQL) ServiceTokens(ctx context.Context) ([]ServiceTokenRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+serviceTokenCols+` FROM service_tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list service tokens: %w", err)
	}
	defer rows.Close()
	var out []ServiceTokenRecord
	for rows.Next() {
		t, err := scanServiceToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list service tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeServiceToken implements AuthStore.
func (s *SQL) RevokeServiceToken(ctx context.Context, idOrName string, at time.Time) (ServiceTokenRecord, error) {
	defer s.lockWrites()()
	var out ServiceTokenRecord
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		t, err := scanServiceToken(tx.QueryRowContext(ctx, s.q(`SELECT `+serviceTokenCols+` FROM service_tokens WHERE id = ? OR name = ?`), idOrName, idOrName))
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("no service token has the id or name %q", idOrName)
		}
		if err != nil {
			return fmt.Errorf("read service token: %w", err)
		}
		if t.Revoked.IsZero() {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE service_tokens SET revoked_at = ? WHERE id = ?`), authTime(at), t.ID); err != nil {
				return fmt.Errorf("revoke service token %s: %w", t.ID, err)
			}
			t.Revoked = at.UTC()
		}
		out = t
		return nil
	})
	return out, err
}

// TouchServiceToken implements AuthStore.
func (s *SQL) TouchServiceToken(ctx context.Context, id string, at time.Time) error {
	defer s.lockWrites()()
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE service_tokens SET last_used_at = ? WHERE id = ?`), authTime(at), id); err != nil {
		return fmt.Errorf("record use of service token %s: %w", id, err)
	}
	return nil
}
